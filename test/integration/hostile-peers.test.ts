/**
 * The hostile-peer findings of issue 23, each as an attack on an in-process witnessd on
 * loopback with its bound asserted: client strings (a 4 MB IpAddress), KeepAliveTimeout
 * 0xFFFFFFFF, log flooding, CSRF / DNS rebinding on the admin API, one host taking every
 * registration slot, connections held by waiting AsyncNotify calls, junk opnums in the metrics.
 * The figures against a separate witnessd process (RSS, latency) are in hostile-figures.test.ts.
 */
import http from 'node:http';
import {
  Witness_SYNTAX, Witness_OPNUMS, decodeWitnessrRegisterOut, encodeWitnessrAsyncNotifyIn, encodeWitnessrRegisterIn,
} from '../../src/gen/witness';
import { EPM_SYNTAX } from '../../src/rpc/epm/endpoint-mapper';
import { RpcClient } from '../../src/client/rpc-client';
import { WITNESS_SYNTAX, witnessCalls } from '../../src/client/witness-calls';
import { WERR } from '../../src/witness/constants';
import { PEER_LINES_PER_SECOND } from '../../src/lib/log-limit';
import { bind, fragmentedRequest, request, NDR, PT, type CtxSpec } from './rpc/helpers/pdu-builder';
import { Offender, healthyCall, startHostileTarget, sleep, type Running } from './hostile-helpers';

jest.setTimeout(60_000);

const W: CtxSpec = { id: 0, abstract: Witness_SYNTAX, transfers: [NDR] };
const V2 = 0x00020000;

/** A raw connection from `localAddress`, bound to the Witness interface. */
async function boundFrom(port: number, localAddress?: string): Promise<Offender> {
  const o = await Offender.connectFrom(port, localAddress);
  o.send(bind({ callId: 1, contexts: [W] }));
  if (!(await o.until(() => o.answers.length > 0))) throw new Error('no bind_ack');
  return o;
}

function post(url: string, headers: Record<string, string>, body = ''): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    }).on('error', reject);
  });
}

describe('client strings and keep-alive (findings 1, 2)', () => {
  let t: Running;
  beforeAll(async () => { t = await startHostileTarget(); });
  afterAll(async () => { await t.d.close(); });

  it('a 4 MB IpAddress ("\\n" x 2,000,000 + a LIF address) is refused with 0x139F: nothing stored, the log line cut short', async () => {
    const c = await RpcClient.connect({ host: '127.0.0.11', port: t.port });
    const logBytes = () => t.logs.reduce((n, l) => n + l.length, 0);
    const before = logBytes();
    try {
      await c.bind(WITNESS_SYNTAX);
      for (let i = 0; i < 4; i++) {
        const r = await witnessCalls.registerEx(c, { version: V2, netName: 'SOFS', shareName: 'vmstore', ipAddress: `${'\n'.repeat(2_000_000)}127.0.0.11`, clientName: `big${i}`, flags: 0, keepAliveTimeout: 120 }, { timeoutMs: 20_000 });
        expect(r.result).toBe(WERR.INVALID_STATE);
      }
    } finally {
      await c.close();
    }
    expect(t.d.witness.service.registry.size).toBe(0);
    // Four refusals: a few hundred bytes of log each, not 4 MB.
    expect(logBytes() - before).toBeLessThan(4 * 2048);
    expect(t.logs.some((l) => l.includes('IpAddress of 2000010 characters'))).toBe(true);
  });

  it('KeepAliveTimeout 0xFFFFFFFF is capped at timeouts.keepAliveMaxSeconds (3600 s): the call waits, no timer fires every 1 ms', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const c = await RpcClient.connect({ host: '127.0.0.11', port: t.port });
    try {
      await c.bind(WITNESS_SYNTAX);
      const r = await witnessCalls.registerEx(c, { version: V2, netName: 'SOFS', ipAddress: '127.0.0.11', clientName: 'forever', flags: 0, keepAliveTimeout: 0xffffffff });
      expect(r.result).toBe(WERR.OK);
      expect(t.d.witness.service.list({ clientName: 'forever' })[0].keepAliveTimeout).toBe(3600);
      const waiting = witnessCalls.asyncNotify(c, r.handle!, { timeoutMs: 10_000 }).catch(() => undefined);
      await sleep(1500);
      expect(t.d.witness.service.counts().pendingAsyncNotify).toBe(1);
      expect(warnings).not.toContain('TimeoutOverflowWarning');
      await c.close();
      await waiting;
    } finally {
      process.off('warning', onWarning);
      await c.close();
    }
  });
});

describe('log flooding (finding 3)', () => {
  it('one unauthenticated connection calling 20,000 times below the minimum level writes at most the limiter\'s budget of lines', async () => {
    const t = await startHostileTarget({}, (c) => ({ ...c, auth: { ...c.auth, allowAnonymous: false, minimumLevel: 'integrity' } }));
    try {
      const o = await boundFrom(t.port);
      const before = t.logs.length;
      const t0 = Date.now();
      const stub = encodeWitnessrRegisterIn({ Version: 0x10001, NetName: 'SOFS', IpAddress: '127.0.0.11', ClientComputerName: 'flood' });
      const N = 20_000;
      for (let i = 0; i < N; i += 500) {
        o.send(Buffer.concat(Array.from({ length: 500 }, (_, k) => request({ callId: 10 + i + k, opnum: Witness_OPNUMS.WitnessrRegister, stub }))));
        await sleep(5);
      }
      expect(await o.until(() => o.answers.length >= N, 30_000)).toBe(true);
      expect(o.answers.slice(1).every((a) => a.ptype === PT.FAULT && a.status === 5)).toBe(true);
      const seconds = Math.ceil((Date.now() - t0) / 1000) + 1;
      const lines = t.logs.slice(before).filter((l) => l.includes('call below the minimum auth level'));
      process.stdout.write(`log flood: ${N} calls below the minimum level in ${((Date.now() - t0) / 1000).toFixed(1)} s wrote ${lines.length} lines (bound ${PEER_LINES_PER_SECOND}/s)\n`);
      expect(lines.length).toBeLessThanOrEqual(PEER_LINES_PER_SECOND * seconds);
      expect(lines.length).toBeGreaterThan(0);
      // A later line says how many were left out.
      await sleep(1100);
      o.send(request({ callId: 99_999, opnum: Witness_OPNUMS.WitnessrRegister, stub }));
      expect(await o.until(() => t.logs.some((l) => l.includes('call below the minimum auth level') && l.includes('"suppressed"')))).toBe(true);
      o.destroy();
    } finally {
      await t.d.close();
    }
  });
});

describe('the admin API against a browser (finding 4)', () => {
  let t: Running;
  beforeAll(async () => { t = await startHostileTarget(); });
  afterAll(async () => { await t.d.close(); });

  it('a cross-origin POST (a page on another loopback address), a form POST and a DNS-rebound Host are refused; the node stays up', async () => {
    const url = t.d.admin.url;
    const host = new URL(url).host;
    const fromPage = await post(`${url}/v1/nodes/node1/fail`, { origin: 'http://127.0.0.2:8000', 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' }, '{}');
    expect(fromPage.status).toBe(403);
    const form = await post(`${url}/v1/nodes/node1/fail`, { 'content-type': 'text/plain' }, '{}');
    expect(form.status).toBe(415);
    const formUrlencoded = await post(`${url}/v1/nodes/node1/fail`, { 'content-type': 'application/x-www-form-urlencoded' }, 'a=1');
    expect(formUrlencoded.status).toBe(415);
    const rebound = await post(`${url}/v1/nodes/node1/fail`, { host: `evil.example:${new URL(url).port}`, 'content-type': 'application/json' }, '{}');
    expect(rebound.status).toBe(421);
    expect((await get(`${url}/v1/status`, { host: `evil.example:${new URL(url).port}` })).status).toBe(421);
    expect(t.d.model.node('node1')?.up).toBe(true);
    expect(t.logs.some((l) => l.includes('admin API request refused') && l.includes('127.0.0.1'))).toBe(true);
    // Scripts (no Origin, JSON or no body), a same-origin page and localhost work; the change is logged with who asked.
    expect((await get(`${url}/v1/status`, { host: `localhost:${new URL(url).port}` })).status).toBe(200);
    const ok = await post(`${url}/v1/nodes/node1/fail`, { origin: `http://${host}`, 'content-type': 'application/json' }, '');
    expect(ok.status).toBe(200);
    expect(t.d.model.node('node1')?.up).toBe(false);
    const line = t.logs.find((l) => l.includes('admin: node fail node1'));
    expect(line).toMatch(/"remote":"127\.0\.0\.1:\d+"/);
    expect((await post(`${url}/v1/nodes/node1/recover`, {})).status).toBe(200);
    // GET / sends a browser to the status page.
    const root = await new Promise<http.IncomingMessage>((r) => http.get(`${url}/`, r));
    expect([root.statusCode, root.headers.location]).toEqual([302, '/status']);
    root.resume();
  });

  it('GET /v1/registrations answers one page at a time (limit, offset, total, nextOffset)', async () => {
    const c = await RpcClient.connect({ host: '127.0.0.11', port: t.port });
    try {
      await c.bind(WITNESS_SYNTAX);
      for (let i = 0; i < 5; i++) expect((await witnessCalls.register(c, { version: 0x10001, netName: 'SOFS', ipAddress: '127.0.0.11', clientName: `page${i}` })).result).toBe(WERR.OK);
      const p1 = JSON.parse((await get(`${t.d.admin.url}/v1/registrations?limit=2`)).text);
      expect(p1).toMatchObject({ total: 5, offset: 0, nextOffset: 2 });
      expect(p1.registrations.map((r: { clientName: string }) => r.clientName)).toEqual(['page0', 'page1']);
      const p3 = JSON.parse((await get(`${t.d.admin.url}/v1/registrations?limit=2&offset=4`)).text);
      expect(p3.registrations.map((r: { clientName: string }) => r.clientName)).toEqual(['page4']);
      expect(p3.nextOffset).toBeUndefined();
      expect((await get(`${t.d.admin.url}/v1/registrations?limit=100000`)).status).toBe(400);
    } finally {
      await c.close();
    }
  });
});

describe('registration slots and connection slots (findings 5, 6)', () => {
  it('one address fills 90 % of maxRegistrations and is then refused; another host still registers', async () => {
    const t = await startHostileTarget({ witnessOptions: { maxRegistrations: 40, maxRegistrationsPerSource: 4 } });
    try {
      const stub = (n: string) => encodeWitnessrRegisterIn({ Version: 0x10001, NetName: 'SOFS', IpAddress: '127.0.0.11', ClientComputerName: n });
      const results = async (o: Offender, names: string[]) => {
        const first = o.answers.length;
        names.forEach((n, i) => o.send(request({ callId: 100 + first + i, opnum: Witness_OPNUMS.WitnessrRegister, stub: stub(n) })));
        await o.until(() => o.answers.length >= first + names.length);
        return o.answers.slice(first).map((a) => a.raw.readUInt32LE(a.raw.length - 4));
      };
      const hostile = await boundFrom(t.port, '127.0.0.1');
      const r = await results(hostile, Array.from({ length: 40 }, (_, i) => `hostile${i}`));
      expect(r.filter((x) => x === 0)).toHaveLength(36);
      expect(r.slice(36).every((x) => x === WERR.NO_SYSTEM_RESOURCES)).toBe(true);
      const other = await boundFrom(t.port, '127.0.0.3');
      expect(await results(other, ['legit'])).toEqual([0]);
      expect(t.d.witness.service.list({ clientName: 'legit' })[0].remoteAddress).toBe('127.0.0.3');
      hostile.destroy();
      other.destroy();
    } finally {
      await t.d.close();
    }
  });

  it('connections each holding an AsyncNotify do not lock out the endpoint mapper or a new client from another address', async () => {
    const LIMIT = 40;
    const t = await startHostileTarget({ rpcLimits: { maxConnections: LIMIT, idleEvictMs: 60_000 } });
    const held: Offender[] = [];
    try {
      // One address holds every connection the witness port may have, each with a V1 AsyncNotify waiting.
      for (let i = 0; i < LIMIT; i++) {
        const o = await Offender.connectFrom(t.port, '127.0.0.4').catch(() => undefined);
        if (!o) break;
        o.send(bind({ callId: 1, contexts: [W] }));
        o.send(request({ callId: 2, opnum: Witness_OPNUMS.WitnessrRegister, stub: encodeWitnessrRegisterIn({ Version: 0x10001, NetName: 'SOFS', IpAddress: '127.0.0.11', ClientComputerName: `holder${i}` }) }));
        held.push(o);
      }
      await held[held.length - 1].until(() => held.filter((o) => !o.closed).every((o) => o.answers.length >= 2), 10_000);
      for (const o of held.filter((x) => !x.closed && x.answers.length >= 2)) {
        const handle = decodeWitnessrRegisterOut(o.answers[1].raw.subarray(24)).ppContext;
        o.send(request({ callId: 3, opnum: Witness_OPNUMS.WitnessrAsyncNotify, stub: encodeWitnessrAsyncNotifyIn({ pContext: handle }) }));
      }
      await sleep(300);
      expect(t.d.witness.service.counts().pendingAsyncNotify).toBeGreaterThanOrEqual(LIMIT - 16 - 1);
      // The endpoint mapper still has its reserved room.
      const epm = await Offender.connect(t.d.epmEndpoint!.port, '127.0.0.11');
      epm.send(bind({ callId: 1, contexts: [{ id: 0, abstract: EPM_SYNTAX, transfers: [NDR] }] }));
      expect(await epm.until(() => epm.answers.length > 0)).toBe(true);
      expect(epm.answers[0].ptype).toBe(PT.BIND_ACK);
      epm.destroy();
      // A new client from another address gets in: the address holding the most pays.
      const ms = await healthyCall(t.port);
      expect(ms).toBeGreaterThan(0);
      expect(held.some((o) => o.closed)).toBe(true);
      expect(t.logs.some((l) => l.includes('closing a connection to admit a new one') && l.includes('"pendingCalls":1'))).toBe(true);
    } finally {
      for (const o of held) o.destroy();
      await t.d.close();
    }
  });
});

describe('junk opnums and dripped PDUs (finding 8)', () => {
  let t: Running;
  beforeAll(async () => { t = await startHostileTarget(); });
  afterAll(async () => { await t.d.close(); });

  it('12,000 distinct junk opnums add one metrics series, and a real call still gets its own', async () => {
    const o = await boundFrom(t.port);
    for (let i = 0; i < 12_000; i += 1000) {
      o.send(Buffer.concat(Array.from({ length: 1000 }, (_, k) => request({ callId: 10 + i + k, opnum: 6 + i + k, stub: Buffer.alloc(0) }))));
      await sleep(5);
    }
    expect(await o.until(() => o.answers.length >= 12_001, 30_000)).toBe(true);
    o.destroy();
    await healthyCall(t.port);
    const metrics = (await get(`${t.d.admin.url}/metrics`)).text;
    const series = metrics.split('\n').filter((l) => l.startsWith('witnessd_rpc_calls_total{'));
    expect(series.length).toBeLessThanOrEqual(10);
    expect(series.some((l) => l.includes('opnum="unknown"') && / 12000$/.test(l))).toBe(true);
    expect(series.some((l) => l.includes('opnum="0"'))).toBe(true);
    expect(metrics.length).toBeLessThan(64 * 1024);
  });

  it('a request dripped in 64-byte pieces is answered whole', async () => {
    const o = await boundFrom(t.port);
    const frags = fragmentedRequest({ callId: 5, opnum: Witness_OPNUMS.WitnessrGetInterfaceList, stub: Buffer.alloc(0), chunk: 4000 });
    const wire = Buffer.concat(frags);
    for (let i = 0; i < wire.length; i += 64) {
      o.send(wire.subarray(i, i + 64));
      await sleep(1);
    }
    expect(await o.until(() => o.answers.some((a) => a.callId === 5))).toBe(true);
    expect(o.answers.find((a) => a.callId === 5)?.ptype).toBe(PT.RESPONSE);
    o.destroy();
  });
});

describe('reassembly over all connections (bounded RSS)', () => {
  it('past maxReassemblyTotal a connection reassembling is refused and closed; bytes are released when a call is whole or its connection goes', async () => {
    const t = await startHostileTarget({ rpcLimits: { maxRequestSize: 16_000, maxReassemblyTotal: 20_000 } });
    try {
      const part = (callId: number, flags: number) => request({ callId, opnum: Witness_OPNUMS.WitnessrGetInterfaceList, stub: Buffer.alloc(4000), flags, allocHint: 12_000 });
      const a = await boundFrom(t.port);
      const b = await boundFrom(t.port);
      a.send(Buffer.concat([part(2, 1), part(2, 0), part(2, 0)])); // 12,000 bytes held, no last fragment
      await sleep(200);
      b.send(Buffer.concat([part(2, 1), part(2, 0), part(2, 0)])); // 12,000 more: over 20,000 in all
      expect(await b.waitClosed()).toBe(true);
      expect(b.answers.some((x) => x.ptype === PT.FAULT)).toBe(true);
      expect(a.closed).toBe(false);
      a.destroy(); // its 12,000 bytes leave the total
      await sleep(200);
      const c = await boundFrom(t.port);
      c.send(Buffer.concat([part(3, 1), part(3, 0), part(3, 2)]));
      expect(await c.until(() => c.answers.some((x) => x.callId === 3))).toBe(true);
      expect(c.answers.find((x) => x.callId === 3)?.ptype).toBe(PT.RESPONSE);
      expect(c.closed).toBe(false);
      c.destroy();
    } finally {
      await t.d.close();
    }
  });
});
