/**
 * Witness operations over an RpcClient: the generated codec encodes the In stubs and
 * decodes the Out stubs; results come back in the domain types of src/witness/types.
 */
import {
  Witness_OPNUMS,
  Witness_SYNTAX,
  decodeWitnessrAsyncNotifyOut,
  decodeWitnessrGetInterfaceListOut,
  decodeWitnessrRegisterExOut,
  decodeWitnessrRegisterOut,
  decodeWitnessrUnRegisterExOut,
  decodeWitnessrUnRegisterOut,
  encodeWitnessrAsyncNotifyIn,
  encodeWitnessrGetInterfaceListIn,
  encodeWitnessrRegisterExIn,
  encodeWitnessrRegisterIn,
  encodeWitnessrUnRegisterExIn,
  encodeWitnessrUnRegisterIn,
  type RESP_ASYNC_NOTIFY,
  IPADDR_V4,
  IPADDR_V6,
  RESOURCE_CHANGE_NOTIFICATION,
  WITNESS_INFO_IPv4,
  WITNESS_INFO_IPv6,
} from '../gen/witness';
import type { ContextHandle } from '../ndr';
import { type MoveType, WERR } from '../witness/constants';
import type { IpAddrInfo, Notification } from '../witness/types';
import type { CallOptions, RpcClient } from './rpc-client';

export type { ContextHandle };
export const WITNESS_SYNTAX = Witness_SYNTAX;

export interface InterfaceEntry {
  readonly groupName: string;
  readonly version: number;
  readonly state: number;
  readonly ipv4?: string;
  readonly ipv6?: string;
  readonly flags: number;
}

const nullable = (s: string | undefined): string | null => (s === undefined ? null : s);

/** RESP_ASYNC_NOTIFY → domain notification (addresses only for the families flagged). */
export function fromWireResponse(r: RESP_ASYNC_NOTIFY): Notification {
  if (r.MessageType === RESOURCE_CHANGE_NOTIFICATION) {
    const msgs = r.Messages as Array<{ ChangeType: number; ResourceName: string }>;
    return { type: RESOURCE_CHANGE_NOTIFICATION, changes: msgs.map((m) => ({ changeType: m.ChangeType, name: m.ResourceName })) };
  }
  const lists = r.Messages as Array<{ IPAddrInfo: Array<{ Flags: number; IPV4: string; IPV6: string }> }>;
  const addresses: IpAddrInfo[] = [];
  for (const l of lists) {
    for (const a of l.IPAddrInfo) {
      addresses.push({
        flags: a.Flags,
        ...((a.Flags & IPADDR_V4) !== 0 ? { ipv4: a.IPV4 } : {}),
        ...((a.Flags & IPADDR_V6) !== 0 ? { ipv6: a.IPV6 } : {}),
      });
    }
  }
  return { type: r.MessageType as MoveType, addresses };
}

export const witnessCalls = {
  async getInterfaceList(rpc: RpcClient, opts?: CallOptions): Promise<{ result: number; interfaces: InterfaceEntry[] }> {
    const out = decodeWitnessrGetInterfaceListOut(await rpc.call(Witness_OPNUMS.WitnessrGetInterfaceList, encodeWitnessrGetInterfaceListIn({}), opts));
    const interfaces = (out.InterfaceList?.InterfaceInfo ?? []).map((i) => ({
      groupName: i.InterfaceGroupName,
      version: i.Version,
      state: i.State,
      flags: i.Flags,
      ...((i.Flags & WITNESS_INFO_IPv4) !== 0 ? { ipv4: i.IPV4 } : {}),
      ...((i.Flags & WITNESS_INFO_IPv6) !== 0 ? { ipv6: i.IPV6 } : {}),
    }));
    return { result: out.ReturnValue, interfaces };
  },

  async register(
    rpc: RpcClient,
    a: { version: number; netName?: string; ipAddress?: string; clientName?: string },
    opts?: CallOptions,
  ): Promise<{ result: number; handle?: ContextHandle }> {
    const stub = encodeWitnessrRegisterIn({ Version: a.version, NetName: nullable(a.netName), IpAddress: nullable(a.ipAddress), ClientComputerName: nullable(a.clientName) });
    const out = decodeWitnessrRegisterOut(await rpc.call(Witness_OPNUMS.WitnessrRegister, stub, opts));
    return { result: out.ReturnValue, ...(out.ReturnValue === WERR.OK ? { handle: out.ppContext } : {}) };
  },

  async registerEx(
    rpc: RpcClient,
    a: { version: number; netName?: string; shareName?: string; ipAddress?: string; clientName?: string; flags: number; keepAliveTimeout: number },
    opts?: CallOptions,
  ): Promise<{ result: number; handle?: ContextHandle }> {
    const stub = encodeWitnessrRegisterExIn({
      Version: a.version,
      NetName: nullable(a.netName),
      ShareName: nullable(a.shareName),
      IpAddress: nullable(a.ipAddress),
      ClientComputerName: nullable(a.clientName),
      Flags: a.flags,
      KeepAliveTimeout: a.keepAliveTimeout,
    });
    const out = decodeWitnessrRegisterExOut(await rpc.call(Witness_OPNUMS.WitnessrRegisterEx, stub, opts));
    return { result: out.ReturnValue, ...(out.ReturnValue === WERR.OK ? { handle: out.ppContext } : {}) };
  },

  async unRegister(rpc: RpcClient, handle: ContextHandle, opts?: CallOptions): Promise<number> {
    return decodeWitnessrUnRegisterOut(await rpc.call(Witness_OPNUMS.WitnessrUnRegister, encodeWitnessrUnRegisterIn({ pContext: handle }), opts)).ReturnValue;
  },

  async unRegisterEx(rpc: RpcClient, handle: ContextHandle, opts?: CallOptions): Promise<{ result: number; handle: ContextHandle }> {
    const out = decodeWitnessrUnRegisterExOut(await rpc.call(Witness_OPNUMS.WitnessrUnRegisterEx, encodeWitnessrUnRegisterExIn({ ppContext: handle }), opts));
    return { result: out.ReturnValue, handle: out.ppContext };
  },

  async asyncNotify(rpc: RpcClient, handle: ContextHandle, opts?: CallOptions): Promise<{ result: number; response?: Notification }> {
    const out = decodeWitnessrAsyncNotifyOut(await rpc.call(Witness_OPNUMS.WitnessrAsyncNotify, encodeWitnessrAsyncNotifyIn({ pContext: handle }), opts));
    return { result: out.ReturnValue, ...(out.pResp ? { response: fromWireResponse(out.pResp) } : {}) };
  },
};
