/**
 * The Witness client's DCE/RPC layer against the real RpcServer on loopback: bind,
 * fragmented requests and responses, calls answered out of order, faults, cancellation.
 */
import { RpcServer } from '../../../src/rpc';
import { abortSignalOf, type CallContext } from '../../../src/rpc/call-context';
import { DispatchFault, type RpcInterface } from '../../../src/ndr/dispatch';
import { RpcBindError, RpcClient, RpcFault } from '../../../src/client/rpc-client';

jest.setTimeout(30_000);

const TEST_IF = { uuid: '6a2f1c0e-1d3b-4b7e-9a55-0c7e5e1d2f10', major: 1, minor: 0 };
/** The abort of each waitForAbort call, as an AbortSignal. */
const aborted = new Map<CallContext, AbortSignal>();

function testInterface(): RpcInterface<CallContext> & { seen: CallContext[] } {
  const seen: CallContext[] = [];
  return {
    name: 'test',
    syntax: TEST_IF,
    operationNames: ['echo', 'delayedEcho', 'waitForAbort'],
    seen,
    dispatch(opnum, stub, call) {
      const ctx = call.context;
      seen.push(ctx);
      if (opnum === 0) return Buffer.from(stub);
      if (opnum === 1) {
        const reply = call.later((out: Buffer) => out);
        setTimeout(() => reply.send(Buffer.from(stub)), stub.readUInt32LE(0));
        return undefined;
      }
      if (opnum === 2) {
        // Answered by the runtime once aborted (a cancel is faulted).
        call.later((out: Buffer) => out);
        aborted.set(ctx, abortSignalOf(ctx));
        return undefined;
      }
      throw new DispatchFault(0x1c010002);
    },
  };
}

describe('RpcClient against RpcServer', () => {
  let server: RpcServer;
  let port: number;
  let iface: ReturnType<typeof testInterface>;
  beforeAll(async () => {
    iface = testInterface();
    server = new RpcServer();
    port = (await server.listen({ address: '127.0.0.1', port: 0, interfaces: [iface] })).port;
  });
  afterAll(async () => {
    await server.close();
  });

  test('bind, echo small and fragmented stubs', async () => {
    const c = await RpcClient.connect({ host: '127.0.0.1', port });
    const ack = await c.bind(TEST_IF);
    expect(ack.assocGroupId).not.toBe(0);
    expect(ack.secondaryAddress).toBe(String(port));
    expect(await c.call(0, Buffer.from('hello'))).toEqual(Buffer.from('hello'));
    const big = Buffer.alloc(40_000);
    for (let i = 0; i < big.length; i++) big[i] = i & 0xff;
    expect((await c.call(0, big)).equals(big)).toBe(true);
    await c.close();
  });

  test('several calls in flight; answers may come back out of order', async () => {
    const c = await RpcClient.connect({ host: '127.0.0.1', port });
    await c.bind(TEST_IF);
    const order: number[] = [];
    const stub = (ms: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(ms, 0);
      return b;
    };
    await Promise.all([
      c.call(1, stub(150)).then(() => order.push(150)),
      c.call(1, stub(10)).then(() => order.push(10)),
      c.call(0, stub(0)).then(() => order.push(0)),
    ]);
    expect(order).toEqual([0, 10, 150]);
    await c.close();
  });

  test('unknown opnum → RpcFault nca_s_op_rng_error', async () => {
    const c = await RpcClient.connect({ host: '127.0.0.1', port });
    await c.bind(TEST_IF);
    await expect(c.call(9, Buffer.alloc(0))).rejects.toEqual(new RpcFault(0x1c010002));
    await c.close();
  });

  test('aborting a call sends co_cancel; the server call sees its signal; the connection stays usable', async () => {
    const c = await RpcClient.connect({ host: '127.0.0.1', port });
    await c.bind(TEST_IF);
    const ac = new AbortController();
    const p = c.call(2, Buffer.alloc(0), { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 50));
    const serverCtx = iface.seen[iface.seen.length - 1];
    ac.abort();
    await expect(p).rejects.toThrow('aborted');
    const signal = aborted.get(serverCtx) as AbortSignal;
    for (let i = 0; i < 50 && !signal.aborted; i++) await new Promise((r) => setTimeout(r, 10));
    expect(signal.aborted).toBe(true);
    expect(await c.call(0, Buffer.from('x'))).toEqual(Buffer.from('x'));
    expect(c.inFlight).toBe(0);
    await c.close();
  });

  test('closing the connection rejects calls in flight', async () => {
    const c = await RpcClient.connect({ host: '127.0.0.1', port });
    await c.bind(TEST_IF);
    const p = c.call(2, Buffer.alloc(0));
    c.destroy();
    await expect(p).rejects.toThrow();
  });

  test('an unknown interface is refused at bind', async () => {
    const c = await RpcClient.connect({ host: '127.0.0.1', port });
    await expect(c.bind({ uuid: '11111111-2222-3333-4444-555555555555', major: 1, minor: 0 })).rejects.toBeInstanceOf(RpcBindError);
    await c.close();
  });
});
