/**
 * NTLMSSP wire messages (MS-NLMP 2.2): NEGOTIATE, CHALLENGE, AUTHENTICATE, AV pairs.
 * Every field read is bounds-checked; a malformed token is a TokenError, never a crash.
 */

export const NegotiateFlags = {
  UNICODE: 0x00000001,
  OEM: 0x00000002,
  REQUEST_TARGET: 0x00000004,
  SIGN: 0x00000010,
  SEAL: 0x00000020,
  DATAGRAM: 0x00000040,
  LM_KEY: 0x00000080,
  NTLM: 0x00000200,
  ANONYMOUS: 0x00000800,
  OEM_DOMAIN_SUPPLIED: 0x00001000,
  OEM_WORKSTATION_SUPPLIED: 0x00002000,
  ALWAYS_SIGN: 0x00008000,
  TARGET_TYPE_DOMAIN: 0x00010000,
  TARGET_TYPE_SERVER: 0x00020000,
  EXTENDED_SESSIONSECURITY: 0x00080000,
  IDENTIFY: 0x00100000,
  REQUEST_NON_NT_SESSION_KEY: 0x00400000,
  TARGET_INFO: 0x00800000,
  VERSION: 0x02000000,
  NEGOTIATE_128: 0x20000000,
  KEY_EXCH: 0x40000000,
  NEGOTIATE_56: 0x80000000,
} as const;
const F = NegotiateFlags;

export const AvId = {
  EOL: 0,
  NbComputerName: 1,
  NbDomainName: 2,
  DnsComputerName: 3,
  DnsDomainName: 4,
  DnsTreeName: 5,
  Flags: 6,
  Timestamp: 7,
  SingleHost: 8,
  TargetName: 9,
  ChannelBindings: 10,
} as const;

/** MsvAvFlags bit: the AUTHENTICATE message carries a MIC. */
export const AV_FLAG_MIC_PRESENT = 0x2;

export const NTLMSSP_SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');

export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

export interface AvPair {
  readonly id: number;
  readonly value: Buffer;
}

export function isNtlmssp(token: Buffer): boolean {
  return token.length >= 12 && token.subarray(0, 8).equals(NTLMSSP_SIGNATURE);
}

export function messageType(token: Buffer): number {
  if (!isNtlmssp(token)) throw new TokenError('not an NTLMSSP message');
  return token.readUInt32LE(8);
}

/** A (Len, MaxLen, Offset) field; the payload must lie inside the message. */
function readField(msg: Buffer, at: number, what: string): Buffer {
  if (at + 8 > msg.length) throw new TokenError(`${what}: header truncated`);
  const len = msg.readUInt16LE(at);
  const off = msg.readUInt32LE(at + 4);
  if (len === 0) return Buffer.alloc(0);
  if (off > msg.length || off + len > msg.length) throw new TokenError(`${what}: payload outside the message`);
  return msg.subarray(off, off + len);
}

export function parseAvPairs(buf: Buffer): AvPair[] {
  const pairs: AvPair[] = [];
  let p = 0;
  // Bounded by the buffer: each pair consumes at least 4 bytes.
  while (p + 4 <= buf.length) {
    const id = buf.readUInt16LE(p);
    const len = buf.readUInt16LE(p + 2);
    p += 4;
    if (id === AvId.EOL) return pairs;
    if (p + len > buf.length) throw new TokenError('AV pair runs past the end');
    pairs.push({ id, value: buf.subarray(p, p + len) });
    p += len;
  }
  throw new TokenError('AV pair list has no MsvAvEOL');
}

export function encodeAvPairs(pairs: readonly AvPair[]): Buffer {
  const parts: Buffer[] = [];
  for (const pr of pairs) {
    const h = Buffer.alloc(4);
    h.writeUInt16LE(pr.id, 0);
    h.writeUInt16LE(pr.value.length, 2);
    parts.push(h, pr.value);
  }
  parts.push(Buffer.alloc(4)); // MsvAvEOL
  return Buffer.concat(parts);
}

export interface NegotiateMessage {
  readonly flags: number;
  readonly raw: Buffer;
}

export function parseNegotiate(msg: Buffer): NegotiateMessage {
  if (msg.length < 16) throw new TokenError('NEGOTIATE truncated');
  if (messageType(msg) !== 1) throw new TokenError('expected an NTLMSSP NEGOTIATE message');
  // Domain and workstation (OEM) fields are informational; we do not need them.
  return { flags: msg.readUInt32LE(12), raw: Buffer.from(msg) };
}

/** Our VERSION structure: 6.1 build 7601, NTLMSSP_REVISION_W2K3 (15). */
const OUR_VERSION = Buffer.from([6, 1, 0xb1, 0x1d, 0, 0, 0, 15]);

export interface ChallengeParams {
  readonly flags: number;
  readonly targetName: string;
  readonly serverChallenge: Buffer;
  readonly targetInfo: Buffer;
}

export function buildChallenge(p: ChallengeParams): Buffer {
  const unicode = (p.flags & F.UNICODE) !== 0;
  const name = Buffer.from(p.targetName, unicode ? 'utf16le' : 'latin1');
  const headerLen = 56; // with the VERSION field (always present in the layout, zero if not negotiated)
  const msg = Buffer.alloc(headerLen + name.length + p.targetInfo.length);
  NTLMSSP_SIGNATURE.copy(msg, 0);
  msg.writeUInt32LE(2, 8);
  msg.writeUInt16LE(name.length, 12);
  msg.writeUInt16LE(name.length, 14);
  msg.writeUInt32LE(headerLen, 16);
  msg.writeUInt32LE(p.flags >>> 0, 20);
  p.serverChallenge.copy(msg, 24);
  // 32..40 reserved
  msg.writeUInt16LE(p.targetInfo.length, 40);
  msg.writeUInt16LE(p.targetInfo.length, 42);
  msg.writeUInt32LE(headerLen + name.length, 44);
  if (p.flags & F.VERSION) OUR_VERSION.copy(msg, 48);
  name.copy(msg, headerLen);
  p.targetInfo.copy(msg, headerLen + name.length);
  return msg;
}

export interface AuthenticateMessage {
  readonly lmResponse: Buffer;
  readonly ntResponse: Buffer;
  readonly domain: string;
  readonly user: string;
  readonly workstation: string;
  readonly encryptedRandomSessionKey: Buffer;
  readonly flags: number;
  /** Offset of the 16-byte MIC field, when the message layout has room for one. */
  readonly micOffset: number | undefined;
  readonly raw: Buffer;
}

export function parseAuthenticate(msg: Buffer, fallbackUnicode: boolean): AuthenticateMessage {
  if (msg.length < 64) throw new TokenError('AUTHENTICATE truncated');
  if (messageType(msg) !== 3) throw new TokenError('expected an NTLMSSP AUTHENTICATE message');
  const lmResponse = readField(msg, 12, 'LmChallengeResponse');
  const ntResponse = readField(msg, 20, 'NtChallengeResponse');
  const domainRaw = readField(msg, 28, 'DomainName');
  const userRaw = readField(msg, 36, 'UserName');
  const wsRaw = readField(msg, 44, 'Workstation');
  const encryptedRandomSessionKey = readField(msg, 52, 'EncryptedRandomSessionKey');
  const flags = msg.readUInt32LE(60);
  const unicode = flags & F.UNICODE ? true : flags & F.OEM ? false : fallbackUnicode;
  const str = (b: Buffer) => {
    if (unicode && b.length % 2 !== 0) throw new TokenError('odd-length UTF-16 string');
    return b.toString(unicode ? 'utf16le' : 'latin1');
  };
  // The payload starts at the smallest non-empty field offset; the MIC (16 bytes) sits at 72
  // when the fixed part is long enough to hold VERSION (8) and MIC (16).
  let payloadStart = msg.length;
  for (const at of [12, 20, 28, 36, 44, 52]) {
    if (msg.readUInt16LE(at) > 0) payloadStart = Math.min(payloadStart, msg.readUInt32LE(at + 4));
  }
  const micOffset = payloadStart >= 88 ? 72 : undefined;
  return {
    lmResponse, ntResponse,
    domain: str(domainRaw), user: str(userRaw), workstation: str(wsRaw),
    encryptedRandomSessionKey, flags, micOffset, raw: Buffer.from(msg),
  };
}

/** FILETIME (100 ns since 1601-01-01) as 8 little-endian bytes. */
export function fileTime(date: Date): Buffer {
  const t = BigInt(date.getTime()) * 10000n + 116444736000000000n;
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(t);
  return b;
}
