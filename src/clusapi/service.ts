/**
 * The clusapi (MS-CMRP v3.0) interface as the RPC runtime serves it: the generated codec
 * (src/gen/clusapi.ts, from idl/clusapi.idl) bound to ClusterResources. Registered on the
 * witness port beside the Witness interface (smbtorture's AsyncNotify connects to the same
 * host and port with a sealed bind). Opnums that are not served get nca_s_op_rng_error from
 * the generated dispatcher.
 */
import type { Logger } from 'pino';
import {
  createClusapiInterface,
  type ApiCloseResourceIn,
  type ApiCloseResourceOut,
  type ApiGetResourceStateIn,
  type ApiGetResourceStateOut,
  type ApiOfflineResourceIn,
  type ApiOfflineResourceOut,
  type ApiOnlineResourceIn,
  type ApiOnlineResourceOut,
  type ApiOpenResourceIn,
  type ApiOpenResourceOut,
  type ClusapiServer,
  type ContextHandle,
} from '../gen/clusapi';
import type { RpcInterface } from '../ndr/dispatch';
import { DispatchFault } from '../ndr/dispatch';
import { NIL_UUID } from '../ndr/types';
import type { CallContext } from '../rpc/call-context';
import { principalName } from '../rpc/security';
import { ClusterResources, ERROR, type ClusapiOptions, type ClusterControlModel } from './resources';

export interface ClusapiServiceDeps extends ClusapiOptions {
  /** The cluster model (ClusterModel): read views plus setLifUp / setLifDown. */
  readonly model: ClusterControlModel;
  readonly logger: Logger;
}

export interface ClusapiService {
  readonly rpcInterface: RpcInterface<CallContext>;
  readonly resources: ClusterResources;
}

const NULL_HANDLE: ContextHandle = { attributes: 0, uuid: NIL_UUID };

/** Handle attributes we hand out (0, like Windows and Samba for server-created handles). */
const HANDLE_ATTRIBUTES = 0;

function handleOf(id: string): ContextHandle {
  return { attributes: HANDLE_ATTRIBUTES, uuid: id };
}

export function createClusapiService(deps: ClusapiServiceDeps): ClusapiService {
  const log = deps.logger.child({ component: 'clusapi' });
  const resources = new ClusterResources(deps.model, log, deps);

  /**
   * Calls below the required level end in fault 0x5 (access denied), as the Witness
   * interface does (MS-SWN Decisions 10); MS-CMRP leaves the mechanism to the runtime.
   */
  const guard = (ctx: CallContext, op: string): void => {
    const verdict = resources.checkAccess(ctx);
    if (verdict) {
      log.warn({ op, client: principalName(ctx.identity), from: ctx.remoteAddress, authLevel: ctx.authLevel, reason: verdict.reason }, 'clusapi call refused');
      throw new DispatchFault(verdict.status, `clusapi ${op}: ${verdict.reason}`);
    }
  };

  const server: ClusapiServer<CallContext> = {
    ApiOpenResource(input: ApiOpenResourceIn, ctx: CallContext): ApiOpenResourceOut {
      guard(ctx, 'ApiOpenResource');
      const r = resources.open(ctx, input.lpszResourceName);
      // rpc_status reports the RPC runtime's own result: the call was executed.
      return { Status: r.status, rpc_status: 0, ReturnValue: r.handle ? handleOf(r.handle.id) : NULL_HANDLE };
    },

    ApiCloseResource(input: ApiCloseResourceIn, ctx: CallContext): ApiCloseResourceOut {
      guard(ctx, 'ApiCloseResource');
      const status = resources.close(ctx, input.Resource.uuid);
      // A closed handle comes back zeroed (MS-CMRP 3.1.4.2.12); an invalid one unchanged.
      return { Resource: status === ERROR.SUCCESS ? NULL_HANDLE : input.Resource, ReturnValue: status };
    },

    ApiGetResourceState(input: ApiGetResourceStateIn, ctx: CallContext): ApiGetResourceStateOut {
      guard(ctx, 'ApiGetResourceState');
      const s = resources.getState(ctx, input.hResource.uuid);
      if (s.status !== ERROR.SUCCESS) return { State: s.state, NodeName: null, GroupName: null, rpc_status: 0, ReturnValue: s.status };
      return { State: s.state, NodeName: s.nodeName, GroupName: s.groupName, rpc_status: 0, ReturnValue: ERROR.SUCCESS };
    },

    ApiOnlineResource(input: ApiOnlineResourceIn, ctx: CallContext): ApiOnlineResourceOut {
      guard(ctx, 'ApiOnlineResource');
      return { rpc_status: 0, ReturnValue: resources.online(ctx, input.hResource.uuid) };
    },

    ApiOfflineResource(input: ApiOfflineResourceIn, ctx: CallContext): ApiOfflineResourceOut {
      guard(ctx, 'ApiOfflineResource');
      return { rpc_status: 0, ReturnValue: resources.offline(ctx, input.hResource.uuid) };
    },
  };

  return { rpcInterface: createClusapiInterface(server), resources };
}
