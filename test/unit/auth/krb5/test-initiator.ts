/**
 * A test KDC + initiator: mints a service ticket (optionally with a PAC) under a service key
 * and builds the DCE-style AP-REQ a Samba or Windows client sends, then its closing AP-REP.
 */
import { randomBytes } from 'node:crypto';
import { EncType, enctype } from '../../../../src/auth/krb5/enctypes';
import { GssFlag, encodeGssChecksum } from '../../../../src/auth/krb5/gss-checksum';
import {
  AdType, ApOptions, decodeApRep, decodeEncApRepPart, encodeApRep, encodeApReq, encodeAuthenticator,
  encodeAuthorizationData, encodeEncApRepPart, encodeEncTicketPart, type EncApRepPart,
} from '../../../../src/auth/krb5/messages';
import { encodeInteger } from '../../../../src/auth/krb5/asn1';
import { KeyUsage } from '../../../../src/auth/krb5/rfc3961';
import { tlv, Tag } from '../../../../src/auth/der';

export interface MintOptions {
  readonly serviceKey: Buffer;
  readonly serviceEnctype?: number;
  readonly kvno?: number;
  readonly sname?: string[];
  readonly realm?: string;
  readonly cname?: string;
  readonly now: number;
  readonly ctime?: number;
  readonly cusec?: number;
  readonly endtime?: number;
  readonly flags?: number;
  readonly pac?: Buffer;
  readonly subkeyEtypes?: number[];
  readonly seq?: number;
}

export const SEAL_FLAGS = GssFlag.DCE_STYLE | 0x100 | GssFlag.INTEG | GssFlag.CONF | GssFlag.SEQUENCE | GssFlag.REPLAY | GssFlag.MUTUAL;

export function mintApReq(o: MintOptions) {
  const et = o.serviceEnctype ?? EncType.AES256_CTS_HMAC_SHA1_96;
  const realm = o.realm ?? 'EXAMPLE.TEST';
  const cname = { nameType: 1, nameString: [o.cname ?? 'alice'] };
  const sessionKey = { keytype: et, keyvalue: randomBytes(enctype(et).keyLength) };
  const ad = o.pac ? [{ adType: AdType.IF_RELEVANT, adData: encodeAuthorizationData([{ adType: AdType.WIN2K_PAC, adData: o.pac }]) }] : [];
  const encTicket = encodeEncTicketPart({
    flags: 0x40e10000, key: sessionKey, crealm: realm, cname, authtime: o.now - 60000, endtime: o.endtime ?? o.now + 36000000,
    authorizationData: ad,
  });
  const ticket = {
    realm, sname: { nameType: 3, nameString: o.sname ?? ['host', 'sofs.example.test'] },
    encPart: { etype: et, kvno: o.kvno ?? 2, cipher: enctype(et).encrypt(o.serviceKey, KeyUsage.TICKET, encTicket) },
  };
  const ctime = o.ctime ?? o.now;
  const cusec = o.cusec ?? 123456;
  const seq = o.seq ?? 1000;
  const etypes = o.subkeyEtypes ?? [18, 17, 23];
  const etypeList = tlv(Tag.SEQUENCE, ...etypes.map(encodeInteger));
  const authenticator = encodeAuthenticator({
    crealm: realm, cname, cksum: { cksumtype: 0x8003, checksum: encodeGssChecksum(o.flags ?? SEAL_FLAGS) }, cusec, ctime,
    subkey: { keytype: et, keyvalue: randomBytes(enctype(et).keyLength) }, seqNumber: seq,
    authorizationData: [{ adType: AdType.IF_RELEVANT, adData: encodeAuthorizationData([{ adType: AdType.GSS_API_ETYPE_NEGOTIATION, adData: etypeList }]) }],
  });
  const apReq = encodeApReq({
    apOptions: ApOptions.MUTUAL_REQUIRED, ticket,
    authenticator: { etype: et, cipher: enctype(et).encrypt(sessionKey.keyvalue, KeyUsage.AP_REQ_AUTHENTICATOR, authenticator) },
  });
  return {
    apReq, sessionKey, ctime, cusec, seq,
    /** Read the acceptor's AP-REP and build the initiator's closing AP-REP (echoing the acceptor's seq). */
    finish(apRep: Buffer, seqDelta = 0): { reply: EncApRepPart; apRep: Buffer } {
      const enc = decodeApRep(apRep);
      const reply = decodeEncApRepPart(enctype(enc.etype).decrypt(sessionKey.keyvalue, KeyUsage.AP_REP_ENCPART, enc.cipher));
      const part = encodeEncApRepPart({ ctime: reply.ctime, cusec: reply.cusec, seqNumber: reply.seqNumber! + seqDelta });
      return { reply, apRep: encodeApRep({ etype: et, cipher: enctype(et).encrypt(sessionKey.keyvalue, KeyUsage.AP_REP_ENCPART, part) }) };
    },
  };
}
