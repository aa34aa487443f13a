// The byte examples of MS-SWN.md §2-4 (Windows captures and Spec examples), encoded and
// decoded through the generated src/gen/witness.ts.
import { dispatchCall } from '../../helpers/calls';
import {
  CLIENT_MOVE_NOTIFICATION, createWitnessInterface, decodeWitnessrAsyncNotifyOut, decodeWitnessrGetInterfaceListOut,
  decodeWitnessrRegisterExIn, decodeWitnessrRegisterIn, decodeWitnessrUnRegisterIn, encodeWitnessrAsyncNotifyOut,
  encodeWitnessrGetInterfaceListOut, encodeWitnessrRegisterExIn, encodeWitnessrRegisterIn, encodeWitnessrRegisterOut,
  IPADDR_V4, RESOURCE_CHANGE_NOTIFICATION, RESOURCE_STATE_UNAVAILABLE, Witness_SYNTAX, WitnessServer,
  WITNESS_INTERFACE_INFO, WITNESS_STATE_AVAILABLE, WITNESS_UNSPECIFIED_VERSION,
} from '../../../src/gen/witness';
import { DispatchFault, NCA_S_OP_RNG_ERROR, NdrError } from '../../../src/ndr';


const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function entry(name: string, ipv4: string, flags: number): WITNESS_INTERFACE_INFO {
  return { InterfaceGroupName: name, Version: WITNESS_UNSPECIFIED_VERSION, State: WITNESS_STATE_AVAILABLE, IPV4: ipv4, IPV6: '::', Flags: flags };
}

describe('WitnessrGetInterfaceList response (MS-SWN §2.0, §3.3, Spec §4.1)', () => {
  const list = [entry('NODE02', '192.168.1.22', 5), entry('NODE01', '192.168.1.12', 1)];
  const stub = encodeWitnessrGetInterfaceListOut({ InterfaceList: { NumberOfInterfaces: 2, InterfaceInfo: list }, ReturnValue: 0 });

  it('has the pointer / count / conformance header and 552-byte entries', () => {
    expect(stub.length).toBe(16 + 2 * 552 + 4);
    expect(stub.subarray(0, 16)).toEqual(hex('00000200 02000000 04000200 02000000'));
    expect(stub.readUInt32LE(stub.length - 4)).toBe(0);
  });

  it('lays out one WITNESS_INTERFACE_INFO exactly', () => {
    const e = stub.subarray(16, 16 + 552);
    const name = Buffer.alloc(520);
    name.write('NODE02', 'utf16le');
    expect(e.subarray(0, 520)).toEqual(name);
    expect(e.readUInt32LE(520)).toBe(0xffffffff);
    expect(e.readUInt16LE(524)).toBe(1);
    expect(e.subarray(526, 528)).toEqual(hex('0000'));
    expect(e.subarray(528, 532)).toEqual(hex('c0a80116')); // network order
    expect(e.subarray(532, 548)).toEqual(Buffer.alloc(16));
    expect(e.readUInt32LE(548)).toBe(5);
  });

  it('decodes back to the same value, little- and big-endian', () => {
    expect(decodeWitnessrGetInterfaceListOut(stub)).toEqual({ InterfaceList: { NumberOfInterfaces: 2, InterfaceInfo: list }, ReturnValue: 0 });
    const be = encodeWitnessrGetInterfaceListOut({ InterfaceList: { NumberOfInterfaces: 2, InterfaceInfo: list }, ReturnValue: 0 }, false);
    expect(be.subarray(0, 4)).toEqual(hex('00020000'));
    expect(be.subarray(16 + 528, 16 + 532)).toEqual(hex('c0a80116')); // addresses stay in network order
    expect(decodeWitnessrGetInterfaceListOut(be, false).InterfaceList!.InterfaceInfo).toEqual(list);
  });

  it('encodes the error form as a NULL list and the result (8 bytes)', () => {
    expect(encodeWitnessrGetInterfaceListOut({ InterfaceList: null, ReturnValue: 0x103 })).toEqual(hex('00000000 03010000'));
  });

  it('rejects a NumberOfInterfaces that disagrees with the array', () => {
    expect(() => encodeWitnessrGetInterfaceListOut({ InterfaceList: { NumberOfInterfaces: 3, InterfaceInfo: list }, ReturnValue: 0 })).toThrow(NdrError);
    const bad = Buffer.from(stub);
    bad.writeUInt32LE(3, 4); // NumberOfInterfaces 3 but max_count 2
    expect(() => decodeWitnessrGetInterfaceListOut(bad)).toThrow(/max_count.*offset 12.*InterfaceList.InterfaceInfo/);
    bad.writeUInt32LE(2, 4);
    bad.writeUInt32LE(300, 12); // a max_count larger than the stub
    expect(() => decodeWitnessrGetInterfaceListOut(bad)).toThrow(/count 300 exceeds/);
  });
});

describe('WitnessrAsyncNotify response (MS-SWN §4)', () => {
  it('reproduces the 48-byte single RESOURCE_CHANGE capture', () => {
    const want = hex(`00000200 01000000 12000000 01000000 04000200 12000000
      12000000 ff000000 53004f0046005300 0000  0000  00000000`);
    expect(want.length).toBe(48);
    const v = { pResp: { MessageType: RESOURCE_CHANGE_NOTIFICATION, Messages: [{ ChangeType: RESOURCE_STATE_UNAVAILABLE, ResourceName: 'SOFS' }] }, ReturnValue: 0 };
    expect(encodeWitnessrAsyncNotifyOut(v)).toEqual(want);
    expect(decodeWitnessrAsyncNotifyOut(want)).toEqual(v);
  });

  it('gives the Spec example GENERALFS a Length of 28', () => {
    const s = encodeWitnessrAsyncNotifyOut({ pResp: { MessageType: 1, Messages: [{ ChangeType: 0xff, ResourceName: 'GENERALFS' }] }, ReturnValue: 0 });
    expect(s.readUInt32LE(8)).toBe(28);
    expect(s.readUInt32LE(24)).toBe(28);
    expect(s.length).toBe(28 + 28);
  });

  it('reproduces the 64-byte CLIENT_MOVE capture', () => {
    const want = hex(`00000200 02000000 24000000 01000000 04000200 24000000
      24000000 00000000 01000000  01000000 c0a8032d ${'00'.repeat(16)}  00000000`);
    expect(want.length).toBe(64);
    const v = { pResp: { MessageType: CLIENT_MOVE_NOTIFICATION, Messages: [{ IPAddrInfo: [{ Flags: IPADDR_V4, IPV4: '192.168.3.45', IPV6: '::' }] }] }, ReturnValue: 0 };
    expect(encodeWitnessrAsyncNotifyOut(v)).toEqual(want);
    expect(decodeWitnessrAsyncNotifyOut(want)).toEqual(v);
  });

  it('parses and re-encodes an empty IPADDR_INFO_LIST', () => {
    const want = hex('00000200 02000000 0c000000 01000000 04000200 0c000000 0c000000 00000000 00000000 00000000');
    const v = decodeWitnessrAsyncNotifyOut(want);
    expect(v).toEqual({ pResp: { MessageType: 2, Messages: [{ IPAddrInfo: [] }] }, ReturnValue: 0 });
    expect(encodeWitnessrAsyncNotifyOut(v)).toEqual(want);
  });

  it('batches several resource changes into one buffer', () => {
    const v = { pResp: { MessageType: 1 as const, Messages: [{ ChangeType: 1, ResourceName: 'A' }, { ChangeType: 0xff, ResourceName: 'BC' }] }, ReturnValue: 0 };
    const s = encodeWitnessrAsyncNotifyOut(v);
    expect(s.readUInt32LE(8)).toBe(12 + 14);
    expect(s.readUInt32LE(12)).toBe(2);
    expect(decodeWitnessrAsyncNotifyOut(s)).toEqual(v);
  });

  it('encodes the error form as a NULL response and the result', () => {
    expect(encodeWitnessrAsyncNotifyOut({ pResp: null, ReturnValue: 0x5b4 })).toEqual(hex('00000000 b4050000'));
  });
});

describe('WitnessrRegister / RegisterEx requests (MS-SWN §2.1, §2.4, Spec §4.1)', () => {
  it('lays out the Spec example with referents 0x00020000, 0x00020004, 0x00020008', () => {
    const v = { Version: 0x10001, NetName: 'generalfs', IpAddress: '192.168.1.200', ClientComputerName: 'CLIENT01.contoso.com' };
    const s = encodeWitnessrRegisterIn(v);
    const u16 = (t: string): string => Buffer.from(t + '\0', 'utf16le').toString('hex');
    const want = hex(`01000100
      00000200 0a000000 00000000 0a000000 ${u16('generalfs')}
      04000200 0e000000 00000000 0e000000 ${u16('192.168.1.200')}
      08000200 15000000 00000000 15000000 ${u16('CLIENT01.contoso.com')}`);
    expect(s).toEqual(want);
    expect(decodeWitnessrRegisterIn(s)).toEqual(v);
  });

  it('numbers referents only for non-NULL pointers and pads before Flags', () => {
    const v = { Version: 0x20000, NetName: 'fs', ShareName: null, IpAddress: '10.0.0.1', ClientComputerName: 'c', Flags: 1, KeepAliveTimeout: 120 };
    const s = encodeWitnessrRegisterExIn(v);
    // Version, NetName (ptr + 12 + 6 bytes + 2 pad), NULL ShareName, IpAddress ...
    expect(s.readUInt32LE(4)).toBe(0x20000);
    expect(s.readUInt32LE(4 + 4 + 12 + 8)).toBe(0); // NULL ShareName
    expect(s.readUInt32LE(4 + 4 + 12 + 8 + 4)).toBe(0x20004);
    expect(s.readUInt32LE(s.length - 8)).toBe(1);
    expect(s.readUInt32LE(s.length - 4)).toBe(120);
    expect((s.length - 8) % 4).toBe(0);
    expect(decodeWitnessrRegisterExIn(s)).toEqual(v);
  });

  it('encodes the response as a 20-byte handle and the result', () => {
    const s = encodeWitnessrRegisterOut({ ppContext: { attributes: 0, uuid: '8fc957b7-6c9b-9790-496a-f8a0f2193318' }, ReturnValue: 0 });
    expect(s).toEqual(hex('00000000 b757c98f 9b6c 9097 496af8a0f2193318 00000000'));
  });

  it('decodes a context handle and refuses a truncated one with the offset', () => {
    const h = hex('00000000 b757c98f 9b6c 9097 496af8a0f2193318');
    expect(decodeWitnessrUnRegisterIn(h)).toEqual({ pContext: { attributes: 0, uuid: '8fc957b7-6c9b-9790-496a-f8a0f2193318' } });
    expect(() => decodeWitnessrUnRegisterIn(h.subarray(0, 19))).toThrow(/truncated stub.*offset 4.*pContext/);
  });
});

describe('createWitnessInterface', () => {
  const server: WitnessServer<null> = {
    WitnessrGetInterfaceList: () => ({ InterfaceList: null, ReturnValue: 0x103 }),
    WitnessrRegister: (i) => ({ ppContext: { attributes: 0, uuid: '00000000-0000-0000-0000-000000000001' }, ReturnValue: i.Version === 0x10001 ? 0 : 0x51a }),
    WitnessrUnRegister: () => ({ ReturnValue: 0x57 }),
    WitnessrAsyncNotify: (_i, _c, reply) => reply.send({ pResp: null, ReturnValue: 0x490 }),
    WitnessrRegisterEx: () => ({ ppContext: { attributes: 0, uuid: '00000000-0000-0000-0000-000000000000' }, ReturnValue: 0x51a }),
    WitnessrUnRegisterEx: (i) => ({ ppContext: i.ppContext, ReturnValue: 0x57 }),
  };
  const iface = createWitnessInterface(server);

  it('names the interface and its syntax', () => {
    expect(iface.syntax).toEqual(Witness_SYNTAX);
    expect(Witness_SYNTAX).toEqual({ uuid: 'ccd8c074-d0e5-4a40-92b4-d074faa6ba28', major: 1, minor: 1 });
    expect(iface.operationNames[3]).toBe('WitnessrAsyncNotify');
  });

  it('decodes, calls and encodes', async () => {
    await expect(dispatchCall(iface, 0, Buffer.alloc(0), null)).resolves.toEqual(hex('00000000 03010000'));
    const reg = encodeWitnessrRegisterIn({ Version: 0x10001, NetName: 'a', IpAddress: 'b', ClientComputerName: 'c' }, false);
    const out = await dispatchCall(iface, 1, reg, null, false);
    expect(out.length).toBe(24);
    expect(out.readUInt32BE(20)).toBe(0);
  });

  it('faults an unknown opnum with nca_s_op_rng_error and a bad stub with NdrError', async () => {
    await expect(dispatchCall(iface, 6, Buffer.alloc(0), null)).rejects.toEqual(expect.objectContaining({ status: NCA_S_OP_RNG_ERROR }));
    await expect(dispatchCall(iface, 6, Buffer.alloc(0), null)).rejects.toBeInstanceOf(DispatchFault);
    await expect(dispatchCall(iface, 2, Buffer.alloc(3), null)).rejects.toBeInstanceOf(NdrError);
  });
});
