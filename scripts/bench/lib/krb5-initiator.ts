/**
 * The client half of a DCE-style Kerberos exchange (MS-KILE 3.4.5.1, RFC 4121), just enough
 * for the benchmarks to bind with auth type 16 and sign requests the way rpcclient does
 * (KERBEROS.md §2, §3): a service ticket from an MIT credential cache (what kinit/kvno
 * wrote), a fresh authenticator per connection (0x8003 checksum, flags 0x112e = DCE style +
 * integrity + sequence + replay + mutual, an initiator subkey, seq N), the acceptor's AP-REP
 * opened for its subkey and seq M, the client's AP-REP for the third leg, and RFC 4121 MIC
 * tokens (usage 25, acceptor subkey) over the PDU up to the end of the sec_trailer, or Wrap
 * tokens for privacy. Each authenticator takes its (ctime, cusec) from one process-wide
 * microsecond clock that never repeats, as a real client's clock does: a random cusec per
 * context collided in the acceptor's replay cache at a few hundred binds a second.
 *
 * `mintCredential` makes a service ticket with a keytab key instead of asking a KDC (the
 * fan-out benchmark's 10,000 Kerberos clients; no DC runs there).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Tag, tlv } from '../../../src/auth/der';
import { encodeFlags, encodeInteger } from '../../../src/auth/krb5/asn1';
import { CfxContext, MIC_TOKEN_LENGTH, WRAP_TOKEN_LENGTH } from '../../../src/auth/krb5/cfx';
import { enctype, type Enctype } from '../../../src/auth/krb5/enctypes';
import { GssFlag, encodeGssChecksum } from '../../../src/auth/krb5/gss-checksum';
import { KeyUsage } from '../../../src/auth/krb5/rfc3961';
import {
  ApOptions, App, MsgType, PVNO, decodeApRep, decodeEncApRepPart, encodeApRep, encodeAuthenticator, encodeEncApRepPart,
  encodeEncTicketPart, encodeEncryptedData, encodeTicket,
} from '../../../src/auth/krb5/messages';

/**
 * GSS checksum flags rpcclient sends for [sign] (0x112e: DCE_STYLE, 0x100, INTEG, SEQUENCE,
 * REPLAY, MUTUAL); [seal] adds CONF.
 */
const GSS_FLAGS_SIGN = GssFlag.DCE_STYLE | 0x100 | GssFlag.INTEG | GssFlag.SEQUENCE | GssFlag.REPLAY | GssFlag.MUTUAL;

export interface Credential {
  readonly clientRealm: string;
  readonly clientName: readonly string[];
  readonly server: string;
  readonly keytype: number;
  readonly key: Buffer;
  /** The Ticket, DER, as the KDC issued it. */
  readonly ticket: Buffer;
}

/** Service tickets in an MIT credential cache (file format version 4, big-endian). */
export function readCcache(file: string): Credential[] {
  const b = readFileSync(file);
  let p = 0;
  const u16 = () => { const v = b.readUInt16BE(p); p += 2; return v; };
  const u32 = () => { const v = b.readUInt32BE(p); p += 4; return v; };
  const octets = () => { const n = u32(); const v = b.subarray(p, p + n); p += n; return v; };
  const principal = () => {
    u32(); // name type
    const n = u32();
    const realm = octets().toString();
    const comps: string[] = [];
    for (let i = 0; i < n; i++) comps.push(octets().toString());
    return { realm, comps };
  };
  if (u16() !== 0x0504) throw new Error(`${file}: not an MIT ccache version 4`);
  const headerLength = u16();
  p += headerLength; // header tags (p += u16() would lose the 2 bytes u16 advanced)
  principal(); // default principal
  const out: Credential[] = [];
  while (p < b.length) {
    const client = principal();
    const server = principal();
    const keytype = u16();
    const key = Buffer.from(octets());
    p += 16 + 1 + 4; // times, is_skey, ticket flags
    for (let n = u32(); n > 0; n--) { u16(); octets(); } // addresses
    for (let n = u32(); n > 0; n--) { u16(); octets(); } // authdata
    const ticket = Buffer.from(octets());
    octets(); // second ticket
    if (server.realm === 'X-CACHECONF:') continue;
    out.push({ clientRealm: client.realm, clientName: client.comps, server: `${server.comps.join('/')}@${server.realm}`, keytype, key, ticket });
  }
  return out;
}

/** The credential for `spn` (service/host, realm optional) in `file`. */
export function serviceCredential(file: string, spn: string): Credential {
  const want = spn.includes('@') ? spn.toLowerCase() : undefined;
  const c = readCcache(file).find((x) => (want ? x.server.toLowerCase() === want : x.server.toLowerCase().startsWith(`${spn.toLowerCase()}@`)));
  if (!c) throw new Error(`no ticket for ${spn} in ${file} (run kvno ${spn} first)`);
  return c;
}

let lastMicros = 0;

/** A (ctime, cusec) no other authenticator of this process has: wall-clock microseconds, strictly increasing. */
export function authenticatorTime(): { ctime: number; cusec: number } {
  const now = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  lastMicros = Math.max(now, lastMicros + 1);
  return { ctime: Math.floor(lastMicros / 1e6) * 1000, cusec: lastMicros % 1e6 };
}

/** A service ticket for `client` made with the service's keytab key (what the KDC would issue), valid 10 hours. */
export function mintCredential(o: {
  readonly serviceKey: Buffer; readonly enctype: number; readonly kvno: number; readonly sname: readonly string[];
  readonly realm: string; readonly client: string;
}): Credential {
  const et = enctype(o.enctype);
  const key = randomBytes(et.keyLength);
  const now = Date.now();
  const cname = { nameType: 1, nameString: [o.client] };
  const encPart = encodeEncTicketPart({
    flags: 0x40e10000, key: { keytype: o.enctype, keyvalue: key }, crealm: o.realm, cname, authtime: now - 60_000, endtime: now + 36_000_000,
    authorizationData: [],
  });
  const ticket = encodeTicket({
    realm: o.realm, sname: { nameType: 2, nameString: [...o.sname] },
    encPart: { etype: o.enctype, kvno: o.kvno, cipher: et.encrypt(o.serviceKey, KeyUsage.TICKET, encPart) },
  });
  return { clientRealm: o.realm, clientName: [o.client], server: `${o.sname.join('/')}@${o.realm}`, keytype: o.enctype, key, ticket };
}

/** One security context, initiator side: apReq() → (server AP-REP) → apRep() → mic() per request. */
export class KrbInitiatorContext {
  private readonly et: Enctype;
  private readonly ctime: number;
  private readonly cusec: number;
  private readonly seq = randomInt(0x7fffffff);
  /** The established context's RFC 4121 tokens (the acceptor's subkey keys both directions). */
  private cfx: CfxContext | undefined;

  constructor(private readonly cred: Credential, private readonly o: { confidentiality?: boolean } = {}) {
    this.et = enctype(cred.keytype);
    ({ ctime: this.ctime, cusec: this.cusec } = authenticatorTime());
  }

  /** The raw (DCE style, no GSS framing) AP-REQ for the bind. */
  apReq(): Buffer {
    const cksum = encodeGssChecksum(GSS_FLAGS_SIGN | (this.o.confidentiality ? GssFlag.CONF : 0));
    const authenticator = encodeAuthenticator({
      crealm: this.cred.clientRealm,
      cname: { nameType: 1, nameString: this.cred.clientName },
      cksum: { cksumtype: 0x8003, checksum: cksum },
      cusec: this.cusec,
      ctime: this.ctime,
      subkey: { keytype: this.cred.keytype, keyvalue: randomBytes(this.et.keyLength) },
      seqNumber: this.seq,
      authorizationData: [],
    });
    const enc = encodeEncryptedData({ etype: this.cred.keytype, cipher: this.et.encrypt(this.cred.key, KeyUsage.AP_REQ_AUTHENTICATOR, authenticator) });
    const ctx = (n: number, v: Buffer) => tlv(Tag.context(n), v);
    const seq = tlv(Tag.SEQUENCE, ctx(0, encodeInteger(PVNO)), ctx(1, encodeInteger(MsgType.AP_REQ)), ctx(2, encodeFlags(ApOptions.MUTUAL_REQUIRED)), ctx(3, this.cred.ticket), ctx(4, enc));
    return tlv(0x60 | App.AP_REQ, seq);
  }

  /** Open the acceptor's AP-REP (bind_ack) and answer with ours (auth3): ctime/cusec echoed, seq = the acceptor's. */
  apRep(serverApRep: Buffer): Buffer {
    const part = decodeEncApRepPart(this.et.decrypt(this.cred.key, KeyUsage.AP_REP_ENCPART, decodeApRep(serverApRep).cipher));
    if (part.ctime !== this.ctime || part.cusec !== this.cusec) throw new Error('AP-REP does not echo our authenticator');
    if (!part.subkey) throw new Error('AP-REP without an acceptor subkey');
    const acceptorSeq = part.seqNumber ?? 0;
    this.cfx = new CfxContext({
      key: part.subkey.keyvalue, enctype: part.subkey.keytype, initiatorSeq: this.seq, acceptorSeq, headerSigning: true, role: 'initiator',
    });
    const mine = encodeEncApRepPart({ ctime: this.ctime, cusec: this.cusec, seqNumber: acceptorSeq });
    return encodeApRep({ etype: this.cred.keytype, cipher: this.et.encrypt(this.cred.key, KeyUsage.AP_REP_ENCPART, mine) });
  }

  /** RFC 4121 MIC token (28 bytes with AES) over `pdu` (the PDU up to the end of its sec_trailer: header signing). */
  mic(pdu: Buffer): Buffer {
    if (!this.cfx) throw new Error('context not established');
    return this.cfx.getMic(pdu);
  }

  /** Bytes a MIC token takes (for auth_length before signing). */
  get micLength(): number {
    return MIC_TOKEN_LENGTH;
  }

  /** Bytes a Wrap token takes. */
  get wrapLength(): number {
    return WRAP_TOKEN_LENGTH;
  }

  /** The established context's RFC 4121 tokens (seal requests, unseal and verify responses). */
  get protection(): CfxContext {
    if (!this.cfx) throw new Error('context not established');
    return this.cfx;
  }
}
