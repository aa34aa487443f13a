/** Start an RpcServer with test interfaces on loopback; bind helpers. */
import { RpcServer } from '../../../../src/rpc/server';
import type { RpcServerOptions } from '../../../../src/rpc/options';
import type { AuthLevel } from '../../../../src/rpc/security';
import { TestInterface, TEST_SYNTAX, OTHER_SYNTAX } from './test-interface';
import { fakeProvider } from './fake-security';
import { RawClient } from './raw-client';
import { NDR, PT, bind, type AuthSpec, type Parsed } from './pdu-builder';

export interface Harness {
  server: RpcServer;
  iface: TestInterface;
  other: TestInterface;
  port: number;
  clients: RawClient[];
  connect(): Promise<RawClient>;
  /** Connect and bind ctx 0 to the test interface. */
  bound(opts?: { le?: boolean; maxXmit?: number; assocGroup?: number }): Promise<{ c: RawClient; ack: Parsed }>;
  close(): Promise<void>;
}

/** `otherMinAuthLevel` registers the second interface with its own minimum auth level. */
export async function startHarness(opts: RpcServerOptions & { otherMinAuthLevel?: AuthLevel } = {}): Promise<Harness> {
  const iface = new TestInterface();
  const other = new TestInterface(OTHER_SYNTAX, 'other');
  const server = new RpcServer({ securityProviders: [fakeProvider], shutdownGraceMs: 300, ...opts });
  const served = opts.otherMinAuthLevel === undefined ? other : { iface: other, minAuthLevel: opts.otherMinAuthLevel };
  const ep = await server.listen({ address: '127.0.0.1', port: 0, interfaces: [iface, served], name: 'test' });
  const clients: RawClient[] = [];
  const h: Harness = {
    server, iface, other, port: ep.port, clients,
    async connect() {
      const c = await RawClient.connect(ep.port);
      clients.push(c);
      return c;
    },
    async bound(o = {}) {
      const c = await h.connect();
      c.send(bind({ callId: 1, le: o.le, maxXmit: o.maxXmit, maxRecv: o.maxXmit, assocGroup: o.assocGroup, contexts: [{ id: 0, abstract: TEST_SYNTAX, transfers: [NDR] }] }));
      const ack = await c.recv();
      expect(ack.ptype).toBe(PT.BIND_ACK);
      return { c, ack };
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
    },
  };
  return h;
}

export function authSpec(token: Buffer, level: number, contextId = 1, type = fakeProvider.authType): AuthSpec {
  return { type, level, contextId, token };
}
