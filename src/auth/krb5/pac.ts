/**
 * The Privilege Attribute Certificate (MS-PAC) in a ticket's authorization data: its buffer
 * table (2.3, 2.4), the server signature verified with the service key (2.8.1; the KDC's
 * signatures need krbtgt's key and are not checked here), and from the logon information
 * (2.5, KERB_VALIDATION_INFO in NDR) the names and SIDs that become the caller's identity.
 */
import { NdrReader } from '../../ndr/reader';
import { NdrError } from '../../ndr/errors';
import { ChecksumType, enctype, enctypeForChecksum, equalBytes } from './enctypes';
import { KeyUsage } from './rfc3961';

export class PacError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PacError';
  }
}

/** PAC_INFO_BUFFER ulType values (MS-PAC 2.4). */
export const PacBufferType = {
  LOGON_INFO: 1,
  SERVER_CHECKSUM: 6,
  PRIVSVR_CHECKSUM: 7,
  CLIENT_INFO: 10,
  UPN_DNS_INFO: 12,
  TICKET_CHECKSUM: 16,
  FULL_CHECKSUM: 19,
} as const;

const MAX_BUFFERS = 64;

export interface PacBuffer {
  readonly type: number;
  readonly offset: number;
  readonly size: number;
}

export interface PacLogonInfo {
  readonly effectiveName: string;
  readonly logonDomainName: string;
  readonly userSid: string;
  /** The groups: domain-relative ones, extra SIDs and resource groups, in that order. */
  readonly groupSids: readonly string[];
}

export function parsePacBuffers(pac: Buffer): PacBuffer[] {
  if (pac.length < 8) throw new PacError('PAC shorter than its header');
  const count = pac.readUInt32LE(0);
  const version = pac.readUInt32LE(4);
  if (version !== 0) throw new PacError(`PAC version ${version}`);
  if (count === 0 || count > MAX_BUFFERS || 8 + 16 * count > pac.length) throw new PacError(`PAC with ${count} buffers`);
  const out: PacBuffer[] = [];
  for (let i = 0; i < count; i++) {
    const at = 8 + 16 * i;
    const type = pac.readUInt32LE(at);
    const size = pac.readUInt32LE(at + 4);
    const offset = Number(pac.readBigUInt64LE(at + 8));
    if (offset < 8 + 16 * count || offset + size > pac.length) throw new PacError(`PAC buffer type ${type} lies outside the PAC`);
    out.push({ type, offset, size });
  }
  return out;
}

function only(buffers: PacBuffer[], type: number): PacBuffer {
  const found = buffers.filter((b) => b.type === type);
  if (found.length !== 1) throw new PacError(`PAC has ${found.length} buffers of type ${type}`);
  return found[0];
}

/**
 * MS-PAC 2.8.1: the server checksum is over the whole PAC with the signature fields of the
 * server and KDC checksums zeroed, keyed with the service key (usage 17).
 */
export function verifyServerSignature(pac: Buffer, serviceKey: Buffer, serviceEnctype: number): void {
  const buffers = parsePacBuffers(pac);
  const server = only(buffers, PacBufferType.SERVER_CHECKSUM);
  const kdc = only(buffers, PacBufferType.PRIVSVR_CHECKSUM);
  const sigType = (b: PacBuffer) => {
    if (b.size < 4) throw new PacError('PAC signature buffer too short');
    return pac.readInt32LE(b.offset);
  };
  const type = sigType(server);
  const et = enctypeForChecksum(type);
  if (!et) throw new PacError(`PAC server signature of unsupported type ${type}`);
  if (et.id !== serviceEnctype && !(type === ChecksumType.HMAC_MD5 && serviceEnctype === enctype(23).id)) {
    throw new PacError(`PAC server signature type ${type} does not match the service key (enctype ${serviceEnctype})`);
  }
  const sigLen = et.checksumLength;
  const span = (b: PacBuffer, len: number) => {
    if (4 + len > b.size) throw new PacError('PAC signature buffer too short');
    return [b.offset + 4, b.offset + 4 + len] as const;
  };
  const [s0, s1] = span(server, sigLen);
  const kdcType = sigType(kdc);
  const kdcLen = enctypeForChecksum(kdcType)?.checksumLength ?? (kdcType === ChecksumType.HMAC_MD5 ? 16 : kdc.size - 4);
  const [k0, k1] = span(kdc, Math.min(kdcLen, kdc.size - 4));
  const signature = Buffer.from(pac.subarray(s0, s1));
  const zeroed = Buffer.from(pac);
  zeroed.fill(0, s0, s1);
  zeroed.fill(0, k0, k1);
  if (!equalBytes(et.checksum(serviceKey, KeyUsage.PAC_CHECKSUM, zeroed), signature)) {
    throw new PacError('PAC server signature does not verify (tampered PAC or wrong service key)');
  }
}

/**
 * PAC_CLIENT_INFO (MS-PAC 2.7): the client name the PAC was issued for. It must name the
 * ticket's client, so a PAC cannot vouch for another principal's ticket.
 */
export function clientInfoName(pac: Buffer): string {
  const b = only(parsePacBuffers(pac), PacBufferType.CLIENT_INFO);
  if (b.size < 10) throw new PacError('PAC client info too short');
  const len = pac.readUInt16LE(b.offset + 8);
  if (len & 1 || 10 + len > b.size) throw new PacError('PAC client info name runs past its buffer');
  return pac.toString('utf16le', b.offset + 10, b.offset + 10 + len);
}

/** KERB_VALIDATION_INFO (MS-PAC 2.5) behind the type-1 buffer's NDR serialization header (MS-RPCE 2.2.6). */
export function parseLogonInfo(pac: Buffer): PacLogonInfo {
  const b = only(parsePacBuffers(pac), PacBufferType.LOGON_INFO);
  const data = pac.subarray(b.offset, b.offset + b.size);
  try {
    return readValidationInfo(data);
  } catch (e) {
    if (e instanceof NdrError) throw new PacError(`PAC logon info: ${e.message}`);
    throw e;
  }
}

function readValidationInfo(data: Buffer): PacLogonInfo {
  if (data.length < 20 || data[0] !== 1 || data[1] !== 0x10) throw new PacError('PAC logon info without an NDR type-serialization v1 header');
  const r = new NdrReader(data, true, 16);
  if (r.pointer() === 0) throw new PacError('PAC logon info is NULL');
  r.skip(6 * 8); // logon, logoff, kickoff, password last set / can change / must change
  const effectiveName = ustr(r);
  const other = [ustr(r), ustr(r), ustr(r), ustr(r), ustr(r)]; // full name, script, profile, home, drive
  r.skip(4); // logon count, bad password count
  const userId = r.u32();
  r.u32(); // primary group id: also listed in GroupIds
  const groupCount = r.u32();
  const groupIds = r.pointer();
  r.skip(4 + 16); // user flags, user session key
  const logonServer = ustr(r);
  const logonDomainName = ustr(r);
  const logonDomainId = r.pointer();
  r.skip(8 + 4 + 4 + 8 + 8 + 4 + 4); // reserved1, UAC, sub-auth status, last successful/failed logon, failed count, reserved3
  const sidCount = r.u32();
  const extraSids = r.pointer();
  const resourceDomain = r.pointer();
  const resourceCount = r.u32();
  const resourceIds = r.pointer();
  // Deferred referents, in the order their pointers appeared.
  const name = deferredString(r, effectiveName);
  for (const s of other) deferredString(r, s);
  const rids = groupIds ? ridArray(r, groupCount) : [];
  deferredString(r, logonServer);
  const domain = deferredString(r, logonDomainName);
  if (!logonDomainId) throw new PacError('PAC logon info without a domain SID');
  const domainSid = sid(r);
  const extras: string[] = [];
  if (extraSids) {
    const n = r.count(8);
    if (n !== sidCount) throw new PacError('PAC extra SID count mismatch');
    const ptrs: number[] = [];
    for (let i = 0; i < n; i++) {
      ptrs.push(r.pointer());
      r.u32(); // attributes
    }
    for (const p of ptrs) if (p) extras.push(sid(r));
  }
  const resources: string[] = [];
  if (resourceDomain) {
    const rd = sid(r);
    if (resourceIds) for (const rid of ridArray(r, resourceCount)) resources.push(`${rd}-${rid}`);
  }
  return {
    effectiveName: name,
    logonDomainName: domain,
    userSid: `${domainSid}-${userId}`,
    groupSids: [...rids.map((rid) => `${domainSid}-${rid}`), ...extras, ...resources],
  };
}

interface UStr { readonly length: number; readonly ptr: number }

/** RPC_UNICODE_STRING's inline part. */
function ustr(r: NdrReader): UStr {
  const length = r.u16();
  const max = r.u16();
  if (length > max || length & 1) r.fail('bad RPC_UNICODE_STRING lengths');
  return { length, ptr: r.pointer() };
}

function deferredString(r: NdrReader, s: UStr): string {
  if (!s.ptr) return '';
  r.align(4);
  const max = r.count(0);
  const actual = r.variance(max, 2);
  if (actual * 2 !== s.length) r.fail('RPC_UNICODE_STRING length disagrees with its array');
  const text = r.bytes(actual * 2).toString('utf16le');
  r.align(4);
  return text;
}

function ridArray(r: NdrReader, expected: number): number[] {
  const n = r.count(8);
  if (n !== expected) r.fail(`GROUP_MEMBERSHIP count ${n}, expected ${expected}`);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(r.u32());
    r.u32(); // attributes
  }
  return out;
}

/** RPC_SID (MS-DTYP 2.4.2.3) as S-1-… text. */
function sid(r: NdrReader): string {
  const n = r.count(4);
  const revision = r.u8();
  const subCount = r.u8();
  if (subCount !== n || n > 15) r.fail(`SID with ${subCount} sub-authorities (conformance ${n})`);
  const auth = r.bytes(6);
  let authority = 0;
  for (const x of auth) authority = authority * 256 + x;
  const subs: number[] = [];
  for (let i = 0; i < n; i++) subs.push(r.u32());
  return `S-${revision}-${authority}${subs.map((s) => `-${s}`).join('')}`;
}
