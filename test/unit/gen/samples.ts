// Sample In/Out values for every operation of the generated interfaces: the seeds of the
// round-trip and randomized tests (and the codec benchmark reuses the same shapes).
import type { NdrModule } from '../../../src/ndr';
import { Clusapi_MODULE } from '../../../src/gen/clusapi';
import { Epm_MODULE } from '../../../src/gen/epm';
import { Mgmt_MODULE } from '../../../src/gen/mgmt';
import { Witness_MODULE } from '../../../src/gen/witness';

const H0 = { attributes: 0, uuid: '00000000-0000-0000-0000-000000000000' };
const H1 = { attributes: 1, uuid: '8fc957b7-6c9b-9790-496a-f8a0f2193318' };
const tower = (n: number): { tower_length: number; tower_octet_string: Buffer } => ({ tower_length: n, tower_octet_string: Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff)) });

function iface(i: number, v6 = false): object {
  return {
    InterfaceGroupName: `NODE${i}`, Version: 0x20000, State: i % 2 ? 1 : 0xff,
    IPV4: v6 ? '0.0.0.0' : `10.0.${i >> 8}.${i & 0xff}`, IPV6: v6 ? `fd00::${i.toString(16)}` : '::', Flags: v6 ? 2 | 4 : 1,
  };
}

export type Samples = Record<string, { in: unknown[]; out: unknown[] }>;

export const WITNESS_SAMPLES: Samples = {
  WitnessrGetInterfaceList: {
    in: [{}],
    out: [
      { InterfaceList: null, ReturnValue: 0x103 },
      { InterfaceList: { NumberOfInterfaces: 0, InterfaceInfo: null }, ReturnValue: 0 },
      { InterfaceList: { NumberOfInterfaces: 0, InterfaceInfo: [] }, ReturnValue: 0 },
      { InterfaceList: { NumberOfInterfaces: 3, InterfaceInfo: [iface(1), iface(2, true), iface(3)] }, ReturnValue: 0 },
    ],
  },
  WitnessrRegister: {
    in: [
      { Version: 0x10001, NetName: 'generalfs', IpAddress: '192.168.1.200', ClientComputerName: 'CLIENT01.contoso.com' },
      { Version: 0, NetName: null, IpAddress: null, ClientComputerName: null },
      { Version: 0x10001, NetName: '', IpAddress: 'fe80::1', ClientComputerName: 'Zürich' },
    ],
    out: [{ ppContext: H1, ReturnValue: 0 }, { ppContext: H0, ReturnValue: 0x51a }],
  },
  WitnessrUnRegister: { in: [{ pContext: H1 }], out: [{ ReturnValue: 0x57 }] },
  WitnessrAsyncNotify: {
    in: [{ pContext: H1 }],
    out: [
      { pResp: null, ReturnValue: 0x5b4 },
      { pResp: { MessageType: 1, Messages: [{ ChangeType: 0xff, ResourceName: 'SOFS' }, { ChangeType: 1, ResourceName: '10.0.0.1' }] }, ReturnValue: 0 },
      { pResp: { MessageType: 2, Messages: [{ IPAddrInfo: [{ Flags: 9, IPV4: '192.168.3.45', IPV6: '::' }, { Flags: 0x12, IPV4: '0.0.0.0', IPV6: '2001:db8::7' }] }] }, ReturnValue: 0 },
      { pResp: { MessageType: 3, Messages: [{ IPAddrInfo: [] }] }, ReturnValue: 0 },
      { pResp: { MessageType: 4, Messages: [] }, ReturnValue: 0 },
    ],
  },
  WitnessrRegisterEx: {
    in: [
      { Version: 0x20000, NetName: 'fs', ShareName: null, IpAddress: '10.0.0.1', ClientComputerName: 'c.example', Flags: 1, KeepAliveTimeout: 120 },
      { Version: 0x20000, NetName: 'fs', ShareName: 'share$', IpAddress: '10.0.0.1', ClientComputerName: 'c', Flags: 0, KeepAliveTimeout: 0 },
    ],
    out: [{ ppContext: H1, ReturnValue: 0 }],
  },
  WitnessrUnRegisterEx: { in: [{ ppContext: H1 }], out: [{ ppContext: H0, ReturnValue: 0 }] },
};

const entry = (annotation: string, t: ReturnType<typeof tower> | null): object => ({ object: '00000000-0000-0000-0000-000000000000', tower: t, annotation });

export const EPM_SAMPLES: Samples = {
  ept_insert: {
    in: [{ num_ents: 2, entries: [entry('Witness', tower(75)), entry('', null)], replace: 1 }, { num_ents: 0, entries: [], replace: 0 }],
    out: [{ status: 0 }],
  },
  ept_delete: { in: [{ num_ents: 1, entries: [entry('x', tower(5))] }], out: [{ status: 0x16c9a0d6 }] },
  ept_lookup: {
    in: [
      { inquiry_type: 0, object: null, interface_id: null, vers_option: 1, entry_handle: H0, max_ents: 500 },
      { inquiry_type: 1, object: '11111111-2222-3333-4444-555555555555', interface_id: { uuid: 'ccd8c074-d0e5-4a40-92b4-d074faa6ba28', vers_major: 1, vers_minor: 1 }, vers_option: 3, entry_handle: H1, max_ents: 1 },
    ],
    out: [
      { entry_handle: H1, num_ents: 2, entries: [entry('Witness', tower(75)), entry('', null)], status: 0, max_ents: 500 },
      { entry_handle: H0, num_ents: 0, entries: [], status: 0x16c9a0d6, max_ents: 0 },
    ],
  },
  ept_map: {
    in: [
      { object: null, map_tower: tower(75), entry_handle: H0, max_towers: 4 },
      { object: '00000000-0000-0000-0000-000000000000', map_tower: null, entry_handle: H1, max_towers: 1 },
    ],
    out: [
      { entry_handle: H0, num_towers: 1, towers: [tower(75)], status: 0, max_towers: 4 },
      { entry_handle: H1, num_towers: 2, towers: [tower(1), null], status: 0, max_towers: 2 },
      { entry_handle: H0, num_towers: 0, towers: [], status: 0x16c9a0d6, max_towers: 0 },
    ],
  },
  ept_lookup_handle_free: { in: [{ entry_handle: H1 }], out: [{ entry_handle: H0, status: 0 }] },
};

export const CLUSAPI_SAMPLES: Samples = {
  ApiOpenResource: { in: [{ lpszResourceName: 'SVM1' }], out: [{ Status: 0, rpc_status: 0, ReturnValue: H1 }] },
  ApiCloseResource: { in: [{ Resource: H1 }], out: [{ Resource: H0, ReturnValue: 0 }] },
  ApiGetResourceState: {
    in: [{ hResource: H1 }],
    out: [{ State: 2, NodeName: 'node-a', GroupName: 'SVM1', rpc_status: 0, ReturnValue: 0 }, { State: 0xffffffff, NodeName: null, GroupName: null, rpc_status: 0, ReturnValue: 5 }],
  },
  ApiOnlineResource: { in: [{ hResource: H1 }], out: [{ rpc_status: 0, ReturnValue: 0 }] },
  ApiOfflineResource: { in: [{ hResource: H1 }], out: [{ rpc_status: 0, ReturnValue: 997 }] },
};

export const MGMT_SAMPLES: Samples = {
  rpc__mgmt_inq_if_ids: {
    in: [{}],
    out: [
      { if_id_vector: { count: 2, if_id: [{ uuid: 'ccd8c074-d0e5-4a40-92b4-d074faa6ba28', vers_major: 1, vers_minor: 1 }, null] }, status: 0 },
      { if_id_vector: null, status: 5 },
    ],
  },
  rpc__mgmt_inq_stats: { in: [{ count: 4 }, { count: 0 }], out: [{ count: 4, statistics: [1, 0, 7, 6], status: 0 }, { count: 0, statistics: [], status: 0 }] },
  rpc__mgmt_is_server_listening: { in: [{}], out: [{ status: 0, ReturnValue: 1 }] },
  rpc__mgmt_stop_server_listening: { in: [{}], out: [{ status: 5 }] },
  rpc__mgmt_inq_princ_name: {
    in: [{ authn_proto: 10, princ_name_size: 256 }],
    out: [{ princ_name: 'DOM\\HOST$', princ_name_size: 256, status: 0 }, { princ_name: '', princ_name_size: 1, status: 1747 }],
  },
};

export const MODULES: [NdrModule, Samples][] = [[Witness_MODULE, WITNESS_SAMPLES], [Epm_MODULE, EPM_SAMPLES], [Clusapi_MODULE, CLUSAPI_SAMPLES], [Mgmt_MODULE, MGMT_SAMPLES]];
