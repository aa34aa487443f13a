/**
 * NDR64 negotiation and dispatch (MS-RPCE 2.2.5, 3.3.1.5): over raw PDUs, a generated
 * interface (mgmt, served on every listener) is accepted with NDR64 when the client offers it,
 * preferred over NDR 2.0 in one context, kept per context (NDR 2.0 and NDR64 contexts side by
 * side on one connection), beside bind-time feature
 * negotiation; calls are answered in their context's syntax; an interface without NDR64 codecs
 * still refuses it (reason 2); a truncated NDR64 stub faults and the connection serves on.
 */
import { RpcServer } from '../../../src/rpc/server';
import type { SecurityProvider } from '../../../src/rpc/security';
import {
  Mgmt_SYNTAX, decodeRpc__mgmt_inq_if_idsOut, decodeRpc__mgmt_inq_if_idsOutNdr64, decodeRpc__mgmt_inq_princ_nameOut,
  decodeRpc__mgmt_inq_princ_nameOutNdr64, encodeRpc__mgmt_inq_princ_nameIn,
} from '../../../src/gen/mgmt';
import { fakeProvider } from './helpers/fake-security';
import { BTFN3, NDR, NDR64, PT, alter, bind, request } from './helpers/pdu-builder';
import { RawClient } from './helpers/raw-client';
import { TEST_SYNTAX, TestInterface } from './helpers/test-interface';

jest.setTimeout(15000);

const PRINCIPAL = 'DOM\\HOST$';
const named: SecurityProvider = { ...fakeProvider, principalName: PRINCIPAL };

let server: RpcServer;
let port: number;
let clients: RawClient[] = [];

beforeAll(async () => {
  server = new RpcServer({ securityProviders: [named] });
  port = (await server.listen({ address: '127.0.0.1', port: 0, interfaces: [new TestInterface()], name: 'test' })).port;
});
afterEach(async () => { await Promise.all(clients.map((c) => c.close())); clients = []; });
afterAll(async () => { await server.close(); });

async function connect(): Promise<RawClient> {
  const c = await RawClient.connect(port);
  clients.push(c);
  return c;
}

const princIn = encodeRpc__mgmt_inq_princ_nameIn({ authn_proto: named.authType, princ_name_size: 64 });

const call = (c: RawClient, callId: number, contextId: number, opnum: number, stub: Buffer): Promise<Buffer> => c.call({ callId, contextId, opnum, stub });

describe('NDR64', () => {
  it('bind offering NDR64 only: accepted with NDR64; the call is answered in NDR64', async () => {
    const c = await connect();
    c.send(bind({ contexts: [{ id: 0, abstract: Mgmt_SYNTAX, transfers: [NDR64] }] }));
    const ack = await c.recv();
    expect(ack.ptype).toBe(PT.BIND_ACK);
    expect(ack.results).toEqual([{ result: 0, reason: 0, transfer: NDR64 }]);
    const stub = await call(c, 2, 0, 4, princIn); // the request has no pointer or count: same bytes
    expect(stub.readUInt32LE(0)).toBe(64);
    expect(stub.readUInt32LE(4)).toBe(0); // max_count is 8 bytes in NDR64
    expect(decodeRpc__mgmt_inq_princ_nameOutNdr64(stub)).toEqual({ princ_name: PRINCIPAL, princ_name_size: 64, status: 0 });
    const ids = decodeRpc__mgmt_inq_if_idsOutNdr64(await call(c, 3, 0, 0, Buffer.alloc(0)));
    expect(ids.if_id_vector).toEqual({ count: 2, if_id: [{ uuid: TEST_SYNTAX.uuid, vers_major: 1, vers_minor: 1 }, { uuid: Mgmt_SYNTAX.uuid, vers_major: 1, vers_minor: 0 }] });
  });

  it('one context offering NDR and NDR64: NDR64 is chosen; BTFN is negotiated beside it', async () => {
    const c = await connect();
    c.send(bind({ contexts: [{ id: 0, abstract: Mgmt_SYNTAX, transfers: [NDR, NDR64] }, { id: 1, abstract: Mgmt_SYNTAX, transfers: [BTFN3] }] }));
    const ack = await c.recv();
    expect(ack.results![0]).toEqual({ result: 0, reason: 0, transfer: NDR64 });
    expect(ack.results![1].result).toBe(3); // negotiate_ack
    expect(ack.results![1].reason).toBe(3); // security context multiplexing + keep connection on orphan
    expect(decodeRpc__mgmt_inq_princ_nameOutNdr64(await call(c, 2, 0, 4, princIn)).princ_name).toBe(PRINCIPAL);
  });

  it('NDR 2.0 and NDR64 contexts side by side on one connection, each answered in its syntax', async () => {
    const c = await connect();
    c.send(bind({ contexts: [{ id: 0, abstract: Mgmt_SYNTAX, transfers: [NDR] }] }));
    expect((await c.recv()).results).toEqual([{ result: 0, reason: 0, transfer: NDR }]);
    c.send(alter({ callId: 10, contexts: [{ id: 1, abstract: Mgmt_SYNTAX, transfers: [NDR64] }] }));
    expect((await c.recv()).results).toEqual([{ result: 0, reason: 0, transfer: NDR64 }]);
    c.send(alter({ callId: 2, contexts: [{ id: 2, abstract: Mgmt_SYNTAX, transfers: [NDR64] }, { id: 3, abstract: TEST_SYNTAX, transfers: [NDR64] }] }));
    const alt = await c.recv();
    expect(alt.ptype).toBe(PT.ALTER_RESP);
    // the test interface has no NDR64 codecs: proposed transfer syntaxes not supported
    expect(alt.results).toEqual([{ result: 0, reason: 0, transfer: NDR64 }, { result: 2, reason: 2, transfer: { uuid: '00000000-0000-0000-0000-000000000000', major: 0, minor: 0 } }]);
    expect(decodeRpc__mgmt_inq_princ_nameOut(await call(c, 3, 0, 4, princIn)).princ_name).toBe(PRINCIPAL);
    expect(decodeRpc__mgmt_inq_princ_nameOutNdr64(await call(c, 4, 1, 4, princIn)).princ_name).toBe(PRINCIPAL);
    expect(decodeRpc__mgmt_inq_princ_nameOutNdr64(await call(c, 5, 2, 4, princIn)).princ_name).toBe(PRINCIPAL);
    const v2 = await call(c, 6, 0, 0, Buffer.alloc(0));
    const v64 = await call(c, 7, 1, 0, Buffer.alloc(0));
    expect(v64.length).toBeGreaterThan(v2.length);
    expect(decodeRpc__mgmt_inq_if_idsOutNdr64(v64)).toEqual(decodeRpc__mgmt_inq_if_idsOut(v2));
    // a re-offer of context 1 keeps NDR64 (re-offers that would switch it: raw-edge-rules, rule 7)
    c.send(alter({ callId: 8, contexts: [{ id: 1, abstract: Mgmt_SYNTAX, transfers: [NDR, NDR64] }] }));
    expect((await c.recv()).results).toEqual([{ result: 0, reason: 0, transfer: NDR64 }]);
    expect(decodeRpc__mgmt_inq_princ_nameOutNdr64(await call(c, 9, 1, 4, princIn)).princ_name).toBe(PRINCIPAL);
  });

  it('a truncated NDR64 stub faults with bad stub data; the connection serves on', async () => {
    const c = await connect();
    c.send(bind({ contexts: [{ id: 0, abstract: Mgmt_SYNTAX, transfers: [NDR64] }] }));
    await c.recv();
    // rpc__mgmt_inq_stats wants a 4-byte count (counts above 2^32: test/unit/ndr/ndr64.test.ts)
    c.send(request({ callId: 2, opnum: 1, stub: Buffer.from([1, 2]) }));
    const f = await c.recv();
    expect({ ptype: f.ptype, status: f.status }).toEqual({ ptype: PT.FAULT, status: 0x6f7 });
    expect(decodeRpc__mgmt_inq_princ_nameOutNdr64(await call(c, 3, 0, 4, princIn)).princ_name).toBe(PRINCIPAL);
  });
});
