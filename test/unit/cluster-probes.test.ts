import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { buildNegotiateRequest, judgeNegotiateResponse, smb2NegotiateProbe } from '../../src/cluster/probes/smb2';
import { tcpConnectProbe } from '../../src/cluster/probes/tcp';

/** A NEGOTIATE response as an SMB server would send it (NetBIOS header included). */
function negotiateResponse(opts: { protocol?: number; command?: number; status?: number; flags?: number; dialect?: number; structureSize?: number } = {}): Buffer {
  const body = Buffer.alloc(64 + 65);
  body.writeUInt32BE(opts.protocol ?? 0xfe534d42, 0);
  body.writeUInt16LE(64, 4);
  body.writeUInt32LE(opts.status ?? 0, 8);
  body.writeUInt16LE(opts.command ?? 0, 12);
  body.writeUInt32LE(opts.flags ?? 1, 16);
  body.writeUInt16LE(opts.structureSize ?? 65, 64);
  body.writeUInt16LE(1, 66);
  body.writeUInt16LE(opts.dialect ?? 0x0311, 68);
  const nb = Buffer.alloc(4);
  nb.writeUInt32BE(body.length, 0);
  return Buffer.concat([nb, body]);
}

describe('SMB2 NEGOTIATE request', () => {
  const guid = Buffer.alloc(16, 0xaa);
  const salt = Buffer.alloc(32, 0x55);
  const req = buildNegotiateRequest(guid, salt);
  const smb = req.subarray(4);

  it('has a NetBIOS session header with the message length', () => {
    expect(req[0]).toBe(0);
    expect(req.readUInt32BE(0)).toBe(smb.length);
  });

  it('has an SMB2 header for NEGOTIATE', () => {
    expect(smb.subarray(0, 4)).toEqual(Buffer.from([0xfe, 0x53, 0x4d, 0x42]));
    expect(smb.readUInt16LE(4)).toBe(64);
    expect(smb.readUInt16LE(12)).toBe(0);
    expect(smb.readBigUInt64LE(24)).toBe(0n); // MessageId 0
  });

  it('offers 2.0.2 … 3.1.1 with the 3.1.1 negotiate contexts, 8-aligned', () => {
    const body = smb.subarray(64);
    expect(body.readUInt16LE(0)).toBe(36);
    const count = body.readUInt16LE(2);
    expect(count).toBe(5);
    expect(body.subarray(12, 28)).toEqual(guid);
    const dialects = [...Array(count).keys()].map((i) => body.readUInt16LE(36 + 2 * i));
    expect(dialects).toEqual([0x0202, 0x0210, 0x0300, 0x0302, 0x0311]);
    const ctxOffset = body.readUInt32LE(28);
    expect(ctxOffset % 8).toBe(0);
    expect(ctxOffset).toBe(112);
    expect(body.readUInt16LE(32)).toBe(2);
    // Preauth integrity: 1 hash (SHA-512), 32-byte salt.
    expect(smb.readUInt16LE(ctxOffset)).toBe(1);
    const len1 = smb.readUInt16LE(ctxOffset + 2);
    expect(len1).toBe(38);
    expect(smb.readUInt16LE(ctxOffset + 8)).toBe(1);
    expect(smb.readUInt16LE(ctxOffset + 10)).toBe(32);
    expect(smb.readUInt16LE(ctxOffset + 12)).toBe(1);
    expect(smb.subarray(ctxOffset + 14, ctxOffset + 46)).toEqual(salt);
    // Encryption: AES-128-GCM, AES-128-CCM; second context 8-aligned.
    const ctx2 = (ctxOffset + 8 + len1 + 7) & ~7;
    expect(smb.readUInt16LE(ctx2)).toBe(2);
    expect(smb.readUInt16LE(ctx2 + 2)).toBe(6);
    expect([smb.readUInt16LE(ctx2 + 8), smb.readUInt16LE(ctx2 + 10), smb.readUInt16LE(ctx2 + 12)]).toEqual([2, 2, 1]);
    expect(smb.length).toBe(ctx2 + 14);
  });
});

describe('judging the NEGOTIATE response', () => {
  it('accepts a valid response and names the dialect', () => {
    expect(judgeNegotiateResponse(negotiateResponse())).toEqual({ ok: true, detail: 'SMB 3.1.1 negotiated', dialect: '3.1.1' });
    expect(judgeNegotiateResponse(negotiateResponse({ dialect: 0x0210 }))?.dialect).toBe('2.1');
  });
  it('waits for more bytes', () => {
    expect(judgeNegotiateResponse(negotiateResponse().subarray(0, 3))).toBeUndefined();
    expect(judgeNegotiateResponse(negotiateResponse().subarray(0, 40))).toBeUndefined();
  });
  it.each([
    ['SMB1', { protocol: 0xff534d42 }, /SMB1 answer/],
    ['other protocol', { protocol: 0x12345678 }, /bad ProtocolId 0x12345678/],
    ['other command', { command: 1 }, /command 0x1, not NEGOTIATE/],
    ['error status', { status: 0xc0000022 }, /status 0xc0000022/],
    ['request, not response', { flags: 0 }, /SERVER_TO_REDIR/],
    ['dialect not offered', { dialect: 0x02ff }, /0x02ff, which was not offered/],
    ['bad body size', { structureSize: 64 }, /StructureSize 64/],
  ])('refuses %s', (_name, opts, text) => {
    const v = judgeNegotiateResponse(negotiateResponse(opts));
    expect(v?.ok).toBe(false);
    expect(v?.detail).toMatch(text);
  });
  it('refuses a non-session NetBIOS packet and absurd lengths', () => {
    expect(judgeNegotiateResponse(Buffer.from([0x85, 0, 0, 0]))?.detail).toMatch(/packet type 0x85/);
    expect(judgeNegotiateResponse(Buffer.from([0, 0, 0, 8]))?.detail).toMatch(/bad NetBIOS length 8/);
  });
});

describe('probes against a fake TCP server', () => {
  let server: Server;
  let port: number;
  let behaviour: (s: Socket, request: Buffer) => void;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    server = createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
      let got = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.length >= 4 && got.length >= 4 + got.readUInt32BE(0)) behaviour(s, got);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('healthy: the server answers NEGOTIATE (in two pieces)', async () => {
    let seen: Buffer | undefined;
    behaviour = (s, req) => {
      seen = req;
      const resp = negotiateResponse({ dialect: 0x0302 });
      s.write(resp.subarray(0, 10));
      setTimeout(() => s.write(resp.subarray(10)), 20);
    };
    const r = await smb2NegotiateProbe({ host: '127.0.0.1', port }, 1000);
    expect(r).toEqual({ ok: true, detail: 'SMB 3.0.2 negotiated', dialect: '3.0.2' });
    expect(seen?.subarray(4, 8)).toEqual(Buffer.from([0xfe, 0x53, 0x4d, 0x42]));
  });

  it('unhealthy: accepted but never answered (times out)', async () => {
    behaviour = () => undefined;
    const r = await smb2NegotiateProbe({ host: '127.0.0.1', port }, 150);
    // Silence, not a refusal: a merely slow node gives the same (the peer watch waits for silenceMs).
    expect(r).toEqual({ ok: false, detail: 'no NEGOTIATE response within 150 ms' });
  });

  it('unhealthy: the server closes the connection', async () => {
    behaviour = (s) => s.end();
    const r = await smb2NegotiateProbe({ host: '127.0.0.1', port }, 1000);
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/connection closed after 0 bytes/);
    expect(r.refused).toBe(true);
  });

  it('unhealthy: garbage answer', async () => {
    behaviour = (s) => s.write(Buffer.alloc(200, 0x41));
    const r = await smb2NegotiateProbe({ host: '127.0.0.1', port }, 1000);
    expect(r).toEqual({ ok: false, detail: 'not an SMB answer (NetBIOS session packet type 0x41)', refused: true });
  });

  it('unhealthy: nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    expect(await smb2NegotiateProbe({ host: '127.0.0.1', port: deadPort }, 1000)).toEqual({ ok: false, detail: 'connection refused', refused: true });
    expect(await tcpConnectProbe({ host: '127.0.0.1', port: deadPort }, 1000)).toEqual({ ok: false, detail: 'connection refused', refused: true });
  });

  it('tcp-connect: a listening port is healthy', async () => {
    behaviour = () => undefined;
    expect(await tcpConnectProbe({ host: '127.0.0.1', port }, 1000)).toEqual({ ok: true, detail: 'TCP connection accepted' });
  });
});
