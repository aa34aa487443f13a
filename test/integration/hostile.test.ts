/**
 * Live hostile clients against an in-process witnessd on loopback. For each case: the offender
 * gets a fault / bind_nak or a close, the server stays up, and a healthy client is answered.
 */
import { randomBytes } from 'node:crypto';
import { Witness_SYNTAX, Witness_OPNUMS, encodeWitnessrGetInterfaceListIn, encodeWitnessrAsyncNotifyIn, encodeWitnessrRegisterIn, decodeWitnessrRegisterOut } from '../../src/gen/witness';
import { FaultStatus } from '../../src/rpc/constants';
import { auth3, bind, alter, request, simple, PT, FIRST, LAST, NDR, type CtxSpec } from './rpc/helpers/pdu-builder';
import { Offender, healthyCall, startHostileTarget, sleep, type Running } from './hostile-helpers';

const W: CtxSpec = { id: 0, abstract: Witness_SYNTAX, transfers: [NDR] };
const REG_STUB = (client: string) => encodeWitnessrRegisterIn({ Version: 0x10001, NetName: 'SOFS', IpAddress: '127.0.0.11', ClientComputerName: client });

// Every case is bounded by its own loop limits; the timeout only guards a loaded CI machine.
jest.setTimeout(30_000);

let t: Running;
const tried: string[] = [];
let baseline = 0;

beforeAll(async () => {
  // Idle limit lowered for the slow-loris and truncation cases (default 30 s).
  t = await startHostileTarget({ rpcLimits: { unboundIdleMs: 1500, partialPduMs: 2000 } });
  baseline = await healthyCall(t.port);
});

afterAll(async () => {
  await t.d.close();
  process.stdout.write(`hostile cases tried (${tried.length}): ${tried.join('; ')}\n`);
});

/** After each case: the server is up and a healthy client is answered. */
async function stillHealthy(name: string): Promise<void> {
  const ms = await healthyCall(t.port);
  expect(ms).toBeLessThan(Math.max(2000, baseline * 50)); // "answered", not a speed assertion
  expect(t.d.rpc.connectionCount).toBeLessThan(50);
  tried.push(name);
}

async function bound(): Promise<Offender> {
  const o = await Offender.connect(t.port);
  o.send(bind({ callId: 1, contexts: [W] }));
  expect(await o.until(() => o.answers.length > 0)).toBe(true);
  expect(o.answers[0].ptype).toBe(PT.BIND_ACK);
  o.answers.length = 0;
  return o;
}

describe('hostile clients', () => {
  it('random bytes: bind_nak and close', async () => {
    for (let i = 0; i < 20; i++) {
      const o = await Offender.connect(t.port);
      const junk = randomBytes(1 + (i * 997) % 8192);
      if (i % 2) junk[0] = 5; // sometimes a plausible version byte
      o.send(junk);
      const closed = await o.waitClosed(4000);
      expect(closed).toBe(true);
      o.destroy();
    }
    await stillHealthy('random bytes x20');
  });

  it('truncated PDUs: a bind cut short is refused, a header cut short times out', async () => {
    const full = bind({ callId: 1, contexts: [W] });
    // Body truncated but frag_length consistent with what was sent: bind_nak + close.
    const cut = Buffer.from(full.subarray(0, 30));
    cut.writeUInt16LE(30, 8);
    const a = await Offender.connect(t.port);
    a.send(cut);
    expect(await a.waitClosed()).toBe(true);
    expect(a.faults()[0]?.ptype).toBe(PT.BIND_NAK);
    // Only part of the PDU ever arrives: closed by the unbound idle limit.
    const b = await Offender.connect(t.port);
    b.send(full.subarray(0, 10));
    expect(await b.waitClosed(5000)).toBe(true);
    // A request truncated inside a bound connection (frag_length says 24, body needs more).
    const c = await bound();
    const req = request({ callId: 2, opnum: 0, stub: Buffer.alloc(0) }).subarray(0, 20);
    req.writeUInt16LE(20, 8);
    c.send(req);
    expect(await c.waitClosed()).toBe(true);
    expect(c.faults()[0]?.status).toBe(FaultStatus.NCA_S_PROTO_ERROR);
    await stillHealthy('truncated PDUs (bind body, header, request body)');
  });

  it('frag_length lies: shorter than a header, longer than what is sent, shorter than the body', async () => {
    const a = await Offender.connect(t.port);
    const p = bind({ callId: 1, contexts: [W] });
    p.writeUInt16LE(8, 8);
    a.send(p);
    expect(await a.waitClosed()).toBe(true);
    expect(a.faults()[0]?.ptype).toBe(PT.BIND_NAK);

    const b = await Offender.connect(t.port);
    const q = bind({ callId: 1, contexts: [W] });
    q.writeUInt16LE(0xffff, 8); // promises 64 KiB, sends 72 bytes, then waits
    b.send(q);
    expect(await b.waitClosed(5000)).toBe(true); // unbound idle limit

    const c = await bound();
    const r = request({ callId: 2, opnum: 0, stub: Buffer.alloc(8) });
    r.writeUInt16LE(r.length - 6, 8); // the rest of the body is read as the next PDU's header
    c.send(Buffer.concat([r, request({ callId: 3, opnum: 0, stub: Buffer.alloc(0) })]));
    expect(await c.waitClosed()).toBe(true);
    expect(c.faults().length).toBeGreaterThan(0);
    await stillHealthy('frag_length lies (short, long, inside body)');
  });

  it('fragment flood: a request reassembled past the size limit is faulted and closed', async () => {
    const o = await bound();
    const chunk = Buffer.alloc(5000, 0x41);
    o.send(request({ callId: 2, opnum: 1, stub: chunk, flags: FIRST, allocHint: 1000 }));
    let sent = 0;
    // 4 MiB limit: about 840 middle fragments of 5000 bytes; send up to 2000 or until closed.
    for (let i = 0; i < 2000 && !o.closed; i++) {
      o.send(request({ callId: 2, opnum: 1, stub: chunk, flags: 0 }));
      sent++;
      if (i % 100 === 0) await sleep(1);
    }
    expect(await o.waitClosed()).toBe(true);
    expect(o.faults().map((f) => f.status)).toContain(FaultStatus.ACCESS_DENIED);
    expect(sent).toBeGreaterThan(100);
    // Many first fragments (one per call id): one call is received at a time (MS-RPCE 3.3.3),
    // so the second is a protocol error and the connection closes.
    const p = await bound();
    for (let id = 10; id < 10 + 80; id++) p.send(request({ callId: id, opnum: 1, stub: Buffer.alloc(16), flags: FIRST, allocHint: 32 }));
    expect(await p.waitClosed()).toBe(true);
    expect(p.faults().map((f) => [f.callId, f.status])).toEqual([[10, FaultStatus.NCA_S_PROTO_ERROR]]);
    await stillHealthy(`fragment floods (${sent} fragments of 5000 B; 80 open first fragments)`);
  });

  it('4 GiB alloc_hint: refused on a first fragment, ignored on a whole request', async () => {
    const o = await bound();
    o.send(request({ callId: 2, opnum: 1, stub: Buffer.alloc(64), flags: FIRST, allocHint: 0xffffffff }));
    expect(await o.waitClosed()).toBe(true);
    expect(o.faults()[0]?.status).toBe(FaultStatus.ACCESS_DENIED);
    const rss = process.memoryUsage().rss;
    const p = await bound();
    p.send(request({ callId: 2, opnum: Witness_OPNUMS.WitnessrGetInterfaceList, stub: encodeWitnessrGetInterfaceListIn({}), allocHint: 0xffffffff }));
    expect(await p.until(() => p.answers.length > 0)).toBe(true);
    expect(p.answers[0].ptype).toBe(PT.RESPONSE);
    expect(process.memoryUsage().rss - rss).toBeLessThan(256 * 1024 * 1024);
    p.destroy();
    await stillHealthy('4 GiB alloc_hint (first fragment; single fragment)');
  });

  it('binds with 1,000 contexts: one new context per interface and PDU is accepted, the rest refused, and it works', async () => {
    // n_context_elem is one byte: 1,000 contexts take a bind of 250 and three alter_contexts.
    const many = (from: number): CtxSpec[] => Array.from({ length: 250 }, (_, i) => ({ id: from + i, abstract: Witness_SYNTAX, transfers: [NDR] }));
    const o = await Offender.connect(t.port);
    o.send(bind({ callId: 1, contexts: many(0) }));
    for (let k = 1; k < 4; k++) o.send(alter({ callId: 1 + k, contexts: many(k * 250) }));
    expect(await o.until(() => o.answers.length >= 4)).toBe(true);
    expect(o.answers.map((a) => a.ptype)).toEqual([PT.BIND_ACK, PT.ALTER_RESP, PT.ALTER_RESP, PT.ALTER_RESP]);
    // Accepted contexts (result 0) over all four answers; each result is 24 bytes after the header.
    let accepted = 0;
    for (const a of o.answers) {
      const secLen = a.raw.readUInt16LE(24);
      let off = 26 + secLen;
      off += (4 - (off % 4)) % 4;
      const n = a.raw[off];
      for (let i = 0; i < n; i++) if (a.raw.readUInt16LE(off + 4 + 24 * i) === 0) accepted++;
    }
    // Windows and Samba accept the first new context per interface in a PDU (the per-connection
    // limit is tested in raw-limits.test.ts).
    expect(accepted).toBe(4);
    // Context 0 was accepted: a call on it is answered; a refused one (999) is unknown.
    o.answers.length = 0;
    o.send(request({ callId: 9, contextId: 0, opnum: 0, stub: Buffer.alloc(0) }));
    o.send(request({ callId: 10, contextId: 999, opnum: 0, stub: Buffer.alloc(0) }));
    expect(await o.until(() => o.answers.length >= 2)).toBe(true);
    expect(o.answers.find((a) => a.callId === 9)?.ptype).toBe(PT.RESPONSE);
    expect(o.answers.find((a) => a.callId === 10)?.status).toBe(FaultStatus.NCA_S_UNKNOWN_IF);
    o.destroy();
    await stillHealthy('1,000 presentation contexts (bind + 3 alter_context)');
  });

  it('a client that never reads its answers is cut off at the output queue limit; an oversized fragment is refused', async () => {
    const o = await bound();
    o.socket.pause(); // never read: the answers pile up on the server side
    const one = request({ callId: 0, opnum: Witness_OPNUMS.WitnessrGetInterfaceList, stub: encodeWitnessrGetInterfaceListIn({}) });
    let sent = 0;
    for (let i = 0; i < 200 && !o.closed; i++) {
      const burst: Buffer[] = [];
      for (let k = 0; k < 500; k++) {
        const p = Buffer.from(one);
        p.writeUInt32LE(10 + sent++, 12);
        burst.push(p);
      }
      o.send(Buffer.concat(burst));
      await sleep(5);
    }
    expect(await o.waitClosed(10_000)).toBe(true);
    expect(t.logs.some((l) => l.includes('does not read its responses'))).toBe(true);
    const big = await bound();
    big.send(request({ callId: 2, opnum: 0, stub: Buffer.alloc(60_000) }));
    expect(await big.waitClosed()).toBe(true);
    expect(big.faults()[0]?.status).toBe(FaultStatus.NCA_S_PROTO_ERROR);
    await stillHealthy(`a non-reading client (${sent} requests), a 60 kB fragment`);
  }, 30_000);

  it('calls on unknown contexts: nca_s_unknown_if, and the connection stays usable', async () => {
    const o = await bound();
    for (let i = 0; i < 100; i++) o.send(request({ callId: 100 + i, contextId: 1 + i, opnum: 0, stub: Buffer.alloc(0) }));
    expect(await o.until(() => o.answers.length >= 100)).toBe(true);
    expect(new Set(o.answers.map((a) => a.status))).toEqual(new Set([FaultStatus.NCA_S_UNKNOWN_IF]));
    o.send(request({ callId: 500, contextId: 0, opnum: 0, stub: Buffer.alloc(0) }));
    expect(await o.until(() => o.answers.some((a) => a.callId === 500))).toBe(true);
    expect(o.answers.find((a) => a.callId === 500)?.ptype).toBe(PT.RESPONSE);
    expect(o.closed).toBe(false);
    o.destroy();
    await stillHealthy('100 calls on unknown contexts');
  });

  it('auth3 without bind, and auth3 on a connection that never authenticated', async () => {
    const a = await Offender.connect(t.port);
    a.send(auth3({ callId: 1, auth: { type: 10, level: 6, contextId: 1, token: randomBytes(64) } }));
    expect(await a.waitClosed()).toBe(true);
    expect(a.faults()[0]?.ptype).toBe(PT.BIND_NAK);
    const b = await bound();
    b.send(auth3({ callId: 2, auth: { type: 10, level: 6, contextId: 1, token: randomBytes(64) } }));
    expect(await b.waitClosed()).toBe(true);
    expect(b.faults()[0]?.status).toBe(FaultStatus.NCA_S_PROTO_ERROR);
    // Other PDU types a server never takes from a client.
    for (const pt of [PT.RESPONSE, PT.FAULT, PT.BIND_ACK, PT.SHUTDOWN, 99]) {
      const c = await bound();
      c.send(simple(pt, 3));
      expect(await c.waitClosed()).toBe(true);
    }
    await stillHealthy('auth3 without bind / without auth; 5 server-only PDU types');
  });

  it('slow-loris: one byte a second is closed by the unbound idle limit', async () => {
    const o = await Offender.connect(t.port);
    const p = bind({ callId: 1, contexts: [W] });
    const t0 = Date.now();
    for (let i = 0; i < p.length && !o.closed && Date.now() - t0 < 6000; i++) {
      o.send(p.subarray(i, i + 1));
      await o.until(() => o.closed, 1000);
    }
    expect(o.closed).toBe(true);
    expect(Date.now() - t0).toBeLessThan(6000);
    expect(o.answers.filter((a) => a.ptype === PT.BIND_ACK)).toEqual([]);
    await stillHealthy('slow-loris (1 byte/s, idle limit 1.5 s)');
  }, 15_000);

  it('slow-loris after bind: a request trickled one byte a second is closed by the partial-PDU limit', async () => {
    const o = await bound();
    const p = request({ callId: 2, opnum: 0, stub: Buffer.alloc(64) });
    const t0 = Date.now();
    for (let i = 0; i < p.length && !o.closed && Date.now() - t0 < 8000; i++) {
      o.send(p.subarray(i, i + 1));
      await o.until(() => o.closed, 1000);
    }
    expect(o.closed).toBe(true);
    expect(o.answers.filter((a) => a.ptype === PT.RESPONSE)).toEqual([]);
    expect(t.logs.some((l) => l.includes('PDU never completed'))).toBe(true);
    await stillHealthy('slow-loris after bind (1 byte/s, partial-PDU limit 2 s)');
  }, 15_000);

  it('10,000 registrations from one client: the per-client limit refuses the excess and logs it', async () => {
    const o = await bound();
    const limit = t.d.config.limits.maxRegistrationsPerClient;
    const results: number[] = [];
    // Pipelined in windows below the pending-call limit.
    for (let base = 0; base < 10_000; base += 50) {
      const before = o.answers.length;
      for (let i = 0; i < 50; i++) o.send(request({ callId: 1000 + base + i, opnum: Witness_OPNUMS.WitnessrRegister, stub: REG_STUB(`OFFENDER-${base + i}`) }));
      expect(await o.until(() => o.answers.length >= before + 50, 10_000)).toBe(true);
    }
    for (const a of o.answers) {
      expect(a.ptype).toBe(PT.RESPONSE);
      results.push(decodeWitnessrRegisterOut(a.raw.subarray(24)).ReturnValue);
    }
    expect(results.length).toBe(10_000);
    expect(results.filter((r) => r === 0).length).toBe(limit);
    expect(results.filter((r) => r === 0x5aa).length).toBe(10_000 - limit);
    expect(t.d.witness.service.counts().registrations).toBe(limit);
    expect(t.logs.some((l) => l.includes('per-client limit reached'))).toBe(true);
    await stillHealthy(`10,000 registrations from one client (limit ${limit})`);
    // A healthy client registers while the offender still holds its registrations.
    o.destroy();
    await o.until(() => t.d.witness.service.counts().registrations === 0);
    expect(t.d.witness.service.counts().registrations).toBe(0);
  }, 60_000);

  it('pending calls per connection: AsyncNotify calls past the limit get server_too_busy', async () => {
    const o = await bound();
    // 12 registrations (a registration takes at most 8 waiting AsyncNotify calls).
    for (let i = 0; i < 12; i++) o.send(request({ callId: 2 + i, opnum: Witness_OPNUMS.WitnessrRegister, stub: REG_STUB(`PENDER-${i}`) }));
    expect(await o.until(() => o.answers.length >= 12)).toBe(true);
    const handles = o.answers.map((a) => decodeWitnessrRegisterOut(a.raw.subarray(24)).ppContext);
    o.answers.length = 0;
    const limit = t.d.config.limits.maxPendingCallsPerConnection;
    // AsyncNotify stays pending (V1, nothing to report): the limit is reached and the rest refused.
    for (let i = 0; i < limit + 20; i++) o.send(request({ callId: 100 + i, opnum: Witness_OPNUMS.WitnessrAsyncNotify, stub: encodeWitnessrAsyncNotifyIn({ pContext: handles[i % 12] }) }));
    expect(await o.until(() => o.answers.length >= 20)).toBe(true);
    await sleep(100);
    const busy = o.answers.filter((a) => a.status === FaultStatus.NCA_S_SERVER_TOO_BUSY).length;
    expect(busy).toBe(20 + 0);
    expect(t.logs.some((l) => l.includes('pending call limit reached'))).toBe(true);
    o.destroy();
    await stillHealthy(`${limit + 20} pending AsyncNotify on one connection (limit ${limit})`);
  });
});
