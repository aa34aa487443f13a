/**
 * The SMB2 NEGOTIATE probe (MS-SMB2 2.2.3 / 2.2.4), hand-written: one request with the
 * NetBIOS session header offering 2.0.2 … 3.1.1 and the negotiate contexts 3.1.1 requires
 * (preauth integrity, encryption). A well-formed NEGOTIATE response with STATUS_SUCCESS and
 * one of the offered dialects means the SMB server is alive and serving. Nothing logs on.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { refusedByHost, socketErrorText, type Probe, type ProbeResult } from './probe';

export const SMB2_DIALECTS: ReadonlyMap<number, string> = new Map([
  [0x0202, '2.0.2'],
  [0x0210, '2.1'],
  [0x0300, '3.0'],
  [0x0302, '3.0.2'],
  [0x0311, '3.1.1'],
]);

const SMB2_HEADER_SIZE = 64;
const SMB2_NEGOTIATE = 0x0000;
const SMB2_FLAGS_SERVER_TO_REDIR = 0x00000001;
const SMB2_NEGOTIATE_SIGNING_ENABLED = 0x0001;
const SMB2_PREAUTH_INTEGRITY_CAPABILITIES = 0x0001;
const SMB2_ENCRYPTION_CAPABILITIES = 0x0002;
const SHA_512 = 0x0001;
const AES_128_GCM = 0x0002;
const AES_128_CCM = 0x0001;
/** Enough of the response to judge it: header + StructureSize, SecurityMode, DialectRevision. */
const NEEDED = 4 + SMB2_HEADER_SIZE + 6;
/** A NEGOTIATE response (with its security blob) is a few hundred bytes; refuse absurd lengths. */
const MAX_RESPONSE = 1 << 20;

const align8 = (n: number) => (n + 7) & ~7;

function negotiateContext(type: number, data: Buffer): Buffer {
  const b = Buffer.alloc(8 + data.length);
  b.writeUInt16LE(type, 0);
  b.writeUInt16LE(data.length, 2);
  data.copy(b, 8);
  return b;
}

/** The request, NetBIOS session header included. clientGuid and salt are random unless given. */
export function buildNegotiateRequest(clientGuid: Buffer = randomBytes(16), salt: Buffer = randomBytes(32)): Buffer {
  const dialects = [...SMB2_DIALECTS.keys()];
  const preauth = Buffer.alloc(4 + 2 + salt.length);
  preauth.writeUInt16LE(1, 0); // HashAlgorithmCount
  preauth.writeUInt16LE(salt.length, 2); // SaltLength
  preauth.writeUInt16LE(SHA_512, 4);
  salt.copy(preauth, 6);
  const ciphers = Buffer.alloc(2 + 4);
  ciphers.writeUInt16LE(2, 0); // CipherCount
  ciphers.writeUInt16LE(AES_128_GCM, 2);
  ciphers.writeUInt16LE(AES_128_CCM, 4);
  const contexts = [negotiateContext(SMB2_PREAUTH_INTEGRITY_CAPABILITIES, preauth), negotiateContext(SMB2_ENCRYPTION_CAPABILITIES, ciphers)];

  const bodyFixed = 36;
  const dialectsEnd = SMB2_HEADER_SIZE + bodyFixed + 2 * dialects.length;
  // Negotiate contexts start 8-aligned from the SMB2 header, and each one is 8-aligned.
  const contextOffset = align8(dialectsEnd);
  let end = contextOffset;
  const placed: number[] = [];
  contexts.forEach((c, i) => {
    if (i > 0) end = align8(end);
    placed.push(end);
    end += c.length;
  });
  const msg = Buffer.alloc(end);
  msg.write('\xfeSMB', 0, 'latin1');
  msg.writeUInt16LE(SMB2_HEADER_SIZE, 4); // StructureSize
  msg.writeUInt16LE(SMB2_NEGOTIATE, 12); // Command
  msg.writeUInt16LE(1, 14); // CreditRequest
  msg.writeUInt32LE(0xfeff, 32); // Reserved (ProcessId), as Windows sends it
  // MessageId, TreeId, SessionId, Signature: zero.
  let o = SMB2_HEADER_SIZE;
  msg.writeUInt16LE(bodyFixed, o); // StructureSize
  msg.writeUInt16LE(dialects.length, o + 2); // DialectCount
  msg.writeUInt16LE(SMB2_NEGOTIATE_SIGNING_ENABLED, o + 4); // SecurityMode
  msg.writeUInt32LE(0, o + 8); // Capabilities: none needed to be answered
  clientGuid.copy(msg, o + 12, 0, 16);
  msg.writeUInt32LE(contextOffset, o + 28); // NegotiateContextOffset
  msg.writeUInt16LE(contexts.length, o + 32); // NegotiateContextCount
  o += bodyFixed;
  for (const d of dialects) {
    msg.writeUInt16LE(d, o);
    o += 2;
  }
  contexts.forEach((c, i) => c.copy(msg, placed[i]));

  const nbss = Buffer.alloc(4);
  nbss.writeUInt32BE(msg.length, 0); // type 0x00 (session message) + 24-bit length
  return Buffer.concat([nbss, msg]);
}

export interface NegotiateVerdict extends ProbeResult {
  readonly dialect?: string;
}

/**
 * Judge the first bytes of the server's answer (NetBIOS header included). Returns undefined
 * while more bytes are needed.
 */
export function judgeNegotiateResponse(buf: Buffer): NegotiateVerdict | undefined {
  if (buf.length < 4) return undefined;
  if (buf[0] !== 0x00) return { ok: false, detail: `not an SMB answer (NetBIOS session packet type 0x${buf[0].toString(16)})` };
  const length = buf.readUInt32BE(0) & 0xffffff;
  if (length < SMB2_HEADER_SIZE + 8 || length > MAX_RESPONSE) return { ok: false, detail: `bad NetBIOS length ${length}` };
  if (buf.length < NEEDED) return undefined;
  const h = buf.subarray(4);
  const protocol = h.readUInt32BE(0);
  if (protocol === 0xff534d42) return { ok: false, detail: 'SMB1 answer to an SMB2 NEGOTIATE (SMB2 disabled?)' };
  if (protocol !== 0xfe534d42) return { ok: false, detail: `bad ProtocolId 0x${protocol.toString(16).padStart(8, '0')}` };
  if (h.readUInt16LE(4) !== SMB2_HEADER_SIZE) return { ok: false, detail: `bad SMB2 header StructureSize ${h.readUInt16LE(4)}` };
  const command = h.readUInt16LE(12);
  if (command !== SMB2_NEGOTIATE) return { ok: false, detail: `answer is command 0x${command.toString(16)}, not NEGOTIATE` };
  if ((h.readUInt32LE(16) & SMB2_FLAGS_SERVER_TO_REDIR) === 0) return { ok: false, detail: 'answer lacks SMB2_FLAGS_SERVER_TO_REDIR' };
  const status = h.readUInt32LE(8);
  if (status !== 0) return { ok: false, detail: `NEGOTIATE failed with status 0x${status.toString(16).padStart(8, '0')}` };
  const structureSize = h.readUInt16LE(SMB2_HEADER_SIZE);
  if (structureSize !== 65) return { ok: false, detail: `bad NEGOTIATE response StructureSize ${structureSize}` };
  const dialect = h.readUInt16LE(SMB2_HEADER_SIZE + 4);
  const name = SMB2_DIALECTS.get(dialect);
  if (name === undefined) return { ok: false, detail: `server chose dialect 0x${dialect.toString(16).padStart(4, '0')}, which was not offered` };
  return { ok: true, detail: `SMB ${name} negotiated`, dialect: name };
}

export const smb2NegotiateProbe: Probe = (target, timeoutMs) =>
  new Promise<NegotiateVerdict>((resolve) => {
    let done = false;
    let received = Buffer.alloc(0);
    const socket = connect({ host: target.host, port: target.port });
    const finish = (r: NegotiateVerdict) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () => finish({ ok: false, detail: received.length > 0 || socket.readyState === 'open' ? `no NEGOTIATE response within ${timeoutMs} ms` : `no TCP connection within ${timeoutMs} ms` }),
      timeoutMs,
    );
    socket.setNoDelay(true);
    socket.once('connect', () => socket.write(buildNegotiateRequest()));
    socket.on('data', (chunk: Buffer) => {
      // Only the first NEEDED bytes are kept: a hostile peer cannot make us buffer more.
      received = Buffer.concat([received, chunk]).subarray(0, NEEDED);
      const verdict = judgeNegotiateResponse(received);
      // A wrong answer came from the host: as definite as a refused connection.
      if (verdict) finish(verdict.ok ? verdict : { ...verdict, refused: true });
    });
    socket.once('error', (err) => finish({ ok: false, detail: socketErrorText(err), ...(refusedByHost(err) ? { refused: true } : {}) }));
    socket.once('close', () => finish({ ok: false, detail: `connection closed after ${received.length} bytes, before a NEGOTIATE response`, refused: true }));
  });
