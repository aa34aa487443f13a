import { EndpointMap, EpmStatus, Inquiry, NIL_UUID, VersOption } from '../../../src/rpc/epm/endpoint-map';
import { FloorProtocol, TowerError, decodeFloors, decodeMapRequest, encodeFloors, encodeTcpTower, floorSyntax, syntaxFloor } from '../../../src/rpc/epm/tower';
import type { RpcEndpoint } from '../../../src/rpc/server';
import type { AssociationGroupRef } from '../../../src/rpc/call-context';

const WITNESS = { uuid: 'ccd8c074-d0e5-4a40-92b4-d074faa6ba28', major: 1, minor: 1 };
const EPM = { uuid: 'e1af8308-5d1f-11c9-91a4-08002b14a0fa', major: 3, minor: 0 };
const NDR = { uuid: '8a885d04-1ceb-11c9-9fe8-08002b104860', major: 2, minor: 0 };
const NDR64 = { uuid: '71710533-beba-4937-8319-b5dbef9ccc36', major: 1, minor: 0 };

/** The tower rpcclient sends for `epmmap witness ncacn_ip_tcp` (INTEROP.md §3). */
function rpcclientTower(iface = WITNESS, transfer = NDR, proto: number = FloorProtocol.TCP): Buffer {
  return encodeFloors([
    syntaxFloor(iface), syntaxFloor(transfer),
    { lhs: Buffer.from([0x0b]), rhs: Buffer.from([0, 0]) },
    { lhs: Buffer.from([proto]), rhs: Buffer.from([0, 0]) },
    { lhs: Buffer.from([0x09]), rhs: Buffer.from([0, 0, 0, 0]) },
  ]);
}

function group(id = 1): AssociationGroupRef & { fire(): void } {
  const ls: Array<(g: AssociationGroupRef) => void> = [];
  const g: AssociationGroupRef & { fire(): void } = { id, onClose: (l) => { ls.push(l); return () => undefined; }, fire: () => ls.forEach((l) => l(g)) };
  return g;
}

const endpoints: RpcEndpoint[] = [
  { name: 'epmapper', protocol: 'ncacn_ip_tcp', port: 135, addresses: ['127.0.0.1'], interfaces: [EPM], ndr64Interfaces: [EPM] },
  { name: 'witness', protocol: 'ncacn_ip_tcp', port: 49701, addresses: ['0.0.0.0', '::'], interfaces: [WITNESS], ndr64Interfaces: [] },
];

describe('towers', () => {
  it('encodes the five ncacn_ip_tcp floors byte for byte', () => {
    const t = encodeTcpTower({ iface: WITNESS, transfer: NDR, port: 49701, ip: '127.0.0.2' });
    expect(t.toString('hex')).toBe(
      '0500' +
      '1300' + '0d' + '74c0d8cce5d0404a92b4d074faa6ba28' + '0100' + '0200' + '0100' +
      '1300' + '0d' + '045d888aeb1cc9119fe808002b104860' + '0200' + '0200' + '0000' +
      '0100' + '0b' + '0200' + '0000' +
      '0100' + '07' + '0200' + 'c225' +
      '0100' + '09' + '0400' + '7f000002',
    );
    const floors = decodeFloors(t);
    expect(floorSyntax(floors[0])).toEqual(WITNESS);
    expect(floorSyntax(floors[1])).toEqual(NDR);
    expect(floors[3].rhs.readUInt16BE(0)).toBe(49701);
  });

  it('refuses hostile towers with a TowerError', () => {
    expect(() => decodeFloors(Buffer.from([1]))).toThrow(TowerError);
    expect(() => decodeFloors(Buffer.from([0xff, 0xff]))).toThrow(/floors/);
    expect(() => decodeFloors(Buffer.from([1, 0, 5, 0, 1]))).toThrow(/truncated/);
    expect(() => decodeMapRequest(encodeFloors([syntaxFloor(WITNESS)]))).toThrow(/at least 3/);
    expect(() => decodeMapRequest(encodeFloors([{ lhs: Buffer.from([7]), rhs: Buffer.alloc(2) }, syntaxFloor(NDR), syntaxFloor(NDR)]))).toThrow(/interface/);
  });
});

describe('ept_map', () => {
  const m = new EndpointMap(() => endpoints);

  it('maps a registered interface to its TCP port, with the address the client used', () => {
    const r = m.map(rpcclientTower(), 500, '127.0.0.1');
    expect(r.status).toBe(EpmStatus.OK);
    expect(r.towers).toHaveLength(1);
    const f = decodeFloors(r.towers[0]);
    expect(f.map((x) => x.lhs[0])).toEqual([0x0d, 0x0d, 0x0b, 0x07, 0x09]);
    expect(f[3].rhs.readUInt16BE(0)).toBe(49701);
    expect([...f[4].rhs]).toEqual([127, 0, 0, 1]);
    expect(m.map(rpcclientTower(), 1, '::ffff:10.1.2.3').towers.length).toBe(1);
    expect([...decodeFloors(m.map(rpcclientTower(), 1, '::ffff:10.1.2.3').towers[0])[4].rhs]).toEqual([10, 1, 2, 3]);
  });

  it('answers an NDR64 tower with an NDR64 tower where the interface is served in NDR64', () => {
    const r = m.map(rpcclientTower(EPM, NDR64), 10, '127.0.0.1');
    expect(r.status).toBe(EpmStatus.OK);
    const f = decodeFloors(r.towers[0]);
    expect(floorSyntax(f[0])).toEqual(EPM);
    expect(floorSyntax(f[1])).toEqual(NDR64);
    expect(f[3].rhs.readUInt16BE(0)).toBe(135);
    expect(floorSyntax(decodeFloors(m.map(rpcclientTower(EPM, NDR), 10, '127.0.0.1').towers[0])[1])).toEqual(NDR);
  });

  it('accepts an older minor version, refuses a newer one, another major, NDR64 where not served and non-TCP protocols', () => {
    expect(m.map(rpcclientTower({ ...WITNESS, minor: 0 }), 1, '127.0.0.1').status).toBe(EpmStatus.OK);
    for (const t of [
      rpcclientTower({ ...WITNESS, minor: 2 }), rpcclientTower({ ...WITNESS, major: 2 }),
      rpcclientTower(WITNESS, NDR64), rpcclientTower(WITNESS, NDR, FloorProtocol.NAMED_PIPE),
      rpcclientTower({ uuid: '11111111-2222-3333-4444-555555555555', major: 1, minor: 0 }),
    ]) {
      expect(m.map(t, 10, '127.0.0.1')).toEqual({ towers: [], status: EpmStatus.NOT_REGISTERED });
    }
  });

  it('answers CANT_PERFORM_OP for a missing or broken tower and max_towers 0', () => {
    expect(m.map(undefined, 1, '127.0.0.1').status).toBe(EpmStatus.CANT_PERFORM_OP);
    expect(m.map(Buffer.from([9, 9]), 1, '127.0.0.1').status).toBe(EpmStatus.CANT_PERFORM_OP);
    expect(m.map(rpcclientTower(), 0, '127.0.0.1').status).toBe(EpmStatus.CANT_PERFORM_OP);
  });

  it('prefers endpoints that serve the address the client reached', () => {
    const two = new EndpointMap(() => [
      { name: 'w1', protocol: 'ncacn_ip_tcp', port: 1001, addresses: ['10.0.0.1'], interfaces: [WITNESS], ndr64Interfaces: [] },
      { name: 'w2', protocol: 'ncacn_ip_tcp', port: 1002, addresses: ['10.0.0.2'], interfaces: [WITNESS], ndr64Interfaces: [] },
    ]);
    expect(decodeFloors(two.map(rpcclientTower(), 5, '10.0.0.2').towers[0])[3].rhs.readUInt16BE(0)).toBe(1002);
    expect(two.map(rpcclientTower(), 5, '10.9.9.9').towers).toHaveLength(2);
  });
});

describe('ept_lookup', () => {
  it('enumerates every entry one by one, then NOT_REGISTERED with a nil handle', () => {
    const m = new EndpointMap(() => endpoints);
    const g = group();
    const base = { inquiryType: Inquiry.ALL_ELTS, object: undefined, ifId: undefined, versOption: VersOption.ALL, maxEnts: 1, localAddress: '127.0.0.1' };
    const a = m.lookup(g, { ...base, handle: NIL_UUID });
    expect(a.status).toBe(EpmStatus.OK);
    expect(a.entries.map((e) => e.annotation)).toEqual(['epmapper']);
    expect(a.handle).not.toBe(NIL_UUID);
    const b = m.lookup(g, { ...base, handle: a.handle });
    expect(b.entries.map((e) => e.annotation)).toEqual(['witness']);
    expect(b.handle).toBe(a.handle);
    const c = m.lookup(g, { ...base, handle: a.handle });
    expect(c).toEqual({ handle: NIL_UUID, entries: [], status: EpmStatus.NOT_REGISTERED });
    expect(m.openHandles).toBe(0);
  });

  it('filters by interface, frees handles, forgets them when the group closes, and bounds them', () => {
    const m = new EndpointMap(() => endpoints);
    const g = group(7);
    const byIf = { inquiryType: Inquiry.MATCH_BY_IF, object: undefined, ifId: { ...WITNESS, minor: 0 }, versOption: VersOption.COMPATIBLE, maxEnts: 1, localAddress: '127.0.0.1', handle: NIL_UUID };
    const r = m.lookup(g, byIf);
    expect(r.entries.map((e) => e.annotation)).toEqual(['witness']);
    expect(m.freeHandle(g, r.handle)).toBe(EpmStatus.OK);
    expect(m.freeHandle(g, r.handle)).toBe(EpmStatus.CANT_PERFORM_OP);
    expect(m.lookup(g, { ...byIf, ifId: { ...WITNESS, major: 9 } }).status).toBe(EpmStatus.NOT_REGISTERED);
    expect(m.lookup(g, { ...byIf, ifId: undefined }).status).toBe(EpmStatus.CANT_PERFORM_OP);
    expect(m.lookup(g, { ...byIf, handle: '12345678-1234-1234-1234-123456789012' }).status).toBe(EpmStatus.CANT_PERFORM_OP);
    for (let i = 0; i < 100; i++) m.lookup(g, { ...byIf, maxEnts: 1 });
    expect(m.openHandles).toBe(32);
    g.fire();
    expect(m.openHandles).toBe(0);
  });
});

describe('ept_lookup end of enumeration', () => {
  it('returns the last entries with NOT_REGISTERED and a nil handle when fewer than max_ents remain', () => {
    const m = new EndpointMap(() => endpoints);
    const g = group(3);
    const base = { inquiryType: Inquiry.ALL_ELTS, object: undefined, ifId: undefined, versOption: VersOption.ALL, localAddress: '127.0.0.1', handle: NIL_UUID };
    const all = m.lookup(g, { ...base, maxEnts: 10 });
    expect([all.entries.length, all.status, all.handle]).toEqual([2, EpmStatus.NOT_REGISTERED, NIL_UUID]);
    const exact = m.lookup(g, { ...base, maxEnts: 2 });
    expect([exact.entries.length, exact.status]).toEqual([2, EpmStatus.OK]);
    expect(exact.handle).not.toBe(NIL_UUID);
    expect(m.lookup(g, { ...base, maxEnts: 2, handle: exact.handle })).toEqual({ handle: NIL_UUID, entries: [], status: EpmStatus.NOT_REGISTERED });
  });
});
