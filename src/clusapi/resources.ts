/**
 * The small part of MS-CMRP (Failover Cluster Management API, clusapi v3.0) that witnessd
 * serves, in domain terms: one cluster resource per SVM, named after its CIFS server (the
 * net name: NetBIOS name, DNS name or an alias, case-insensitive). The resource is the SVM's
 * data LIFs as a whole:
 *  - OfflineResource takes every up LIF of the SVM down (model LifDown events, so witness
 *    clients registered on those LIFs get RESOURCE_CHANGE UNAVAILABLE);
 *  - OnlineResource brings back the LIFs it took down (LifUp → AVAILABLE);
 *  - GetResourceState reports Online / Offline / Failed from the LIFs' state.
 * This is what smbtorture's rpc.witness AsyncNotify drives, and a standard way for cluster
 * tools to fail a CIFS server's addresses. The codec adapter lives in service.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ClusterEvent, ClusterModelView, LifView, SvmView } from '../cluster/types';
import type { CallContext } from '../rpc/call-context';
import { AuthLevel, principalName } from '../rpc/security';

/** Win32 error codes MS-CMRP returns (MS-ERREF 2.2). */
export const ERROR = {
  SUCCESS: 0,
  ACCESS_DENIED: 0x5,
  INVALID_HANDLE: 0x6,
  NOT_ENOUGH_MEMORY: 0x8,
  RESOURCE_NOT_FOUND: 0x138f,
  INVALID_STATE: 0x139f,
} as const;

/** CLUSTER_RESOURCE_STATE (MS-CMRP 3.1.4.2.13). */
export enum ClusterResourceState {
  Initializing = 0x1,
  Online = 0x2,
  Offline = 0x3,
  Failed = 0x4,
  OnlinePending = 0x81,
  OfflinePending = 0x82,
  Unknown = 0xffffffff,
}

/** The part of the cluster model a resource needs to change (ClusterModel provides it). */
export interface LifControl {
  setLifUp(lifName: string): readonly ClusterEvent[];
  setLifDown(lifName: string): readonly ClusterEvent[];
}

export type ClusterControlModel = ClusterModelView & LifControl;

export interface ClusapiOptions {
  /**
   * Allow calls without authentication (the daemon's auth.allowAnonymous; the embedded demo
   * and smbtorture `-U%` need it). Off by default: these calls take addresses offline.
   */
  readonly allowAnonymous?: boolean;
  /** MS-CMRP v3: the server refuses authenticated clients below packet privacy. */
  readonly minimumAuthLevel?: AuthLevel;
  /** Open resource handles per association group (bad clients cannot grow the table without bound). */
  readonly maxHandlesPerGroup?: number;
}

export interface ResourceHandle {
  readonly id: string;
  readonly groupId: number;
  /** The SVM the resource stands for (names can change on reload; the SVM name is the key). */
  readonly svm: string;
  readonly name: string;
}

export interface ResourceStateInfo {
  readonly status: number;
  readonly state: ClusterResourceState;
  readonly nodeName: string;
  readonly groupName: string;
}

/** Why a call may not proceed: undefined = allowed. */
export type AccessVerdict = undefined | { readonly status: number; readonly reason: string };

const eqi = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

export class ClusterResources {
  private readonly handles = new Map<string, ResourceHandle>();
  private readonly perGroup = new Map<number, Set<string>>();
  /** LIFs each resource's OfflineResource took down, so OnlineResource brings back just those. */
  private readonly takenDown = new Map<string, Set<string>>();
  /** Settable: a config reload changes it for the next call. */
  allowAnonymous: boolean;
  private readonly minimumAuthLevel: AuthLevel;
  private readonly maxHandlesPerGroup: number;

  constructor(
    private readonly model: ClusterControlModel,
    private readonly log: Logger,
    options: ClusapiOptions = {},
  ) {
    this.allowAnonymous = options.allowAnonymous ?? false;
    this.minimumAuthLevel = options.minimumAuthLevel ?? AuthLevel.Privacy;
    this.maxHandlesPerGroup = options.maxHandlesPerGroup ?? 256;
  }

  /** Access rule for every clusapi call (MS-CMRP 2.1, 3.1.4: "All" access for these calls). */
  checkAccess(ctx: CallContext): AccessVerdict {
    const anonymous = ctx.identity === undefined || ctx.identity.anonymous || ctx.authLevel < AuthLevel.Connect;
    if (anonymous) {
      return this.allowAnonymous ? undefined : { status: ERROR.ACCESS_DENIED, reason: 'anonymous clusapi calls are not allowed (auth.allowAnonymous is off)' };
    }
    if (ctx.authLevel < this.minimumAuthLevel) {
      return { status: ERROR.ACCESS_DENIED, reason: `clusapi needs auth level ${AuthLevel[this.minimumAuthLevel]}, the call used ${AuthLevel[ctx.authLevel]}` };
    }
    return undefined;
  }

  /** The SVM whose CIFS server answers to `name` (NetBIOS, DNS or alias; case-insensitive). */
  findSvm(name: string): SvmView | undefined {
    const n = name.trim();
    if (n === '') return undefined;
    return this.model.svms().find((s) => eqi(s.netbiosName, n) || eqi(s.dnsName, n) || s.aliases.some((a) => eqi(a, n)));
  }

  /** ApiOpenResource: a handle for the resource, or RESOURCE_NOT_FOUND. */
  open(ctx: CallContext, name: string): { status: number; handle?: ResourceHandle } {
    const svm = this.findSvm(name);
    if (!svm) return { status: ERROR.RESOURCE_NOT_FOUND };
    const group = ctx.associationGroup;
    let set = this.perGroup.get(group.id);
    if (set && set.size >= this.maxHandlesPerGroup) {
      this.log.warn({ assocGroup: group.id, limit: this.maxHandlesPerGroup }, 'clusapi: too many open resource handles in one association group');
      return { status: ERROR.NOT_ENOUGH_MEMORY };
    }
    if (!set) {
      const created = new Set<string>();
      set = created;
      this.perGroup.set(group.id, created);
      // Context handles die with their association group (MS-RPCE 3.3.1.5.6).
      group.onClose(() => {
        for (const id of created) this.handles.delete(id);
        this.perGroup.delete(group.id);
      });
    }
    const handle: ResourceHandle = { id: randomUUID(), groupId: group.id, svm: svm.name, name: svm.netbiosName };
    this.handles.set(handle.id, handle);
    set.add(handle.id);
    this.log.debug({ resource: handle.name, svm: svm.name, handle: handle.id, client: principalName(ctx.identity) }, 'clusapi: resource opened');
    return { status: ERROR.SUCCESS, handle };
  }

  /** The open handle `id` as seen from this call's association group. */
  lookup(ctx: CallContext, id: string): ResourceHandle | undefined {
    const h = this.handles.get(id.toLowerCase());
    return h && h.groupId === ctx.associationGroup.id ? h : undefined;
  }

  /** ApiCloseResource. */
  close(ctx: CallContext, id: string): number {
    const h = this.lookup(ctx, id);
    if (!h) return ERROR.INVALID_HANDLE;
    this.handles.delete(h.id);
    this.perGroup.get(h.groupId)?.delete(h.id);
    return ERROR.SUCCESS;
  }

  private lifsOf(svm: SvmView): LifView[] {
    return svm.lifs.map((n) => this.model.lif(n)).filter((l): l is LifView => l !== undefined);
  }

  /** Online while some LIF serves, Offline when every LIF is down, Failed when up LIFs have no node. */
  stateOf(svm: SvmView): ClusterResourceState {
    const lifs = this.lifsOf(svm);
    if (!lifs.some((l) => l.up)) return ClusterResourceState.Offline;
    return lifs.some((l) => l.operational) ? ClusterResourceState.Online : ClusterResourceState.Failed;
  }

  /** ApiGetResourceState: state, owner node (hosting the first serving LIF) and group (the SVM). */
  getState(ctx: CallContext, id: string): ResourceStateInfo {
    const h = this.lookup(ctx, id);
    if (!h) return { status: ERROR.INVALID_HANDLE, state: ClusterResourceState.Unknown, nodeName: '', groupName: '' };
    const svm = this.model.svm(h.svm);
    if (!svm) return { status: ERROR.RESOURCE_NOT_FOUND, state: ClusterResourceState.Unknown, nodeName: '', groupName: '' };
    const lifs = this.lifsOf(svm);
    const owner = lifs.find((l) => l.operational) ?? lifs.find((l) => l.up) ?? lifs[0];
    return { status: ERROR.SUCCESS, state: this.stateOf(svm), nodeName: owner?.currentNode ?? '', groupName: svm.name };
  }

  /** ApiOfflineResource: every up LIF of the SVM goes down. Offline already → success, no change. */
  offline(ctx: CallContext, id: string): number {
    const h = this.lookup(ctx, id);
    if (!h) return ERROR.INVALID_HANDLE;
    const svm = this.model.svm(h.svm);
    if (!svm) return ERROR.RESOURCE_NOT_FOUND;
    const up = this.lifsOf(svm).filter((l) => l.up);
    if (up.length === 0) return ERROR.SUCCESS;
    const downed = this.takenDown.get(svm.name) ?? new Set<string>();
    for (const l of up) {
      this.model.setLifDown(l.name);
      downed.add(l.name);
    }
    this.takenDown.set(svm.name, downed);
    this.log.info(
      { resource: h.name, svm: svm.name, lifs: up.map((l) => l.name), client: principalName(ctx.identity), from: ctx.remoteAddress },
      'clusapi: OfflineResource took the CIFS server offline (its data LIFs are down)',
    );
    return ERROR.SUCCESS;
  }

  /**
   * ApiOnlineResource: bring back the LIFs OfflineResource took down; when it took none
   * (they were downed by the operator, or before a restart), every down LIF of the SVM.
   */
  online(ctx: CallContext, id: string): number {
    const h = this.lookup(ctx, id);
    if (!h) return ERROR.INVALID_HANDLE;
    const svm = this.model.svm(h.svm);
    if (!svm) return ERROR.RESOURCE_NOT_FOUND;
    const lifs = this.lifsOf(svm);
    if (lifs.length === 0) return ERROR.INVALID_STATE; // nothing that could serve
    const down = lifs.filter((l) => !l.up);
    const remembered = this.takenDown.get(svm.name);
    const ours = down.filter((l) => remembered?.has(l.name));
    const bring = ours.length > 0 ? ours : lifs.some((l) => l.up) ? [] : down;
    for (const l of bring) this.model.setLifUp(l.name);
    this.takenDown.delete(svm.name);
    if (bring.length > 0) {
      this.log.info(
        { resource: h.name, svm: svm.name, lifs: bring.map((l) => l.name), client: principalName(ctx.identity), from: ctx.remoteAddress },
        'clusapi: OnlineResource brought the CIFS server back (its data LIFs are up)',
      );
    }
    return ERROR.SUCCESS;
  }

  /** Open handles (for tests and status output). */
  get openHandles(): number {
    return this.handles.size;
  }
}
