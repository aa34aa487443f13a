/**
 * The generated WitnessServer<CallContext> over the domain service: wire types in, domain
 * calls, wire types out. Nothing here decides protocol behaviour.
 */
import { NIL_UUID, type ContextHandle } from '../ndr';
import { LastMemo } from '../lib/last-memo';
import type { CallContext } from '../rpc/call-context';
import type { Reply } from '../ndr/dispatch';
import {
  RESOURCE_CHANGE_NOTIFICATION,
  type RESP_ASYNC_NOTIFY,
  type WITNESS_INTERFACE_INFO,
  type WitnessServer,
  type WitnessrAsyncNotifyOut,
  type WitnessrGetInterfaceListOut,
} from '../gen/witness';
import { WERR } from './constants';
import type { NotifyReply } from './registry';
import type { WitnessService } from './service';
import type { AsyncNotifyResult, InterfaceInfo, IpAddrInfo, Notification } from './types';

const NULL_HANDLE: ContextHandle = { attributes: 0, uuid: NIL_UUID };
const handleOf = (id: string | undefined): ContextHandle => (id ? { attributes: 0, uuid: id } : NULL_HANDLE);
const str = (s: string | null): string | undefined => (s === null ? undefined : s);

export function toWireInterface(i: InterfaceInfo): WITNESS_INTERFACE_INFO {
  return {
    InterfaceGroupName: i.groupName,
    Version: i.version,
    State: i.state,
    IPV4: i.ipv4 ?? '0.0.0.0',
    IPV6: i.ipv6 ?? '::',
    Flags: i.flags,
  };
}

export function toWireResponse(n: Notification): RESP_ASYNC_NOTIFY {
  if (n.type === RESOURCE_CHANGE_NOTIFICATION) {
    return { MessageType: n.type, Messages: n.changes.map((c) => ({ ChangeType: c.changeType, ResourceName: c.name })) };
  }
  const list = (l: readonly IpAddrInfo[]) => ({ IPAddrInfo: l.map((a) => ({ Flags: a.flags, IPV4: a.ipv4 ?? '0.0.0.0', IPV6: a.ipv6 ?? '::' })) });
  return { MessageType: n.type, Messages: [n.addresses, ...(n.moreLists ?? [])].map(list) };
}

/** An AsyncNotify answer on the wire; the same result object (a fan-out's shared response) gives the same object. */
const asyncNotifyOut = (response: Notification | undefined, result: number): WitnessrAsyncNotifyOut =>
  ({ pResp: response ? toWireResponse(response) : null, ReturnValue: result });

/** Called with each operation's WERROR result (metrics). */
export type ResultHook = (operation: string, result: number) => void;

export function createWitnessServer(svc: WitnessService, onResult: ResultHook = () => undefined): WitnessServer<CallContext> {
  /** The answer sent last: a fan-out sends one shared answer to every waiting call (encoded once, src/rpc/call.ts). */
  const answers = new LastMemo<WitnessrAsyncNotifyOut>();
  /** A waiting AsyncNotify as the registry holds it: the runtime's reply handle only (~32 B). */
  class AsyncNotifyReply implements NotifyReply {
    constructor(private readonly reply: Reply<WitnessrAsyncNotifyOut>) {}

    send(r: AsyncNotifyResult): void {
      onResult('AsyncNotify', r.result);
      this.reply.send(answers.get(r.response, r.result, undefined, asyncNotifyOut));
    }
  }

  return {
    WitnessrGetInterfaceList(_in, ctx): WitnessrGetInterfaceListOut {
      const r = svc.getInterfaceList(ctx);
      onResult('GetInterfaceList', r.result);
      if (r.result !== WERR.OK) return { InterfaceList: null, ReturnValue: r.result };
      const InterfaceInfo = r.interfaces.map(toWireInterface);
      return { InterfaceList: { NumberOfInterfaces: InterfaceInfo.length, InterfaceInfo }, ReturnValue: WERR.OK };
    },

    WitnessrRegister(i, ctx) {
      const r = svc.register(
        ctx,
        { version: i.Version, netName: str(i.NetName), ipAddress: str(i.IpAddress), clientName: str(i.ClientComputerName) },
        false,
      );
      onResult('Register', r.result);
      return { ppContext: handleOf(r.handle), ReturnValue: r.result };
    },

    WitnessrUnRegister(i, ctx) {
      const result = svc.unRegister(ctx, i.pContext.uuid);
      onResult('UnRegister', result);
      return { ReturnValue: result };
    },

    WitnessrAsyncNotify(i, ctx, reply) {
      svc.asyncNotify(ctx, i.pContext.uuid, new AsyncNotifyReply(reply));
    },

    WitnessrRegisterEx(i, ctx) {
      const r = svc.register(
        ctx,
        {
          version: i.Version,
          netName: str(i.NetName),
          shareName: str(i.ShareName),
          ipAddress: str(i.IpAddress),
          clientName: str(i.ClientComputerName),
          flags: i.Flags,
          keepAliveTimeout: i.KeepAliveTimeout,
        },
        true,
      );
      onResult('RegisterEx', r.result);
      return { ppContext: handleOf(r.handle), ReturnValue: r.result };
    },

    WitnessrUnRegisterEx(i, ctx) {
      const result = svc.unRegisterEx(ctx, i.ppContext.uuid);
      onResult('UnRegisterEx', result);
      // Spec: the handle comes back NULL on success; unchanged otherwise.
      return { ppContext: result === WERR.OK ? NULL_HANDLE : i.ppContext, ReturnValue: result };
    },
  };
}
