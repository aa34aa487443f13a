/**
 * clusapi over real sockets: the RPC runtime serving the generated MS-CMRP codec bound to
 * the cluster model, driven by a client whose stubs are hand-encoded from MS-CMRP (so the
 * generated codec is checked against a second reading of the spec).
 */
import pino from 'pino';
import { RpcClient, RpcFault } from '../../../src/client/rpc-client';
import { demoConfig } from '../../../src/config';
import { createClusterModel, type ClusterModel } from '../../../src/cluster/model';
import type { ClusterEvent } from '../../../src/cluster/types';
import { createClusapiService } from '../../../src/clusapi';
import { FaultStatus } from '../../../src/rpc/constants';
import { RpcServer } from '../../../src/rpc/server';
import { ClusapiClient, CLUSAPI_SYNTAX, encodeWideString, OPNUM } from '../../interop/helpers/clusapi-client';

const silent = pino({ level: 'silent' });
const ZERO_HANDLE = Buffer.alloc(20);

async function serve(model: ClusterModel, allowAnonymous: boolean): Promise<{ server: RpcServer; port: number }> {
  const server = new RpcServer({ logger: silent, shutdownGraceMs: 200 });
  const svc = createClusapiService({ model, logger: silent, allowAnonymous });
  const ep = await server.listen({ address: '127.0.0.1', port: 0, interfaces: [svc.rpcInterface], name: 'clusapi' });
  return { server, port: ep.port };
}

describe('clusapi (MS-CMRP v3.0) over the RPC runtime', () => {
  let model: ClusterModel;
  let events: ClusterEvent[];
  let server: RpcServer;
  let port: number;
  const clients: ClusapiClient[] = [];

  const connect = async (): Promise<ClusapiClient> => {
    const c = await ClusapiClient.connect('127.0.0.1', port);
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    model = createClusterModel(demoConfig());
    events = [];
    model.subscribe((e) => events.push(e));
    ({ server, port } = await serve(model, true));
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
    await server.close();
  });

  it('OpenResource → GetResourceState → OfflineResource → OnlineResource → CloseResource, as smbtorture toggles it', async () => {
    const c = await connect();
    const open = await c.openResource('SOFS');
    expect(open.status).toBe(0);
    expect(open.rpcStatus).toBe(0);
    expect(open.handle.equals(ZERO_HANDLE)).toBe(false);
    expect(open.handle.readUInt32LE(0)).toBe(0); // handle attributes

    expect(await c.getResourceState(open.handle)).toEqual({ state: 2, nodeName: 'node1', groupName: 'vs1', rpcStatus: 0, result: 0 });

    expect(await c.offlineResource(open.handle)).toEqual({ rpcStatus: 0, result: 0 });
    expect(events).toEqual([
      { type: 'LifDown', lif: 'lif1', svm: 'vs1' },
      { type: 'LifDown', lif: 'lif2', svm: 'vs1' },
    ]);
    expect((await c.getResourceState(open.handle)).state).toBe(3);

    expect(await c.onlineResource(open.handle)).toEqual({ rpcStatus: 0, result: 0 });
    expect(events.slice(2).map((e) => e.type)).toEqual(['LifUp', 'LifUp']);
    expect((await c.getResourceState(open.handle)).state).toBe(2);

    const closed = await c.closeResource(open.handle);
    expect(closed).toEqual({ handle: ZERO_HANDLE, result: 0 });
    // The handle is gone: ERROR_INVALID_HANDLE, and the handle comes back unchanged.
    const again = await c.closeResource(open.handle);
    expect(again.result).toBe(6);
    expect(again.handle.equals(open.handle)).toBe(true);
    expect((await c.getResourceState(open.handle)).result).toBe(6);
  });

  it('opens by DNS name too; an unknown name is ERROR_RESOURCE_NOT_FOUND with a NULL handle', async () => {
    const c = await connect();
    expect((await c.openResource('sofs.demo.local')).status).toBe(0);
    for (const name of ['', 'jfUF38fjSNcfn']) {
      const r = await c.openResource(name);
      expect(r).toEqual({ status: 0x138f, rpcStatus: 0, handle: ZERO_HANDLE });
    }
  });

  it('a handle is only valid in the association group that opened it', async () => {
    const a = await connect();
    const b = await connect();
    const open = await a.openResource('SOFS');
    expect((await b.getResourceState(open.handle)).result).toBe(6);
    expect((await b.offlineResource(open.handle)).result).toBe(6);
    expect(events).toEqual([]);
  });

  it('opnums that are not served, and opnums past the end, fault with nca_s_op_rng_error', async () => {
    const rpc = await RpcClient.connect({ host: '127.0.0.1', port });
    try {
      await rpc.bind(CLUSAPI_SYNTAX);
      for (const opnum of [0, 7, 9, 10, 13, 16, 19, 200]) {
        await expect(rpc.call(opnum, Buffer.alloc(0), { timeoutMs: 5000 })).rejects.toEqual(new RpcFault(FaultStatus.NCA_S_OP_RNG_ERROR));
      }
    } finally {
      await rpc.close();
    }
  });

  it('a stub that does not decode faults with rpc_x_bad_stub_data and changes nothing', async () => {
    const rpc = await RpcClient.connect({ host: '127.0.0.1', port });
    try {
      await rpc.bind(CLUSAPI_SYNTAX);
      const name = encodeWideString('SOFS');
      const bad: Buffer[] = [
        name.subarray(0, 10), // truncated header
        Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f])]), // absurd length, no data
        Buffer.alloc(7), // short handle
      ];
      await expect(rpc.call(OPNUM.OpenResource, bad[0], { timeoutMs: 5000 })).rejects.toEqual(new RpcFault(FaultStatus.BAD_STUB_DATA));
      await expect(rpc.call(OPNUM.OpenResource, bad[1], { timeoutMs: 5000 })).rejects.toEqual(new RpcFault(FaultStatus.BAD_STUB_DATA));
      await expect(rpc.call(OPNUM.OfflineResource, bad[2], { timeoutMs: 5000 })).rejects.toEqual(new RpcFault(FaultStatus.BAD_STUB_DATA));
      // The connection still works.
      const ok = await rpc.call(OPNUM.OpenResource, name, { timeoutMs: 5000 });
      expect(ok.readUInt32LE(0)).toBe(0);
    } finally {
      await rpc.close();
    }
    expect(events).toEqual([]);
  });

  it('refuses anonymous callers with fault 0x5 unless anonymous access is configured', async () => {
    const strictModel = createClusterModel(demoConfig());
    const strict = await serve(strictModel, false);
    const c = await ClusapiClient.connect('127.0.0.1', strict.port);
    try {
      await expect(c.openResource('SOFS')).rejects.toEqual(new RpcFault(FaultStatus.ACCESS_DENIED));
    } finally {
      await c.close();
      await strict.server.close();
    }
    expect(strictModel.lifs().every((l) => l.up)).toBe(true);
  });
});
