/**
 * Kerberos messages the acceptor reads and writes (RFC 4120 §5.3, 5.5.1, 5.5.2): AP-REQ,
 * Ticket, EncTicketPart, Authenticator, AP-REP, EncAPRepPart, with their parts
 * (PrincipalName, EncryptedData, EncryptionKey, Checksum, AuthorizationData). Decoders
 * throw DerError; encoders exist for what the acceptor sends and for test initiators.
 */
import { DerError, Tag, children, expectTlv, tlv, type Tlv } from '../der';
import {
  type Fields, decodeFlags, decodeInteger, decodeKerberosString, decodeOctets, decodeTime, decodeUInt32,
  encodeFlags, encodeInteger, encodeKerberosString, encodeOctets, encodeSequence, encodeTime, openSequence,
} from './asn1';

export const PVNO = 5;
export const MsgType = { AP_REQ: 14, AP_REP: 15, KRB_ERROR: 30 } as const;
/** [APPLICATION n] numbers (RFC 4120 §5.10). */
export const App = { Ticket: 1, Authenticator: 2, EncTicketPart: 3, AP_REQ: 14, AP_REP: 15, EncAPRepPart: 27 } as const;
/** AP-REQ ap-options bits (RFC 4120 §5.5.1), as the 32-bit value with bit 0 most significant. */
export const ApOptions = { USE_SESSION_KEY: 0x40000000, MUTUAL_REQUIRED: 0x20000000 } as const;
/** AuthorizationData types (RFC 4120 §7.5.4, MS-PAC, RFC 4537). */
export const AdType = { IF_RELEVANT: 1, WIN2K_PAC: 128, GSS_API_ETYPE_NEGOTIATION: 129 } as const;

/** How deep AD-IF-RELEVANT containers may nest before the input counts as hostile. */
const MAX_AD_DEPTH = 4;

export interface PrincipalName {
  readonly nameType: number;
  readonly nameString: readonly string[];
}
export interface EncryptedData {
  readonly etype: number;
  readonly kvno?: number;
  readonly cipher: Buffer;
}
export interface EncryptionKey {
  readonly keytype: number;
  readonly keyvalue: Buffer;
}
export interface Checksum {
  readonly cksumtype: number;
  readonly checksum: Buffer;
}
export interface AuthorizationDataEntry {
  readonly adType: number;
  readonly adData: Buffer;
}
export interface Ticket {
  readonly realm: string;
  readonly sname: PrincipalName;
  readonly encPart: EncryptedData;
}
export interface ApReq {
  readonly apOptions: number;
  readonly ticket: Ticket;
  readonly authenticator: EncryptedData;
}
export interface EncTicketPart {
  readonly flags: number;
  readonly key: EncryptionKey;
  readonly crealm: string;
  readonly cname: PrincipalName;
  readonly authtime: number;
  readonly starttime?: number;
  readonly endtime: number;
  readonly authorizationData: readonly AuthorizationDataEntry[];
}
export interface Authenticator {
  readonly crealm: string;
  readonly cname: PrincipalName;
  readonly cksum?: Checksum;
  readonly cusec: number;
  readonly ctime: number;
  readonly subkey?: EncryptionKey;
  readonly seqNumber?: number;
  readonly authorizationData: readonly AuthorizationDataEntry[];
}
export interface EncApRepPart {
  readonly ctime: number;
  readonly cusec: number;
  readonly subkey?: EncryptionKey;
  readonly seqNumber?: number;
}

// ------------------------------------------------------------------------ decoding

function whole(buf: Buffer, app: number, what: string): Fields {
  return openSequence(buf, 0, buf.length, app, what);
}

function sub(f: Fields, n: number, what: string): Fields {
  const t = f.required(n);
  return openSequence(f.buf, t.start, t.end, undefined, what);
}

function int(f: Fields, n: number, what: string): number {
  return decodeInteger(f.buf, f.required(n), what);
}

function expectValue(f: Fields, n: number, want: number, what: string): void {
  const v = int(f, n, what);
  if (v !== want) throw new DerError(`${what} is ${v}, expected ${want}`);
}

export function decodePrincipalName(f: Fields, n: number, what: string): PrincipalName {
  const p = sub(f, n, what);
  const list = expectTlv(p.buf, p.required(1).start, Tag.SEQUENCE, p.required(1).end);
  const nameString = children(p.buf, list, 8).map((t) => decodeKerberosString(p.buf, t, `${what} component`));
  if (nameString.length === 0) throw new DerError(`${what} has no components`);
  return { nameType: decodeInteger(p.buf, p.required(0), `${what} name-type`), nameString };
}

function decodeEncryptedData(f: Fields, n: number, what: string): EncryptedData {
  const e = sub(f, n, what);
  const kvno = e.optional(1);
  return {
    etype: decodeInteger(e.buf, e.required(0), `${what} etype`),
    kvno: kvno ? decodeUInt32(e.buf, kvno, `${what} kvno`) : undefined,
    cipher: decodeOctets(e.buf, e.required(2), `${what} cipher`),
  };
}

function decodeKey(f: Fields, n: number, what: string): EncryptionKey {
  const k = sub(f, n, what);
  return { keytype: decodeInteger(k.buf, k.required(0), `${what} keytype`), keyvalue: decodeOctets(k.buf, k.required(1), `${what} keyvalue`) };
}

function decodeChecksum(f: Fields, n: number, what: string): Checksum {
  const c = sub(f, n, what);
  return { cksumtype: decodeInteger(c.buf, c.required(0), `${what} cksumtype`), checksum: decodeOctets(c.buf, c.required(1), `${what} checksum`) };
}

/** AuthorizationData (a SEQUENCE OF {ad-type, ad-data}) from DER bytes. */
export function decodeAuthorizationData(buf: Buffer, t: Tlv = expectTlv(buf, 0, Tag.SEQUENCE)): AuthorizationDataEntry[] {
  if (t.tag !== Tag.SEQUENCE) throw new DerError('AuthorizationData: expected SEQUENCE');
  return children(buf, t, 32).map((e) => {
    const f = openSequence(buf, e.start, e.end, undefined, 'AuthorizationData entry');
    return { adType: decodeInteger(buf, f.required(0), 'ad-type'), adData: decodeOctets(buf, f.required(1), 'ad-data') };
  });
}

/** Look through AD-IF-RELEVANT containers (bounded depth) for the entries of `adType`. */
export function findAuthorizationData(ad: readonly AuthorizationDataEntry[], adType: number, depth = 0): Buffer[] {
  if (depth > MAX_AD_DEPTH) throw new DerError('AuthorizationData nested too deep');
  const out: Buffer[] = [];
  for (const e of ad) {
    if (e.adType === adType) out.push(e.adData);
    else if (e.adType === AdType.IF_RELEVANT) out.push(...findAuthorizationData(decodeAuthorizationData(e.adData), adType, depth + 1));
  }
  return out;
}

/** RFC 4537 EtypeList (the ad-data of AD-GSS-API-ETYPE-NEGOTIATION): SEQUENCE OF Int32. */
export function decodeEtypeList(b: Buffer): number[] {
  const seq = expectTlv(b, 0, Tag.SEQUENCE);
  return children(b, seq, 32).map((t) => decodeInteger(b, t, 'etype'));
}

function optionalAd(f: Fields, n: number): AuthorizationDataEntry[] {
  const t = f.optional(n);
  return t ? decodeAuthorizationData(f.buf, t) : [];
}

function decodeTicketFields(f: Fields): Ticket {
  expectValue(f, 0, PVNO, 'Ticket tkt-vno');
  return {
    realm: decodeKerberosString(f.buf, f.required(1), 'Ticket realm'),
    sname: decodePrincipalName(f, 2, 'Ticket sname'),
    encPart: decodeEncryptedData(f, 3, 'Ticket enc-part'),
  };
}

export function decodeApReq(buf: Buffer): ApReq {
  const f = whole(buf, App.AP_REQ, 'AP-REQ');
  expectValue(f, 0, PVNO, 'AP-REQ pvno');
  expectValue(f, 1, MsgType.AP_REQ, 'AP-REQ msg-type');
  const tk = f.required(3);
  return {
    apOptions: decodeFlags(buf, f.required(2), 'ap-options'),
    ticket: decodeTicketFields(openSequence(buf, tk.start, tk.end, App.Ticket, 'Ticket')),
    authenticator: decodeEncryptedData(f, 4, 'AP-REQ authenticator'),
  };
}

export function decodeEncTicketPart(buf: Buffer): EncTicketPart {
  const f = whole(buf, App.EncTicketPart, 'EncTicketPart');
  const start = f.optional(6);
  return {
    flags: decodeFlags(buf, f.required(0), 'ticket flags'),
    key: decodeKey(f, 1, 'ticket session key'),
    crealm: decodeKerberosString(buf, f.required(2), 'crealm'),
    cname: decodePrincipalName(f, 3, 'cname'),
    authtime: decodeTime(buf, f.required(5), 'authtime'),
    starttime: start ? decodeTime(buf, start, 'starttime') : undefined,
    endtime: decodeTime(buf, f.required(7), 'endtime'),
    authorizationData: optionalAd(f, 10),
  };
}

export function decodeAuthenticator(buf: Buffer): Authenticator {
  const f = whole(buf, App.Authenticator, 'Authenticator');
  expectValue(f, 0, PVNO, 'authenticator-vno');
  const seq = f.optional(7);
  const cusec = int(f, 4, 'cusec');
  if (cusec < 0 || cusec > 999999) throw new DerError(`cusec ${cusec} out of range`);
  return {
    crealm: decodeKerberosString(buf, f.required(1), 'Authenticator crealm'),
    cname: decodePrincipalName(f, 2, 'Authenticator cname'),
    cksum: f.has(3) ? decodeChecksum(f, 3, 'Authenticator cksum') : undefined,
    cusec,
    ctime: decodeTime(buf, f.required(5), 'ctime'),
    subkey: f.has(6) ? decodeKey(f, 6, 'Authenticator subkey') : undefined,
    seqNumber: seq ? decodeUInt32(buf, seq, 'seq-number') : undefined,
    authorizationData: optionalAd(f, 8),
  };
}

export function decodeApRep(buf: Buffer): EncryptedData {
  const f = whole(buf, App.AP_REP, 'AP-REP');
  expectValue(f, 0, PVNO, 'AP-REP pvno');
  expectValue(f, 1, MsgType.AP_REP, 'AP-REP msg-type');
  return decodeEncryptedData(f, 2, 'AP-REP enc-part');
}

export function decodeEncApRepPart(buf: Buffer): EncApRepPart {
  const f = whole(buf, App.EncAPRepPart, 'EncAPRepPart');
  const seq = f.optional(3);
  return {
    ctime: decodeTime(buf, f.required(0), 'EncAPRepPart ctime'),
    cusec: int(f, 1, 'EncAPRepPart cusec'),
    subkey: f.has(2) ? decodeKey(f, 2, 'EncAPRepPart subkey') : undefined,
    seqNumber: seq ? decodeUInt32(buf, seq, 'EncAPRepPart seq-number') : undefined,
  };
}

// ------------------------------------------------------------------------ encoding

export function encodePrincipalName(p: PrincipalName): Buffer {
  return encodeSequence([encodeInteger(p.nameType), seqOf(p.nameString.map(encodeKerberosString))]);
}

function seqOf(items: Buffer[]): Buffer {
  return tlv(Tag.SEQUENCE, ...items);
}

export function encodeEncryptedData(e: EncryptedData): Buffer {
  return encodeSequence([encodeInteger(e.etype), e.kvno === undefined ? undefined : encodeInteger(e.kvno), encodeOctets(e.cipher)]);
}

export function encodeKey(k: EncryptionKey): Buffer {
  return encodeSequence([encodeInteger(k.keytype), encodeOctets(k.keyvalue)]);
}

export function encodeAuthorizationData(ad: readonly AuthorizationDataEntry[]): Buffer {
  return seqOf(ad.map((e) => encodeSequence([encodeInteger(e.adType), encodeOctets(e.adData)])));
}

export function encodeTicket(t: Ticket): Buffer {
  return encodeSequence([
    encodeInteger(PVNO), encodeKerberosString(t.realm), encodePrincipalName(t.sname), encodeEncryptedData(t.encPart),
  ], App.Ticket);
}

export function encodeApReq(r: ApReq): Buffer {
  return encodeSequence([
    encodeInteger(PVNO), encodeInteger(MsgType.AP_REQ), encodeFlags(r.apOptions), encodeTicket(r.ticket),
    encodeEncryptedData(r.authenticator),
  ], App.AP_REQ);
}

export function encodeEncTicketPart(t: EncTicketPart): Buffer {
  const transited = encodeSequence([encodeInteger(1), encodeOctets(Buffer.alloc(0))]);
  return encodeSequence([
    encodeFlags(t.flags), encodeKey(t.key), encodeKerberosString(t.crealm), encodePrincipalName(t.cname), transited,
    encodeTime(t.authtime), t.starttime === undefined ? undefined : encodeTime(t.starttime), encodeTime(t.endtime),
    undefined, undefined, t.authorizationData.length ? encodeAuthorizationData(t.authorizationData) : undefined,
  ], App.EncTicketPart);
}

export function encodeAuthenticator(a: Authenticator): Buffer {
  return encodeSequence([
    encodeInteger(PVNO), encodeKerberosString(a.crealm), encodePrincipalName(a.cname),
    a.cksum ? encodeSequence([encodeInteger(a.cksum.cksumtype), encodeOctets(a.cksum.checksum)]) : undefined,
    encodeInteger(a.cusec), encodeTime(a.ctime), a.subkey ? encodeKey(a.subkey) : undefined,
    a.seqNumber === undefined ? undefined : encodeInteger(a.seqNumber),
    a.authorizationData.length ? encodeAuthorizationData(a.authorizationData) : undefined,
  ], App.Authenticator);
}

export function encodeApRep(encPart: EncryptedData): Buffer {
  return encodeSequence([encodeInteger(PVNO), encodeInteger(MsgType.AP_REP), encodeEncryptedData(encPart)], App.AP_REP);
}

export function encodeEncApRepPart(p: EncApRepPart): Buffer {
  return encodeSequence([
    encodeTime(p.ctime), encodeInteger(p.cusec), p.subkey ? encodeKey(p.subkey) : undefined,
    p.seqNumber === undefined ? undefined : encodeInteger(p.seqNumber),
  ], App.EncAPRepPart);
}
