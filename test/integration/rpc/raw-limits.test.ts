/**
 * Every limit of the runtime: hitting one gives a fault or a clean close, never a crash.
 */
import net from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { AuthLevel } from '../../../src/rpc/security';
import { RpcServer } from '../../../src/rpc/server';
import { DID_NOT_EXECUTE, FIRST, LAST, NDR, OBJECT_UUID, PT, alter, bind, fragmentedRequest, request } from './helpers/pdu-builder';
import { type Harness, authSpec, startHarness } from './helpers/harness';
import { FakeClient } from './helpers/fake-security';
import { OTHER_SYNTAX, TEST_SYNTAX, TestInterface, u32le } from './helpers/test-interface';
import { RawClient } from './helpers/raw-client';

jest.setTimeout(15000);

let h: Harness | undefined;
afterEach(async () => { await h?.close(); h = undefined; });

const ctx0 = [{ id: 0, abstract: TEST_SYNTAX, transfers: [NDR] }];

function captureLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write(chunk, _e, cb) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); cb(); } });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

it('pending calls per connection: the call over the limit faults nca_s_server_too_busy', async () => {
  const log = captureLogger();
  h = await startHarness({ limits: { maxPendingCallsPerConnection: 2 }, logger: log.logger });
  const { c } = await h.bound();
  c.send(request({ callId: 2, opnum: 1, stub: u32le(1) }), request({ callId: 3, opnum: 1, stub: u32le(2) }), request({ callId: 4, opnum: 0, stub: Buffer.alloc(0) }));
  const f = await c.recv();
  expect([f.ptype, f.callId, f.status, f.flags & DID_NOT_EXECUTE]).toEqual([PT.FAULT, 4, 0x1c010014, DID_NOT_EXECUTE]);
  h.iface.release(1);
  expect((await c.recv()).callId).toBe(2);
  c.send(request({ callId: 5, opnum: 0, stub: Buffer.alloc(0) }));
  expect((await c.recv()).callId).toBe(5);
  expect(log.lines.some((l) => String(l.msg).includes('pending call limit'))).toBe(true);
  // a fragmented call over the limit cannot be swallowed: fault and close
  c.send(request({ callId: 6, opnum: 1, stub: u32le(3) }));
  await new Promise((r) => setTimeout(r, 50));
  c.send(fragmentedRequest({ callId: 7, opnum: 0, stub: Buffer.alloc(100), chunk: 50 })[0]);
  expect((await c.recv()).status).toBe(0x1c010014);
  await c.waitClosed();
});

it('reassembled size per call: over the limit → fault 0x5 and close (also by alloc_hint)', async () => {
  h = await startHarness({ limits: { maxRequestSize: 1000 } });
  const a = await h.bound();
  a.c.send(...fragmentedRequest({ callId: 2, opnum: 0, stub: Buffer.alloc(1500), chunk: 500 }));
  const f = await a.c.recv();
  expect([f.ptype, f.status]).toEqual([PT.FAULT, 5]);
  await a.c.waitClosed();
  const b = await h.bound();
  b.c.send(request({ callId: 2, opnum: 0, stub: Buffer.alloc(10), flags: 1, allocHint: 5000 }));
  expect((await b.c.recv()).status).toBe(5);
  await b.c.waitClosed();
  // a single-fragment call within the fragment limit is fine
  const d = await h.bound();
  d.c.send(request({ callId: 2, opnum: 0, stub: Buffer.alloc(900) }));
  expect((await d.c.recv()).stub!.length).toBe(901);
  expect(h.server.connectionCount).toBe(1);
});

it('reassembly per connection: one call at a time, a second interleaved one is a protocol error (MS-RPCE 3.3.3)', async () => {
  h = await startHarness({ limits: { maxRequestSize: 1000 } });
  const { c } = await h.bound();
  const a = fragmentedRequest({ callId: 2, opnum: 0, stub: Buffer.alloc(1000), chunk: 400 });
  const b = fragmentedRequest({ callId: 3, opnum: 0, stub: Buffer.alloc(1000), chunk: 400 });
  c.send(a[0], b[0], a[1], b[1]);
  const f = await c.recv();
  expect([f.ptype, f.callId, f.flags, f.status]).toEqual([PT.FAULT, 2, FIRST | LAST, 0x1c01000b]);
  await c.waitClosed();
});

it('fragment size: a request fragment above our maximum → fault nca_s_proto_error and close', async () => {
  h = await startHarness({ limits: { maxFragmentSize: 2048 } });
  const { c, ack } = await h.bound({ maxXmit: 5840 });
  expect(ack.maxXmit).toBe(2048);
  c.send(request({ callId: 2, opnum: 0, stub: Buffer.alloc(3000) }));
  expect((await c.recv()).status).toBe(0x1c01000b);
  await c.waitClosed();
});

it('connections: the one over the limit is closed at once and logged', async () => {
  const log = captureLogger();
  h = await startHarness({ limits: { maxConnections: 2 }, logger: log.logger });
  await h.bound();
  await h.bound();
  const third = await h.connect();
  await third.waitClosed();
  expect(log.lines.some((l) => l.msg === 'connection refused')).toBe(true);
  expect(h.server.connectionCount).toBe(2);
});

it('a connection that never binds is closed after the idle time', async () => {
  h = await startHarness({ limits: { unboundIdleMs: 100 } });
  const c = await h.connect();
  await c.waitClosed(2000);
  const { c: bound } = await h.bound();
  await new Promise((r) => setTimeout(r, 250));
  expect(bound.closed).toBe(false);
});

it('presentation contexts per connection: the one over the limit is refused with reason 3', async () => {
  h = await startHarness({ limits: { maxContextsPerConnection: 1 } });
  const { c } = await h.bound();
  c.send(alter({ callId: 2, contexts: [{ id: 1, abstract: OTHER_SYNTAX, transfers: [NDR] }] }));
  expect((await c.recv()).results![0]).toMatchObject({ result: 2, reason: 3 });
});

it('auth contexts per connection: the one over the limit is refused', async () => {
  h = await startHarness({ limits: { maxAuthContextsPerConnection: 1 } });
  const c = await h.connect();
  c.send(bind({ contexts: ctx0, auth: authSpec(new FakeClient('a', 'one').hello(), AuthLevel.Connect, 1) }));
  expect((await c.recv()).ptype).toBe(PT.BIND_ACK);
  c.send(alter({ callId: 2, contexts: ctx0, auth: authSpec(new FakeClient('b', 'one').hello(), AuthLevel.Connect, 2) }));
  const f = await c.recv();
  // MS-RPCE 3.3.1.5.4: a protocol error (as Samba's dcesrv_process_ncacn_packet), not 0x721.
  expect([f.ptype, f.flags, f.contextId, f.status]).toEqual([PT.FAULT, FIRST | LAST | DID_NOT_EXECUTE, 0, 0x1c01000b]);
  await c.waitClosed();
});

it('level connect: requests without a trailer run with the connect-level identity', async () => {
  h = await startHarness();
  const c = await h.connect();
  c.send(bind({ contexts: ctx0, auth: authSpec(new FakeClient('conny', 'one').hello(), AuthLevel.Connect, 1) }));
  expect((await c.recv()).auth!.value.toString()).toBe('OK');
  c.send(request({ callId: 2, opnum: 6, stub: Buffer.alloc(0) }));
  const who = JSON.parse((await c.recv()).stub!.toString());
  expect([who.identity.user, who.authLevel]).toEqual(['conny', AuthLevel.Connect]);
});

it('output queue: a client that never reads is dropped', async () => {
  h = await startHarness({ limits: { maxQueuedOutputBytes: 64 * 1024 } });
  const s = net.connect({ port: h.port, host: '127.0.0.1' });
  await new Promise((r) => s.once('connect', r));
  s.pause();
  s.write(bind({ contexts: ctx0 }));
  for (let i = 0; i < 300; i++) s.write(request({ callId: 10 + i, opnum: 5, stub: u32le(60000) }));
  const closed = new Promise((r) => s.once('close', r));
  await waitFor(() => h!.server.connectionCount === 0, 5000);
  s.destroy();
  await closed;
});

it('hostile input: random PDUs never crash the server', async () => {
  h = await startHarness();
  let seed = 12345;
  const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
  for (let i = 0; i < 40; i++) {
    const c = await RawClient.connect(h.port);
    const good = i % 2 === 0 ? bind({ contexts: ctx0 }) : request({ callId: 3, opnum: rnd() & 7, stub: Buffer.alloc(rnd() % 64), flags: 3 | (rnd() & OBJECT_UUID) });
    const bad = Buffer.from(good);
    for (let k = 0; k < 4; k++) bad[16 + (rnd() % (bad.length - 16))] = rnd() & 0xff;
    if (i % 2 === 1) c.send(bind({ contexts: ctx0 }));
    c.send(bad);
    await new Promise((r) => setTimeout(r, 5));
    await c.close();
  }
  const { c } = await h.bound();
  c.send(request({ callId: 2, opnum: 0, stub: Buffer.from('alive') }));
  expect((await c.recv()).stub!.toString('latin1')).toBe('\x01alive');
});

it('option validation rejects nonsense limits', () => {
  expect(() => new RpcServer({ limits: { maxFragmentSize: 100 } })).toThrow(/maxFragmentSize/);
  expect(() => new RpcServer({ limits: { maxConnections: 0 } })).toThrow(/maxConnections/);
  expect(() => new RpcServer({ limits: { maxRequestSize: 0 } })).toThrow(/maxRequestSize/);
});

it('listens on IPv4 and IPv6 with one dynamic port, and refuses listen() after close()', async () => {
  const server = new RpcServer();
  const ep = await server.listen({ address: ['127.0.0.1', '::1'], port: 0, interfaces: [new TestInterface()] });
  expect(ep.port).toBeGreaterThan(0);
  expect(server.endpoints()).toEqual([ep]);
  for (const host of ['127.0.0.1', '::1']) {
    const c = await RawClient.connect(ep.port, host);
    c.send(bind({ contexts: ctx0 }));
    expect((await c.recv()).secAddr).toBe(String(ep.port));
    await c.close();
  }
  await server.close();
  await expect(server.listen({ port: 0, interfaces: [new TestInterface()] })).rejects.toThrow(/closed/);
});

it('reports IPv4 clients of a dual-stack listener with plain IPv4 addresses', async () => {
  const server = new RpcServer();
  const iface = new TestInterface();
  const ep = await server.listen({ address: '::', port: 0, interfaces: [iface] });
  const c = await RawClient.connect(ep.port, '127.0.0.1');
  c.send(bind({ contexts: ctx0 }), request({ callId: 2, opnum: 0, stub: Buffer.alloc(0) }));
  await c.recv();
  await c.recv();
  expect([iface.contexts[0].localAddress, iface.contexts[0].remoteAddress]).toEqual(['127.0.0.1', '127.0.0.1']);
  await c.close();
  await server.close();
});

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
