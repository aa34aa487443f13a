// Endpoint mapper stubs (C706 appendix O): the layouts the RPC runtime's EPM relies on.
import { dispatchCall } from '../../helpers/calls';
import {
  createEpmInterface, decodeEpt_lookupIn, decodeEpt_lookupOut, decodeEpt_mapIn, decodeEpt_mapOut, encodeEpt_lookupIn,
  encodeEpt_lookupOut, encodeEpt_mapIn, encodeEpt_mapOut, Epm_OPNUMS, Epm_SYNTAX, EpmServer,
} from '../../../src/gen/epm';
import { NCA_S_OP_RNG_ERROR } from '../../../src/ndr';


const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const NIL = { attributes: 0, uuid: '00000000-0000-0000-0000-000000000000' };
const tower = Buffer.from('05001300' + '0d'.repeat(71), 'hex'); // 75 bytes, content opaque here

describe('ept_map', () => {
  it('encodes the request: full pointers (ids 1, 2, ...), hoisted tower conformance, handle, max_towers', () => {
    const s = encodeEpt_mapIn({ object: null, map_tower: { tower_length: 75, tower_octet_string: tower }, entry_handle: NIL, max_towers: 4 });
    expect(s.subarray(0, 16)).toEqual(hex('00000000 01000000 4b000000 4b000000'));
    expect(s.subarray(16, 16 + 75)).toEqual(tower);
    expect(s.subarray(91, 92)).toEqual(hex('00')); // pad to 4
    expect(s.subarray(92, 112)).toEqual(Buffer.alloc(20));
    expect(s.readUInt32LE(112)).toBe(4);
    expect(s.length).toBe(116);
  });

  it('decodes a request whose referent ids are not 0x0002xxxx (Windows full pointers)', () => {
    const s = Buffer.concat([
      hex('01000000'), Buffer.alloc(16, 0), hex('02000000 4b000000 4b000000'), tower, hex('00'), Buffer.alloc(20), hex('04000000'),
    ]);
    const v = decodeEpt_mapIn(s);
    expect(v.object).toBe('00000000-0000-0000-0000-000000000000');
    expect(v.map_tower).toEqual({ tower_length: 75, tower_octet_string: tower });
    expect(v.max_towers).toBe(4);
  });

  it('encodes the response: varying array of tower pointers, deferred towers, status', () => {
    const out = { entry_handle: NIL, num_towers: 1, towers: [{ tower_length: 75, tower_octet_string: tower }], status: 0, max_towers: 4 };
    const s = encodeEpt_mapOut(out);
    expect(s.subarray(20, 44)).toEqual(hex('01000000 04000000 00000000 01000000 01000000 4b000000'));
    expect(s.readUInt32LE(44)).toBe(75);
    expect(s.subarray(48, 48 + 75)).toEqual(tower);
    expect(s.readUInt32LE(124)).toBe(0);
    expect(s.length).toBe(128);
    expect(decodeEpt_mapOut(s)).toEqual(out);
  });

  it('dispatch takes max_count from the request when the server leaves max_towers out', async () => {
    const server: EpmServer<null> = {
      ept_insert: () => ({ status: 5 }),
      ept_delete: () => ({ status: 5 }),
      ept_lookup: () => ({ entry_handle: NIL, num_ents: 0, entries: [], status: 0x16c9a0d6 }),
      ept_map: () => ({ entry_handle: NIL, num_towers: 0, towers: [], status: 0x16c9a0d6 }),
      ept_lookup_handle_free: (i) => ({ entry_handle: i.entry_handle, status: 0 }),
    };
    const iface = createEpmInterface(server);
    expect(Epm_SYNTAX).toEqual({ uuid: 'e1af8308-5d1f-11c9-91a4-08002b14a0fa', major: 3, minor: 0 });
    expect(Epm_OPNUMS).toEqual({ ept_insert: 0, ept_delete: 1, ept_lookup: 2, ept_map: 3, ept_lookup_handle_free: 4 });
    const req = encodeEpt_mapIn({ object: null, map_tower: { tower_length: 75, tower_octet_string: tower }, entry_handle: NIL, max_towers: 500 });
    const res = await dispatchCall(iface, 3, req, null);
    expect(res).toEqual(Buffer.concat([Buffer.alloc(20), hex('00000000 f4010000 00000000 00000000 d6a0c916')]));
    await expect(dispatchCall(iface, 7, req, null)).rejects.toEqual(expect.objectContaining({ status: NCA_S_OP_RNG_ERROR }));
  });
});

describe('ept_lookup', () => {
  it('round-trips a request and a response with entries, towers and annotations', () => {
    const inV = { inquiry_type: 0, object: null, interface_id: { uuid: 'ccd8c074-d0e5-4a40-92b4-d074faa6ba28', vers_major: 1, vers_minor: 1 }, vers_option: 1, entry_handle: NIL, max_ents: 500 };
    expect(decodeEpt_lookupIn(encodeEpt_lookupIn(inV))).toEqual(inV);
    const out = {
      entry_handle: { attributes: 0, uuid: '11111111-2222-3333-4444-555555555555' }, num_ents: 2,
      entries: [
        { object: '00000000-0000-0000-0000-000000000000', tower: { tower_length: 3, tower_octet_string: Buffer.from([1, 2, 3]) }, annotation: 'Witness' },
        { object: '00000000-0000-0000-0000-000000000000', tower: null, annotation: '' },
      ],
      status: 0, max_ents: 500,
    };
    const s = encodeEpt_lookupOut(out);
    // conformance 500, offset 0, actual 2, then entry 0: object, tower referent, annotation offset/actual
    expect(s.subarray(24, 36)).toEqual(hex('f4010000 00000000 02000000'));
    expect(s.readUInt32LE(36 + 16)).toBe(1); // [ptr] tower: full-pointer id 1
    expect(s.subarray(56, 64)).toEqual(hex('00000000 08000000'));
    expect(s.subarray(64, 72).toString('latin1')).toBe('Witness\0');
    expect(decodeEpt_lookupOut(s)).toEqual(out);
  });
});
