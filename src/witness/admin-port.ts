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

export interface WitnessAdminPort {
  /**
   * Run `fn` (an operator command on the cluster model) and report which registrations its
   * events reached: the model delivers events synchronously, so these are exactly its own.
   */
  told<T>(fn: () => T): { result: T; told: ToldRegistration[] };
  /** The first `limit` (default all) that match, oldest first. */
  list(filter: RegistrationFilter, limit?: number): readonly RegistrationSummary[];
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
