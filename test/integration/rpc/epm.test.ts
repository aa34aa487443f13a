/**
 * The endpoint mapper served by the runtime, spoken to with the generated client-side codec
 * over raw PDUs: ept_map (max_count = max_towers), ept_lookup enumeration, handle free,
 * refused insert, faults, big-endian.
 */
import { RpcServer } from '../../../src/rpc/server';
import { createEndpointMapper, EpmStatus } from '../../../src/rpc/epm/endpoint-mapper';
import { decodeFloors, encodeFloors, syntaxFloor } from '../../../src/rpc/epm/tower';
import {
  Epm_SYNTAX, decodeEpt_lookupOut, decodeEpt_mapOut, decodeEpt_insertOut, decodeEpt_lookup_handle_freeOut,
  encodeEpt_insertIn, encodeEpt_lookupIn, encodeEpt_lookup_handle_freeIn, encodeEpt_mapIn,
} from '../../../src/gen/epm';
import { NDR, PT, bind, request } from './helpers/pdu-builder';
import { RawClient } from './helpers/raw-client';
import { TestInterface } from './helpers/test-interface';

jest.setTimeout(15000);

const WITNESS = { uuid: 'ccd8c074-d0e5-4a40-92b4-d074faa6ba28', major: 1, minor: 1 };
const NIL = { attributes: 0, uuid: '00000000-0000-0000-0000-000000000000' };

function witnessTower(): Buffer {
  return encodeFloors([
    syntaxFloor(WITNESS), syntaxFloor(NDR),
    { lhs: Buffer.from([0x0b]), rhs: Buffer.from([0, 0]) },
    { lhs: Buffer.from([0x07]), rhs: Buffer.from([0, 0]) },
    { lhs: Buffer.from([0x09]), rhs: Buffer.from([0, 0, 0, 0]) },
  ]);
}

let server: RpcServer;
let epmPort: number;
let witnessPort: number;
let clients: RawClient[] = [];
let epm: ReturnType<typeof createEndpointMapper>;

beforeAll(async () => {
  server = new RpcServer();
  epm = createEndpointMapper(server);
  epmPort = (await server.listen({ address: '127.0.0.1', port: 0, interfaces: [epm], name: 'epmapper' })).port;
  witnessPort = (await server.listen({ address: '127.0.0.1', port: 0, interfaces: [new TestInterface(WITNESS, 'witness')], name: 'witness' })).port;
});
afterEach(async () => { await Promise.all(clients.map((c) => c.close())); clients = []; });
afterAll(async () => { await server.close(); });

async function epmClient(le = true): Promise<RawClient> {
  const c = await RawClient.connect(epmPort);
  clients.push(c);
  c.send(bind({ le, contexts: [{ id: 0, abstract: Epm_SYNTAX, transfers: [NDR] }] }));
  const ack = await c.recv();
  expect(ack.results![0].result).toBe(0);
  return c;
}

const call = (c: RawClient, callId: number, opnum: number, stub: Buffer, le = true): Promise<Buffer> => c.call({ le, callId, opnum, stub });

it('ept_map answers the witness port, with max_count equal to max_towers', async () => {
  const c = await epmClient();
  const stub = await call(c, 2, 3, encodeEpt_mapIn({ object: null, map_tower: { tower_length: witnessTower().length, tower_octet_string: witnessTower() }, entry_handle: NIL, max_towers: 500 }));
  expect(stub.readUInt32LE(24)).toBe(500); // max_count after handle(20) + num_towers(4)
  const out = decodeEpt_mapOut(stub);
  expect([out.status, out.num_towers, out.towers.length]).toEqual([0, 1, 1]);
  const floors = decodeFloors(out.towers[0]!.tower_octet_string);
  expect(floors[3].rhs.readUInt16BE(0)).toBe(witnessPort);
  expect([...floors[4].rhs]).toEqual([127, 0, 0, 1]);
});

it('ept_map for an unknown interface → not registered, zero towers', async () => {
  const c = await epmClient();
  const t = encodeFloors([
    syntaxFloor({ uuid: '11111111-2222-3333-4444-555555555555', major: 1, minor: 0 }), syntaxFloor(NDR),
    { lhs: Buffer.from([0x0b]), rhs: Buffer.from([0, 0]) }, { lhs: Buffer.from([0x07]), rhs: Buffer.from([0, 0]) },
  ]);
  const out = decodeEpt_mapOut(await call(c, 2, 3, encodeEpt_mapIn({ object: null, map_tower: { tower_length: t.length, tower_octet_string: t }, entry_handle: NIL, max_towers: 1 })));
  expect([out.status, out.num_towers]).toEqual([EpmStatus.NOT_REGISTERED, 0]);
});

it('ept_map from a big-endian client', async () => {
  const c = await epmClient(false);
  const stub = await call(c, 2, 3, encodeEpt_mapIn({ object: '00000000-0000-0000-0000-000000000000', map_tower: { tower_length: witnessTower().length, tower_octet_string: witnessTower() }, entry_handle: NIL, max_towers: 4 }, false), false);
  const out = decodeEpt_mapOut(stub, false);
  expect(out.status).toBe(0);
  expect(decodeFloors(out.towers[0]!.tower_octet_string)[3].rhs.readUInt16BE(0)).toBe(witnessPort);
});

it('ept_lookup enumerates entry by entry until not registered; handles free and die with the group', async () => {
  const c = await epmClient();
  let handle = NIL;
  const names: string[] = [];
  for (let i = 0; i < 10; i++) {
    const out = decodeEpt_lookupOut(await call(c, 10 + i, 2, encodeEpt_lookupIn({ inquiry_type: 0, object: null, interface_id: null, vers_option: 1, entry_handle: handle, max_ents: 1 })));
    if (out.status === EpmStatus.NOT_REGISTERED) {
      expect(out.entry_handle).toEqual(NIL);
      break;
    }
    expect(out.status).toBe(0);
    names.push(...out.entries.map((e) => e.annotation));
    handle = out.entry_handle;
  }
  expect(names).toEqual(['epmapper', 'witness']);
  const first = decodeEpt_lookupOut(await call(c, 30, 2, encodeEpt_lookupIn({ inquiry_type: 0, object: null, interface_id: null, vers_option: 1, entry_handle: NIL, max_ents: 1 })));
  expect(epm.map.openHandles).toBe(1);
  const freed = decodeEpt_lookup_handle_freeOut(await call(c, 31, 4, encodeEpt_lookup_handle_freeIn({ entry_handle: first.entry_handle })));
  expect([freed.status, freed.entry_handle]).toEqual([0, NIL]);
  expect(epm.map.openHandles).toBe(0);
  await call(c, 32, 2, encodeEpt_lookupIn({ inquiry_type: 0, object: null, interface_id: null, vers_option: 1, entry_handle: NIL, max_ents: 1 }));
  expect(epm.map.openHandles).toBe(1);
  await c.close();
  for (let i = 0; i < 100 && epm.map.openHandles > 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(epm.map.openHandles).toBe(0);
});

it('hostile counts (ept_insert with 2^31 entries, ept_map/lookup asking for 2^32-1) neither allocate nor hang', async () => {
  const c = await epmClient();
  const huge = Buffer.alloc(12);
  huge.writeUInt32LE(0x7fffffff, 0); // num_ents
  huge.writeUInt32LE(0x7fffffff, 4); // max_count of entries[]
  c.send(request({ callId: 2, opnum: 0, stub: huge }));
  expect((await c.recv()).status).toBe(0x6f7);
  const map = decodeEpt_mapOut(await call(c, 3, 3, encodeEpt_mapIn({ object: null, map_tower: { tower_length: witnessTower().length, tower_octet_string: witnessTower() }, entry_handle: NIL, max_towers: 0xffffffff })));
  expect([map.status, map.num_towers]).toEqual([0, 1]);
  const look = decodeEpt_lookupOut(await call(c, 4, 2, encodeEpt_lookupIn({ inquiry_type: 0, object: null, interface_id: null, vers_option: 1, entry_handle: NIL, max_ents: 0xffffffff })));
  expect([look.status, look.num_ents]).toEqual([EpmStatus.NOT_REGISTERED, 2]);
});

it('ept_insert is refused with access denied; unknown opnum and garbage fault', async () => {
  const c = await epmClient();
  const out = decodeEpt_insertOut(await call(c, 2, 0, encodeEpt_insertIn({ num_ents: 0, entries: [], replace: 0 })));
  expect(out.status).toBe(5);
  c.send(request({ callId: 3, opnum: 9, stub: Buffer.alloc(0) }));
  expect((await c.recv()).status).toBe(0x1c010002);
  c.send(request({ callId: 4, opnum: 3, stub: Buffer.from([1, 2, 3]) }));
  expect((await c.recv()).status).toBe(0x6f7);
});
