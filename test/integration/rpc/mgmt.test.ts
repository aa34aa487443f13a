/**
 * The DCE management interface (C706 appendix Q) that every listener serves beside its own
 * interfaces, spoken to with the generated client-side codec over raw PDUs: the interface
 * list of the port called, statistics, listening, the refused stop, the principal name per
 * authentication service (MS-SWN product note <11>), faults, big-endian.
 */
import { RpcServer } from '../../../src/rpc/server';
import { MgmtStatus } from '../../../src/rpc/mgmt/management';
import type { SecurityProvider } from '../../../src/rpc/security';
import {
  Mgmt_SYNTAX, decodeRpc__mgmt_inq_if_idsOut, decodeRpc__mgmt_inq_princ_nameOut, decodeRpc__mgmt_inq_statsOut,
  decodeRpc__mgmt_is_server_listeningOut, decodeRpc__mgmt_stop_server_listeningOut,
  encodeRpc__mgmt_inq_if_idsIn, encodeRpc__mgmt_inq_princ_nameIn, encodeRpc__mgmt_inq_statsIn,
  encodeRpc__mgmt_is_server_listeningIn, encodeRpc__mgmt_stop_server_listeningIn,
} from '../../../src/gen/mgmt';
import { AuthLevel } from '../../../src/rpc/security';
import { fakeProvider } from './helpers/fake-security';
import { NDR, PT, bind, request } from './helpers/pdu-builder';
import { RawClient } from './helpers/raw-client';
import { OTHER_SYNTAX, TEST_SYNTAX, TestInterface } from './helpers/test-interface';

jest.setTimeout(15000);

const PRINCIPAL = 'WITNESSDOM\\WITNESS1$';
const named: SecurityProvider = { ...fakeProvider, principalName: PRINCIPAL };

let server: RpcServer;
let port: number;
let otherPort: number;
let clients: RawClient[] = [];

beforeAll(async () => {
  server = new RpcServer({ securityProviders: [named] });
  port = (await server.listen({ address: '127.0.0.1', port: 0, interfaces: [new TestInterface(), new TestInterface(OTHER_SYNTAX, 'other')], name: 'test' })).port;
  otherPort = (await server.listen({ address: '127.0.0.1', port: 0, interfaces: [new TestInterface(OTHER_SYNTAX, 'other')], name: 'other' })).port;
});
afterEach(async () => { await Promise.all(clients.map((c) => c.close())); clients = []; });
afterAll(async () => { await server.close(); });

async function mgmtClient(p = port, le = true): Promise<RawClient> {
  const c = await RawClient.connect(p);
  clients.push(c);
  c.send(bind({ le, contexts: [{ id: 0, abstract: Mgmt_SYNTAX, transfers: [NDR] }] }));
  const ack = await c.recv();
  expect(ack.ptype).toBe(PT.BIND_ACK);
  expect(ack.results![0].result).toBe(0);
  return c;
}

const call = (c: RawClient, callId: number, opnum: number, stub: Buffer, le = true): Promise<Buffer> => c.call({ le, callId, opnum, stub });

const id = (s: { uuid: string; major: number; minor: number }) => ({ uuid: s.uuid, vers_major: s.major, vers_minor: s.minor });

describe('mgmt on every listener', () => {
  it('rpc__mgmt_inq_if_ids lists the interfaces of the port called, mgmt included', async () => {
    const c = await mgmtClient();
    const out = decodeRpc__mgmt_inq_if_idsOut(await call(c, 2, 0, encodeRpc__mgmt_inq_if_idsIn({})));
    expect(out.status).toBe(MgmtStatus.OK);
    expect(out.if_id_vector).toEqual({ count: 3, if_id: [id(TEST_SYNTAX), id(OTHER_SYNTAX), id(Mgmt_SYNTAX)] });
    const o = await mgmtClient(otherPort);
    const other = decodeRpc__mgmt_inq_if_idsOut(await call(o, 2, 0, encodeRpc__mgmt_inq_if_idsIn({})));
    expect(other.if_id_vector).toEqual({ count: 2, if_id: [id(OTHER_SYNTAX), id(Mgmt_SYNTAX)] });
  });

  it('the endpoint mapper view of a listener does not list mgmt', () => {
    const ep = server.endpoints().find((e) => e.port === port)!;
    expect(ep.interfaces.map((s) => s.uuid)).not.toContain(Mgmt_SYNTAX.uuid);
  });

  it('rpc__mgmt_inq_stats answers as many counters as asked for (at most 4), counting calls and PDUs', async () => {
    const c = await mgmtClient();
    const before = { ...server.stats };
    const out = decodeRpc__mgmt_inq_statsOut(await call(c, 2, 1, encodeRpc__mgmt_inq_statsIn({ count: 4 })));
    expect(out.status).toBe(MgmtStatus.OK);
    expect(out.count).toBe(4);
    expect(out.statistics).toHaveLength(4);
    const [callsIn, callsOut, pktsIn, pktsOut] = out.statistics;
    expect(callsIn).toBe(before.callsIn + 1);
    expect(callsOut).toBe(0);
    expect(pktsIn).toBe(before.pktsIn + 1);
    expect(pktsOut).toBe(before.pktsOut);
    expect(pktsIn).toBeGreaterThanOrEqual(2); // the bind and this request at least
    const two = decodeRpc__mgmt_inq_statsOut(await call(c, 3, 1, encodeRpc__mgmt_inq_statsIn({ count: 2 })));
    expect(two).toEqual({ count: 2, statistics: [callsIn + 1, 0], status: 0 });
    const many = decodeRpc__mgmt_inq_statsOut(await call(c, 4, 1, encodeRpc__mgmt_inq_statsIn({ count: 1000 })));
    expect(many.count).toBe(4);
  });

  it('rpc__mgmt_is_server_listening is true; rpc__mgmt_stop_server_listening is refused', async () => {
    const c = await mgmtClient();
    expect(decodeRpc__mgmt_is_server_listeningOut(await call(c, 2, 2, encodeRpc__mgmt_is_server_listeningIn({}))))
      .toEqual({ status: 0, ReturnValue: 1 });
    expect(decodeRpc__mgmt_stop_server_listeningOut(await call(c, 3, 3, encodeRpc__mgmt_stop_server_listeningIn({}))))
      .toEqual({ status: MgmtStatus.ACCESS_DENIED });
    expect(decodeRpc__mgmt_is_server_listeningOut(await call(c, 4, 2, encodeRpc__mgmt_is_server_listeningIn({}))).ReturnValue).toBe(1);
  });

  it('rpc__mgmt_inq_princ_name returns the provider principal, max_count = princ_name_size', async () => {
    const c = await mgmtClient();
    const stub = await call(c, 2, 4, encodeRpc__mgmt_inq_princ_nameIn({ authn_proto: named.authType, princ_name_size: 256 }));
    expect(stub.readUInt32LE(0)).toBe(256); // max_count
    expect(decodeRpc__mgmt_inq_princ_nameOut(stub)).toEqual({ princ_name: PRINCIPAL, princ_name_size: 256, status: 0 });
    const unknown = decodeRpc__mgmt_inq_princ_nameOut(await call(c, 3, 4, encodeRpc__mgmt_inq_princ_nameIn({ authn_proto: 9, princ_name_size: 64 })));
    expect(unknown).toEqual({ princ_name: '', princ_name_size: 64, status: MgmtStatus.UNKNOWN_AUTHN_SERVICE });
    const small = decodeRpc__mgmt_inq_princ_nameOut(await call(c, 4, 4, encodeRpc__mgmt_inq_princ_nameIn({ authn_proto: named.authType, princ_name_size: PRINCIPAL.length })));
    expect(small).toEqual({ princ_name: '', princ_name_size: PRINCIPAL.length, status: MgmtStatus.INSUFFICIENT_BUFFER });
    const exact = decodeRpc__mgmt_inq_princ_nameOut(await call(c, 5, 4, encodeRpc__mgmt_inq_princ_nameIn({ authn_proto: named.authType, princ_name_size: PRINCIPAL.length + 1 })));
    expect(exact.princ_name).toBe(PRINCIPAL);
  });

  it('princ_name_size 0 and a short stub fault with bad stub data; the connection serves on', async () => {
    const c = await mgmtClient();
    c.send(request({ callId: 2, opnum: 4, stub: encodeRpc__mgmt_inq_princ_nameIn({ authn_proto: named.authType, princ_name_size: 0 }) }));
    const f = await c.recv();
    expect(f.ptype).toBe(PT.FAULT);
    expect(f.status).toBe(0x6f7);
    c.send(request({ callId: 3, opnum: 1, stub: Buffer.from([1, 0]) }));
    const g = await c.recv();
    expect(g.ptype).toBe(PT.FAULT);
    expect(g.status).toBe(0x6f7);
    c.send(request({ callId: 4, opnum: 5, stub: Buffer.alloc(0) }));
    expect((await c.recv()).status).toBe(0x1c010002);
    expect(decodeRpc__mgmt_is_server_listeningOut(await call(c, 5, 2, Buffer.alloc(0))).ReturnValue).toBe(1);
  });

  it('big-endian', async () => {
    const c = await mgmtClient(port, false);
    const out = decodeRpc__mgmt_inq_princ_nameOut(await call(c, 2, 4, encodeRpc__mgmt_inq_princ_nameIn({ authn_proto: named.authType, princ_name_size: 100 }, false), false), false);
    expect(out.princ_name).toBe(PRINCIPAL);
    const ids = decodeRpc__mgmt_inq_if_idsOut(await call(c, 3, 0, Buffer.alloc(0), false), false);
    expect(ids.if_id_vector!.count).toBe(3);
  });

  it('is served below the minimum auth level (a client asks it before it authenticates); other interfaces are not', async () => {
    const strict = new RpcServer({ securityProviders: [named], minAuthLevel: AuthLevel.Integrity });
    try {
      const p = (await strict.listen({ address: '127.0.0.1', port: 0, interfaces: [new TestInterface()], name: 'strict' })).port;
      const c = await RawClient.connect(p);
      clients.push(c);
      c.send(bind({ contexts: [{ id: 0, abstract: Mgmt_SYNTAX, transfers: [NDR] }, { id: 1, abstract: TEST_SYNTAX, transfers: [NDR] }] }));
      expect((await c.recv()).results!.map((r) => r.result)).toEqual([0, 0]);
      const out = decodeRpc__mgmt_inq_princ_nameOut(await call(c, 2, 4, encodeRpc__mgmt_inq_princ_nameIn({ authn_proto: named.authType, princ_name_size: 64 })));
      expect(out).toEqual({ princ_name: PRINCIPAL, princ_name_size: 64, status: 0 });
      c.send(request({ callId: 3, contextId: 1, opnum: 0, stub: Buffer.from('x') }));
      const f = await c.recv();
      expect({ ptype: f.ptype, status: f.status }).toEqual({ ptype: PT.FAULT, status: 5 });
    } finally {
      await Promise.all(clients.map((x) => x.close()));
      clients = [];
      await strict.close();
    }
  });
});
