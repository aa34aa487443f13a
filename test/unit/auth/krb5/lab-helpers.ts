/**
 * The lab captures (test/fixtures/krb5/dcerpc-vectors.json, copied from KERBEROS.md's Samba AD
 * DC run): PDUs, keys and the pieces a test needs to replay a flow against our acceptor.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vectors from '../../../fixtures/krb5/dcerpc-vectors.json';
import { ctsDecrypt } from '../../../../src/auth/krb5/aes-cts';
import { EncType, aesDerive, enctype } from '../../../../src/auth/krb5/enctypes';
import { decodeApRep, decodeApReq, decodeAuthenticator, decodeEncApRepPart, decodeEncTicketPart } from '../../../../src/auth/krb5/messages';
import { DeriveKind, KeyUsage } from '../../../../src/auth/krb5/rfc3961';
import { parseKeytab } from '../../../../src/auth/krb5/keytab';
import { parseNegotiationToken } from '../../../../src/auth/spnego-token';

export interface Flow {
  readonly name: string;
  readonly authType: number;
  readonly level: number;
  readonly sessionKey: Buffer;
  readonly acceptorSubkey: Buffer;
  readonly initiatorSeq: number;
  readonly pdus: { frame: number; dir: string; ptype: number; pdu: Buffer }[];
}

export const keytabBytes = Buffer.from(vectors.keytab_dc1_base64, 'base64');
export const serviceKey = parseKeytab(keytabBytes).find((e) => e.enctype === EncType.AES256_CTS_HMAC_SHA1_96)!.key;

export function flows(): Flow[] {
  return Object.entries(vectors.flows).map(([name, f]) => {
    const pdus = f.pdus.map((p) => ({ frame: p.frame, dir: p.dir, ptype: p.ptype, pdu: Buffer.from(p.hex, 'hex') }));
    const t = secTrailer(pdus[0].pdu);
    return {
      name, authType: t.authType, level: t.authLevel,
      sessionKey: Buffer.from(f.ticket_session_key, 'hex'), acceptorSubkey: Buffer.from(f.acceptor_subkey, 'hex'),
      initiatorSeq: f.initiator_seq, pdus,
    };
  });
}

export function secTrailer(pdu: Buffer) {
  const fragLength = pdu.readUInt16LE(8);
  const authLength = pdu.readUInt16LE(10);
  const at = fragLength - authLength - 8;
  return { at, authType: pdu[at], authLevel: pdu[at + 1], padLength: pdu[at + 2], authValue: pdu.subarray(at + 8, fragLength) };
}

/** The krb5 token inside an auth value (auth type 9 wraps it in SPNEGO). */
export function mechToken(authValue: Buffer): Buffer {
  if (authValue[0] === 0x6e || authValue[0] === 0x6f) return authValue;
  const t = parseNegotiationToken(authValue);
  const m = t.kind === 'init' ? t.mechToken : t.responseToken;
  if (!m) throw new Error('no mech token');
  return m;
}

/** What the captured exchange says: the authenticator's time and the acceptor's AP-REP contents. */
export function captured(f: Flow) {
  const req = decodeApReq(mechToken(secTrailer(f.pdus[0].pdu).authValue));
  const ticket = decodeEncTicketPart(enctype(18).decrypt(serviceKey, KeyUsage.TICKET, req.ticket.encPart.cipher));
  const auth = decodeAuthenticator(enctype(18).decrypt(ticket.key.keyvalue, KeyUsage.AP_REQ_AUTHENTICATOR, req.authenticator.cipher));
  const apRep = mechToken(secTrailer(f.pdus[1].pdu).authValue);
  const enc = decodeApRep(apRep);
  const part = decodeEncApRepPart(enctype(18).decrypt(ticket.key.keyvalue, KeyUsage.AP_REP_ENCPART, enc.cipher));
  // The AP-REP's confounder: the first block of the decrypted plaintext (simplified profile).
  const confounder = decryptConfounder(ticket.key.keyvalue, enc.cipher);
  return { ctime: auth.ctime, apRep, acceptorSeq: part.seqNumber!, subkey: part.subkey!.keyvalue, confounder };
}


function decryptConfounder(key: Buffer, cipher: Buffer): Buffer {
  const ke = aesDerive(key, KeyUsage.AP_REP_ENCPART, DeriveKind.encryption);
  return ctsDecrypt(ke, cipher.subarray(0, cipher.length - 12)).subarray(0, 16);
}

/** The confounder of a captured acceptor Wrap verifier (usage 22), so a test can reproduce it. */
export function wrapConfounder(subkey: Buffer, pdu: Buffer): Buffer {
  const st = secTrailer(pdu);
  const b = st.authValue.subarray(16);
  const ke = aesDerive(subkey, KeyUsage.ACCEPTOR_SEAL, DeriveKind.encryption);
  return ctsDecrypt(ke, Buffer.concat([b.subarray(44), pdu.subarray(24, st.at), b.subarray(0, 32)])).subarray(0, 16);
}

export function writeKeytab(bytes: Buffer = keytabBytes): string {
  const dir = mkdtempSync(join(tmpdir(), 'witnessd-krb5-'));
  const path = join(dir, 'test.keytab');
  writeFileSync(path, bytes);
  return path;
}

/** A random-bytes hook that hands out prepared values in order, then refuses. */
export function scripted(values: Buffer[]): (n: number) => Buffer {
  const queue = [...values];
  return (n) => {
    const v = queue.shift();
    if (!v || v.length !== n) throw new Error(`scripted randomBytes: asked for ${n} bytes, have ${v?.length ?? 'nothing'}`);
    return Buffer.from(v);
  };
}
