/**
 * What the Witness service offers the operator's tools (the admin API binds it in the
 * daemon): declared here, by the room that produces it, so the service never imports the
 * admin room. WitnessService matches it structurally; tests use a fake.
 */
import type { Notification, RegistrationInfo } from './types';

export const FILTER_FIELDS = ['id', 'netName', 'shareName', 'ipAddress', 'clientName'] as const;

/** Every given field must match (case-insensitive; ipAddress compared as an address). */
export type RegistrationFilter = { readonly [K in (typeof FILTER_FIELDS)[number]]?: string };

/** A registration as the operator's tools read it: the service gives all of RegistrationInfo, a fake may give less. */
export type RegistrationSummary = Pick<RegistrationInfo, 'id' | 'version' | 'netName' | 'shareName' | 'ipAddress' | 'clientName'> &
  Partial<RegistrationInfo>;

/** One RESP_ASYNC_NOTIFY the operator forces (`witnessctl notify`): the service's own Notification. */
export type ForcedNotification = Notification;

export interface WitnessCountsView {
  readonly registrations: number;
  readonly registrationsV1: number;
  readonly registrationsV2: number;
  readonly pendingAsyncNotify: number;
  /** Responses sent by message type name (RESOURCE_CHANGE, …). */
  readonly notificationsSent: Readonly<Record<string, number>>;
}

/** A registration told of a cluster event by an operator command, and how. */
export interface ToldRegistration extends Pick<RegistrationInfo, 'id' | 'clientName' | 'netName' | 'ipAddress'> {
  /** RESOURCE_CHANGE, CLIENT_MOVE, SHARE_MOVE or IP_CHANGE. */
  readonly type: string;
  readonly detail: string;
  /** notified: a waiting AsyncNotify got it; queued: it waits for the client's next AsyncNotify. */
  readonly delivery: 'notified' | 'queued';
}

export interface WitnessAdminPort extends WitnessUpdatePort {
  /**
   * Run `fn` (an operator command on the cluster model) and report which registrations its
   * events reached: the model delivers events synchronously, so these are exactly its own.
   */
  told<T>(fn: () => T): { result: T; told: ToldRegistration[] };
  /** `limit` (default all) of those that match, oldest first, after skipping `offset` of them. */
  list(filter: RegistrationFilter, limit?: number, offset?: number): readonly RegistrationSummary[];
  /** How many match. */
  count(filter: RegistrationFilter): number;
  /** Force unregister (an empty filter selects all); returns the removed registrations. */
  unregister(filter: RegistrationFilter): readonly RegistrationSummary[];
  /**
   * The next AsyncNotify of each selected registration completes with exactly this result
   * and response (undefined → NULL response). Returns the selected registrations.
   */
  forceResponse(filter: RegistrationFilter, result: number, response?: ForcedNotification): readonly RegistrationSummary[];
  counts(): WitnessCountsView;
  /**
   * A completion signal: resolves once none of these registrations (by id) has a notification
   * queued (each delivered to an AsyncNotify, or removed), or after timeoutMs; with how many
   * still had one then.
   */
  whenDelivered(ids: readonly string[], timeoutMs: number): Promise<number>;
}

/** Where a `net witness client-move | share-move` sends the selected registrations (Samba's update messages). */
export type MoveTarget =
  /** Every address the node hosts now (Samba: --witness-new-node=N). */
  | { readonly node: string }
  /** Every address of the cluster (--witness-new-node=-1). */
  | { readonly allNodes: true }
  /** Exactly this address (--witness-new-ip). */
  | { readonly ip: string };

/** One update for registrations chosen by id, as `net witness` sends them to the process holding each. */
export type RegistrationUpdate =
  | { readonly type: 'CLIENT_MOVE' | 'SHARE_MOVE'; readonly to: MoveTarget }
  | { readonly type: 'FORCE_UNREGISTER' }
  | { readonly type: 'FORCE_RESPONSE'; readonly result: number; readonly response?: ForcedNotification };

export interface WitnessUpdatePort {
  /** Apply `u` to the registrations with these ids (ids this node does not hold are skipped); returns those it applied to. */
  update(ids: readonly string[], u: RegistrationUpdate): readonly RegistrationSummary[];
}
