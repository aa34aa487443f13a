/**
 * The whole re-registration a forced unregister causes, over real sockets, with the
 * project's Witness client behaving as Windows Server 2022 does (AsyncNotify →
 * ERROR_NOT_FOUND, UnRegister → ERROR_NOT_FOUND, GetInterfaceList, RegisterEx) and as
 * Windows Server 2025 does (UnRegisterEx first; UnRegister when the server has no opnum 5).
 * Default configuration: the notice is UNAVAILABLE, the NOT_FOUND comes 3–10 s later.
 */
import pino from 'pino';
import { WitnessClient, type CallTrace } from '../../../src/client/witness-client';
import { createClusterModel } from '../../../src/cluster/model';
import { demoConfig } from '../../../src/config';
import { DispatchFault, type RpcInterface } from '../../../src/ndr/dispatch';
import { FaultStatus, RpcServer, type CallContext } from '../../../src/rpc';
import { createWitnessService } from '../../../src/witness';
import { RESOURCE_CHANGE_NOTIFICATION, Witness_OPNUMS } from '../../../src/gen/witness';
import { startTestWitnessd, type TestWitnessd } from '../../../scripts/drill-witnessd';

jest.setTimeout(60_000);

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The client's calls from the first AsyncNotify on, as `op result`. */
function trace(wc: WitnessClient): { calls: CallTrace[]; lines: () => string[] } {
  const calls: CallTrace[] = [];
  wc.on('call', (c: CallTrace) => calls.push(c));
  return { calls, lines: () => calls.map((c) => `${c.op} ${c.result}`) };
}

describe('forced unregister, default configuration, real sockets', () => {
  let d: TestWitnessd;
  beforeAll(async () => {
    d = await startTestWitnessd();
  });
  afterAll(async () => {
    await d.close();
  });

  test('Windows Server 2022 style: UNAVAILABLE, AVAILABLE, then ERROR_NOT_FOUND 3–10 s after the UNAVAILABLE; UnRegister NOT_FOUND; GetInterfaceList; RegisterEx', async () => {
    const wc = new WitnessClient({ server: '127.0.0.11', netName: 'SOFS', clientName: 'ws2022.demo.local', epmPort: d.epmPort, retryDelayMs: 50 });
    const t = trace(wc);
    const first = await wc.start(10_000);
    try {
      await until(() => d.witness.service.counts().pendingAsyncNotify === 1);
      const from = t.calls.length;
      d.model.failNode('node1');
      const down = await wc.next(10_000);
      expect(down.notification).toEqual({ type: RESOURCE_CHANGE_NOTIFICATION, changes: [{ changeType: 0xff, name: 'SOFS' }] });
      d.model.recoverNode('node1');
      const up = await wc.next(10_000);
      expect(up.notification).toMatchObject({ type: RESOURCE_CHANGE_NOTIFICATION, changes: [{ changeType: 0x01 }] });
      await until(() => wc.registrations === 2);
      const seq = t.lines().slice(from);
      expect(seq).toEqual([
        'AsyncNotify ERROR_SUCCESS', 'AsyncNotify ERROR_SUCCESS', 'AsyncNotify ERROR_NOT_FOUND',
        'UnRegister ERROR_NOT_FOUND', 'GetInterfaceList ERROR_SUCCESS', 'RegisterEx ERROR_SUCCESS',
      ]);
      const notFound = t.calls.slice(from).find((c) => c.result === 'ERROR_NOT_FOUND') as CallTrace;
      const afterMs = notFound.at - down.receivedAt;
      expect(afterMs).toBeGreaterThanOrEqual(3_000);
      expect(afterMs).toBeLessThanOrEqual(10_000);
      expect(wc.currentHandle).not.toBe(first.handle);
      await until(() => d.witness.service.counts().pendingAsyncNotify === 1);
      expect(d.witness.service.list().map((r) => r.id)).toEqual([wc.currentHandle]);
    } finally {
      await wc.stop();
    }
  });

  test('Windows Server 2025 style against witnessd (opnum 5 served): UnRegisterEx gets ERROR_NOT_FOUND after a forced unregister', async () => {
    const wc = new WitnessClient({ server: '127.0.0.11', netName: 'SOFS', clientName: 'ws2025.demo.local', epmPort: d.epmPort, retryDelayMs: 50, unRegister: 'UnRegisterEx' });
    const t = trace(wc);
    await wc.start(10_000);
    try {
      await until(() => d.witness.service.counts().pendingAsyncNotify === 1);
      const from = t.calls.length;
      d.witness.service.told(() => d.model.clientMove('ws2025.demo.local', 'node2'));
      await wc.next(10_000);
      await until(() => wc.registrations === 2);
      expect(t.lines().slice(from)).toEqual([
        'AsyncNotify ERROR_SUCCESS', 'AsyncNotify ERROR_NOT_FOUND', 'UnRegisterEx ERROR_NOT_FOUND', 'GetInterfaceList ERROR_SUCCESS', 'RegisterEx ERROR_SUCCESS',
      ]);
    } finally {
      const before = t.calls.length;
      await wc.stop();
      // (the pending AsyncNotify is cancelled first)
      expect(t.lines().slice(before).filter((l) => !l.startsWith('AsyncNotify'))).toEqual(['UnRegisterEx ERROR_SUCCESS']);
    }
  });
});

describe('Windows Server 2025 style against a server without opnum 5 (Samba, Windows Server 2022)', () => {
  test('UnRegisterEx gets the op-range fault, UnRegister follows and succeeds', async () => {
    const config = demoConfig();
    const model = createClusterModel(config);
    const w = createWitnessService({ model, logger: pino({ level: 'silent' }) });
    const served = w.rpcInterface;
    const withoutOpnum5: RpcInterface<CallContext> = {
      name: served.name, syntax: served.syntax, operationNames: served.operationNames.slice(0, Witness_OPNUMS.WitnessrUnRegisterEx),
      dispatch(opnum, stub, call) {
        if (opnum === Witness_OPNUMS.WitnessrUnRegisterEx) throw new DispatchFault(FaultStatus.NCA_S_OP_RNG_ERROR);
        return served.dispatch(opnum, stub, call);
      },
    };
    const rpc = new RpcServer({ logger: pino({ level: 'silent' }) });
    const ep = await rpc.listen({ address: ['127.0.0.11', '127.0.0.12'], port: 0, interfaces: [withoutOpnum5], name: 'witness' });
    const wc = new WitnessClient({ server: '127.0.0.11', netName: 'SOFS', clientName: 'ws2025', witnessPort: ep.port, retryDelayMs: 50, unRegister: 'UnRegisterEx' });
    const t = trace(wc);
    try {
      await wc.start(10_000);
      await until(() => w.service.counts().pendingAsyncNotify === 1);
      const from = t.calls.length;
      await wc.stop();
      expect(t.lines().slice(from).filter((l) => !l.startsWith('AsyncNotify'))).toEqual([`UnRegisterEx fault 0x${FaultStatus.NCA_S_OP_RNG_ERROR.toString(16)}`, 'UnRegister ERROR_SUCCESS']);
      expect(w.service.counts().registrations).toBe(0);
    } finally {
      await wc.stop();
      await rpc.close();
      w.close();
    }
  });
});
