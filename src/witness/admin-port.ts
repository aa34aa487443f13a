/**
 * What the Witness service offers the operator's tools (the admin API binds it in the
 * daemon): declared here, by the room that produces it, so the service never imports the
 * admin room. WitnessService matches it structurally; tests use a fake.
 */

/** Every given field must match (case-insensitive; ipAddress compared as an address). */
export interface RegistrationFilter {
  readonly id?: string;
  readonly netName?: string;
  readonly shareName?: string;
  readonly ipAddress?: string;
  readonly clientName?: string;
}

export const FILTER_FIELDS = ['id', 'netName', 'shareName', 'ipAddress', 'clientName'] as const;

/** A registration as the operator sees it. Extra fields are passed through to JSON. */
export interface RegistrationSummary {
  readonly id: string;
  /** 0x00010001 (V1, Register) or 0x00020000 (V2, RegisterEx). */
  readonly version: number;
  readonly netName: string;
  readonly shareName: string | undefined;
  readonly ipAddress: string;
  readonly clientName: string;
  readonly flags?: number;
  readonly keepAliveTimeout?: number | undefined;
  readonly svm?: string;
  readonly lif?: string;
  readonly associationGroupId?: number;
  readonly principal?: string;
  readonly registeredAt?: string;
  readonly pendingAsyncNotify?: number;
  readonly pendingNotifications?: number;
}

export interface ForcedResourceChange {
  /** RESOURCE_CHANGE ChangeType: 0 UNKNOWN, 1 AVAILABLE, 0xFF UNAVAILABLE (or any u32). */
  readonly changeType: number;
  readonly name: string;
}
export interface ForcedIpAddr {
  /** IPADDR_INFO Flags: V4 0x1, V6 0x2, ONLINE 0x8, OFFLINE 0x10. */
  readonly flags: number;
  readonly ipv4?: string;
  readonly ipv6?: string;
}
/** One RESP_ASYNC_NOTIFY; `type` is the MessageType (1 RESOURCE_CHANGE … 4 IP_CHANGE). */
export type ForcedNotification =
  | { readonly type: 1; readonly changes: readonly ForcedResourceChange[] }
  | { readonly type: 2 | 3 | 4; readonly addresses: readonly ForcedIpAddr[] };

export interface WitnessCountsView {
  readonly registrations: number;
  readonly registrationsV1: number;
  readonly registrationsV2: number;
  readonly pendingAsyncNotify: number;
  /** Responses sent by message type name (RESOURCE_CHANGE, …). */
  readonly notificationsSent: Readonly<Record<string, number>>;
}

/** A registration told of a cluster event by an operator command, and how. */
export interface ToldRegistration {
  readonly id: string;
  readonly clientName: string;
  readonly netName: string;
  readonly ipAddress: string;
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
}
