/**
 * The Witness service on loopback: RpcServer + endpoint mapper + model + service + admin API
 * (scripts/drill-witnessd.ts), driven by our client library over real sockets.
 */
import { RpcClient } from '../../../src/client/rpc-client';
import { epmMapTcpPort } from '../../../src/client/epm';
import { WITNESS_SYNTAX, witnessCalls, type ContextHandle } from '../../../src/client/witness-calls';
import { WitnessClient } from '../../../src/client/witness-client';
import { WERR } from '../../../src/witness/constants';
import {
  CLIENT_MOVE_NOTIFICATION,
  IP_CHANGE_NOTIFICATION,
  RESOURCE_CHANGE_NOTIFICATION,
} from '../../../src/gen/witness';
import { SCENARIOS, formatReport, runScenario } from '../../../scripts/drill';
import { remoteTarget } from '../../../scripts/drill-target';
import { startTestWitnessd, type TestWitnessd } from '../../../scripts/drill-witnessd';
import { demoConfig } from '../../../src/config';

// Bounded, but generous: the machine is shared and sometimes very loaded.
jest.setTimeout(30_000);

const V1 = 0x00010001;
const V2 = 0x00020000;

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('Witness service over DCE/RPC on loopback', () => {
  let d: TestWitnessd;
  const open: RpcClient[] = [];
  const connect = async (host = '127.0.0.12'): Promise<RpcClient> => {
    const c = await RpcClient.connect({ host, port: d.witnessPort });
    await c.bind(WITNESS_SYNTAX);
    open.push(c);
    return c;
  };
  const registerV2 = async (c: RpcClient, keepAliveTimeout = 120, extra: { shareName?: string; flags?: number } = {}): Promise<ContextHandle> => {
    const r = await witnessCalls.registerEx(c, { version: V2, netName: 'SOFS', ipAddress: '127.0.0.11', clientName: 'it', flags: extra.flags ?? 0, keepAliveTimeout, shareName: extra.shareName });
    expect(r.result).toBe(0);
    return r.handle as ContextHandle;
  };
  const registerV1 = async (c: RpcClient, ip = '127.0.0.11'): Promise<ContextHandle> => {
    const r = await witnessCalls.register(c, { version: V1, netName: 'sofs.demo.local', ipAddress: ip, clientName: 'it' });
    expect(r.result).toBe(0);
    return r.handle as ContextHandle;
  };

  beforeAll(async () => {
    d = await startTestWitnessd({ witnessOptions: { unusedTimeoutMs: 400, sweepIntervalMs: 100 } });
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
    d.witness.service.unregister({});
    // Put the demo back in its initial state.
    const node1 = d.model.node('node1');
    if (node1 && !node1.up && !node1.takenOver) d.model.recoverNode('node1');
    if (node1?.takenOver) d.model.giveback('node1');
  });
  afterAll(async () => {
    await d.close();
  });

  test('the endpoint mapper maps the witness interface; GetInterfaceList flags the partner LIF', async () => {
    expect(await epmMapTcpPort('127.0.0.11', WITNESS_SYNTAX, { port: d.epmPort })).toBe(d.witnessPort);
    const c = await connect('127.0.0.11');
    const r = await witnessCalls.getInterfaceList(c);
    expect(r.result).toBe(0);
    expect(r.interfaces).toEqual([
      { groupName: 'node1', version: V2, state: 1, flags: 0x1, ipv4: '127.0.0.11' },
      { groupName: 'node2', version: V2, state: 1, flags: 0x5, ipv4: '127.0.0.12' },
    ]);
  });

  test('Register / UnRegister / UnRegisterEx (opnum 5) over the wire', async () => {
    const c = await connect();
    const h = await registerV1(c);
    expect(h.attributes).toBe(0);
    expect(await witnessCalls.unRegister(c, h)).toBe(WERR.OK);
    expect(await witnessCalls.unRegister(c, h)).toBe(WERR.INVALID_PARAMETER);
    const h2 = await registerV2(c);
    const ex = await witnessCalls.unRegisterEx(c, h2);
    expect(ex).toEqual({ result: WERR.OK, handle: { attributes: 0, uuid: '00000000-0000-0000-0000-000000000000' } });
    expect((await witnessCalls.unRegisterEx(c, h2)).result).toBe(WERR.INVALID_PARAMETER);
    const bad = await witnessCalls.registerEx(c, { version: V2, netName: 'SOFS', shareName: 'any_invalid_share_name', ipAddress: '127.0.0.11', clientName: 'x', flags: 0, keepAliveTimeout: 0 });
    expect(bad).toEqual({ result: WERR.INVALID_STATE });
  });

  test('keep-alive: t = 1 s ends the call with ERROR_TIMEOUT; t = 0 at once', async () => {
    const c = await connect();
    const h1 = await registerV2(c, 1);
    const t0 = Date.now();
    expect(await witnessCalls.asyncNotify(c, h1, { timeoutMs: 5000 })).toEqual({ result: WERR.TIMEOUT });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    const h0 = await registerV2(c, 0);
    expect(await witnessCalls.asyncNotify(c, h0, { timeoutMs: 2000 })).toEqual({ result: WERR.TIMEOUT });
  });

  test('unused sweep: a V2 registration with no AsyncNotify disappears; its handle then gives 0x490', async () => {
    const c = await connect();
    const h = await registerV2(c, 120);
    await until(() => d.witness.service.counts().registrations === 0, 3000);
    expect(await witnessCalls.asyncNotify(c, h, { timeoutMs: 2000 })).toEqual({ result: WERR.NOT_FOUND });
  });

  test('association teardown: closing the connection removes its registrations and pending calls', async () => {
    const c = await connect();
    const h = await registerV1(c);
    const pending = witnessCalls.asyncNotify(c, h).catch((e: Error) => e);
    await until(() => d.witness.service.counts().pendingAsyncNotify === 1);
    c.destroy();
    expect(await pending).toBeInstanceOf(Error);
    await until(() => d.witness.service.counts().registrations === 0 && d.witness.service.counts().pendingAsyncNotify === 0);
  });

  test('a handle is unknown on another association group', async () => {
    const a = await connect();
    const b = await connect();
    const h = await registerV1(a);
    expect(await witnessCalls.unRegister(b, h)).toBe(WERR.INVALID_PARAMETER);
    expect(await witnessCalls.asyncNotify(b, h, { timeoutMs: 2000 })).toEqual({ result: WERR.NOT_FOUND });
    expect(await witnessCalls.unRegister(a, h)).toBe(WERR.OK);
  });

  test('queueing while no call is pending: the next AsyncNotify answers at once', async () => {
    const c = await connect();
    const h = await registerV1(c);
    d.model.failNode('node1');
    expect(await witnessCalls.asyncNotify(c, h, { timeoutMs: 2000 })).toEqual({
      result: 0,
      response: { type: RESOURCE_CHANGE_NOTIFICATION, changes: [{ changeType: 0xff, name: 'sofs.demo.local' }] },
    });
  });

  test('two AsyncNotify calls on one handle: FIFO; other calls proceed while they wait', async () => {
    const c = await connect();
    const h = await registerV1(c);
    const first = witnessCalls.asyncNotify(c, h);
    const second = witnessCalls.asyncNotify(c, h);
    await until(() => d.witness.service.counts().pendingAsyncNotify === 2);
    expect((await witnessCalls.getInterfaceList(c)).result).toBe(0);
    d.model.failNode('node1');
    expect((await first).response).toMatchObject({ type: RESOURCE_CHANGE_NOTIFICATION, changes: [{ changeType: 0xff }] });
    expect(d.witness.service.counts().pendingAsyncNotify).toBe(1);
    d.model.recoverNode('node1');
    expect((await second).response).toMatchObject({ type: RESOURCE_CHANGE_NOTIFICATION, changes: [{ changeType: 0x01 }] });
  });

  test('UnRegister while AsyncNotify is pending: the pending call gets 0x490, UnRegister 0', async () => {
    const c = await connect();
    const h = await registerV1(c);
    const pending = witnessCalls.asyncNotify(c, h);
    await until(() => d.witness.service.counts().pendingAsyncNotify === 1);
    expect(await witnessCalls.unRegister(c, h)).toBe(WERR.OK);
    expect(await pending).toEqual({ result: WERR.NOT_FOUND });
  });

  test('a cancelled AsyncNotify (co_cancel) leaves no waiter behind', async () => {
    const c = await connect();
    const h = await registerV1(c);
    const ac = new AbortController();
    const p = witnessCalls.asyncNotify(c, h, { signal: ac.signal }).catch((e: Error) => e);
    await until(() => d.witness.service.counts().pendingAsyncNotify === 1);
    ac.abort();
    expect(await p).toBeInstanceOf(Error);
    await until(() => d.witness.service.counts().pendingAsyncNotify === 0);
    expect(d.witness.service.counts().registrations).toBe(1);
  });

  test('IP change and client move reach the right registrations', async () => {
    const c = await connect();
    const ipAsked = await registerV2(c, 120, { flags: 1 });
    const plain = await registerV1(c);
    d.model.clientMove('it', 'node2');
    expect((await witnessCalls.asyncNotify(c, plain, { timeoutMs: 2000 })).response).toEqual({ type: CLIENT_MOVE_NOTIFICATION, addresses: [{ flags: 0x9, ipv4: '127.0.0.12' }] });
    expect((await witnessCalls.asyncNotify(c, ipAsked, { timeoutMs: 2000 })).response?.type).toBe(CLIENT_MOVE_NOTIFICATION);
    d.model.changeLifAddress('lif1', { ipv6: 'fd00::11' });
    try {
      expect((await witnessCalls.asyncNotify(c, ipAsked, { timeoutMs: 2000 })).response).toEqual({
        type: IP_CHANGE_NOTIFICATION,
        addresses: [{ flags: 0x1, ipv4: '127.0.0.11' }, { flags: 0x2, ipv6: 'fd00::11' }],
      });
    } finally {
      d.model.changeLifAddress('lif1', { ipv6: null });
    }
  });

  test('WitnessClient: keeps calling after ERROR_TIMEOUT, re-registers after a force unregister', async () => {
    const wc = new WitnessClient({ server: '127.0.0.11', netName: 'SOFS', clientName: 'wc', keepAliveTimeout: 1, epmPort: d.epmPort, retryDelayMs: 50 });
    const reg = await wc.start(5000);
    expect(reg.witnessAddress).toBe('127.0.0.12');
    try {
      await new Promise((r) => setTimeout(r, 2300)); // two keep-alive rounds
      expect(wc.registrations).toBe(1);
      const first = reg.handle;
      d.witness.service.unregister({ id: first });
      await until(() => wc.registrations === 2 && d.witness.service.counts().pendingAsyncNotify === 1);
      expect(wc.currentHandle).not.toBe(first);
      d.model.failNode('node1');
      const n = await wc.next(3000);
      expect(n.notification).toEqual({ type: RESOURCE_CHANGE_NOTIFICATION, changes: [{ changeType: 0xff, name: 'SOFS' }] });
    } finally {
      await wc.stop();
    }
    await until(() => d.witness.service.counts().registrations === 0);
  });

  test('WitnessClient: a lost witness connection ends the registration; the client registers again', async () => {
    const wc = new WitnessClient({ server: '127.0.0.12', netName: 'SOFS', clientName: 'wc2', version: 1, epmPort: d.epmPort, retryDelayMs: 50 });
    const reg = await wc.start(5000);
    expect(reg.witnessAddress).toBe('127.0.0.11');
    expect(reg.port).toBe(d.witnessPort);
    try {
      await until(() => d.witness.service.counts().pendingAsyncNotify === 1);
      (wc as unknown as { rpc: RpcClient }).rpc.destroy();
      await until(() => wc.registrations === 2 && d.witness.service.counts().registrations === 1 && d.witness.service.counts().pendingAsyncNotify === 1);
      expect(d.witness.service.list()[0].id).toBe(wc.currentHandle);
    } finally {
      await wc.stop();
    }
  });

  test('WitnessClient: start() gives up with the reason when nothing can be registered', async () => {
    const wc = new WitnessClient({ server: '127.0.0.11', netName: 'NOT-OURS', clientName: 'wc3', epmPort: d.epmPort, retryDelayMs: 50 });
    await expect(wc.start(500)).rejects.toThrow(/no registration within 500 ms: RegisterEx at 127.0.0.12 returned ERROR_INVALID_PARAMETER/);
    await wc.stop();
  });

  test.each(SCENARIOS)('scenario %s with V1 and V2 clients mixed: V1 clients hear no SHARE_MOVE', async (s) => {
    const target = await remoteTarget(d.adminUrl, d.clientBase);
    const r = await runScenario(target, s, 8, 10_000, () => undefined, 'mixed');
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(r.expected);
    // 8 clients over 2 LIFs, half V1: share-move reaches the 4 V2 clients, the others the 4 on
    // lif1; rolling-upgrade the 4 of each node at its takeover and at its giveback.
    expect(r.expected).toBe(s === 'rolling-upgrade' ? 16 : 4);
    expect([r.quiet, r.leftovers]).toEqual([r.shouldBeQuiet, 0]);
  });

  test.each(SCENARIOS)('scenario %s through the admin API: every client gets exactly the right notification', async (s) => {
    const target = await remoteTarget(d.adminUrl, d.clientBase);
    const r = await runScenario(target, s, 6, 10_000);
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(r.expected);
    expect(r.expected).toBe(s === 'share-move' ? 6 : s === 'rolling-upgrade' ? 12 : 3);
    expect([r.quiet, r.leftovers]).toEqual([r.shouldBeQuiet, 0]);
    expect(formatReport(r)).toContain(`${r.shouldBeQuiet}/${r.shouldBeQuiet} that should get nothing got nothing; nothing left registered or queued`);
  }, 30_000);
});

describe('the drill reports misses', () => {
  test('an event that never happens: every expected client is listed as having got nothing', async () => {
    const d = await startTestWitnessd();
    try {
      const real = await remoteTarget(d.adminUrl, d.clientBase);
      // The admin action is swallowed, so nobody hears anything.
      const target = { ...real, admin: async () => undefined };
      const r = await runScenario(target, 'unplanned', 4, 1500);
      expect(r.ok).toBe(0);
      expect(r.expected).toBe(2);
      expect(r.problems.filter((p) => /got nothing/.test(p))).toHaveLength(2);
      expect(formatReport(r)).toMatch(/unplanned: 0\/2 expected notifications correct[\s\S]*! drill-unplanned-0 \(V2\) \(lif1\) got nothing/);
    } finally {
      await d.close();
    }
  });

  test('a notification nobody should get is reported', async () => {
    const d = await startTestWitnessd();
    try {
      const real = await remoteTarget(d.adminUrl, d.clientBase);
      // Fail the other node instead: the clients of lif2 hear about it, those of lif1 do not.
      const target = { ...real, admin: (action: string, args: Record<string, string>) => real.admin(action, action === 'node-fail' || action === 'node-recover' ? { node: 'node2' } : args) };
      const r = await runScenario(target, 'unplanned', 4, 1500);
      expect(r.problems.some((p) => /drill-unplanned-1 \(V2\) \(lif2\) should get nothing, got RESOURCE_CHANGE SOFS:UNAVAILABLE/.test(p))).toBe(true);
      expect(r.problems.some((p) => /drill-unplanned-0 \(V2\) \(lif1\) got nothing/.test(p))).toBe(true);
    } finally {
      await d.close();
    }
  });
});

describe('the drill is safe against a live daemon', () => {
  test('a witnessd that is not the embedded demo is refused without --force', async () => {
    const d = await startTestWitnessd({ config: { ...demoConfig(), source: '/etc/witnessd.yaml' } });
    try {
      await expect(remoteTarget(d.adminUrl, d.clientBase)).rejects.toThrow(/runs \/etc\/witnessd\.yaml, not the embedded demo.*--force/);
      const forced = await remoteTarget(d.adminUrl, d.clientBase, undefined, true);
      expect((await forced.lifs()).length).toBe(2);
    } finally {
      await d.close();
    }
  });

  test('other clients are not counted or touched; a drill registration left behind is reported and removed', async () => {
    const d = await startTestWitnessd();
    const other = new WitnessClient({ server: '127.0.0.11', netName: 'SOFS', clientName: 'production-host', epmPort: d.epmPort, retryDelayMs: 50 });
    const stray = new WitnessClient({ server: '127.0.0.11', netName: 'SOFS', clientName: 'drill-stray', epmPort: d.epmPort, retryDelayMs: 50 });
    try {
      await other.start(5000);
      await stray.start(5000);
      const target = await remoteTarget(d.adminUrl, d.clientBase);
      const r = await runScenario(target, 'lif-migrate', 4, 10_000);
      expect(r.leftovers).toBe(1);
      expect(r.problems).toEqual([expect.stringMatching(/^drill-stray was still registered after the drill .*force-unregistered$/)]);
      const left = d.witness.service.list().map((x) => x.clientName);
      expect(left).toEqual(['production-host']);
    } finally {
      await stray.stop();
      await other.stop();
      await d.close();
    }
  }, 30_000);
});
