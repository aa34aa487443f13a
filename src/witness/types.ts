/**
 * The Witness service in domain terms: what the operations take and give, independent of
 * the generated codec (the adapter translates) and of sockets.
 */
import type { RESOURCE_CHANGE_NOTIFICATION } from '../gen/witness';
import type { MoveType } from './constants';

/** One WITNESS_INTERFACE_INFO entry. */
export interface InterfaceInfo {
  readonly groupName: string;
  readonly version: number;
  readonly state: number;
  readonly ipv4?: string;
  readonly ipv6?: string;
  readonly flags: number;
  /** Not on the wire: the data LIF the entry describes. */
  readonly lif: string;
}

/** One IPADDR_INFO of a move / IP change list. */
export interface IpAddrInfo {
  readonly flags: number;
  readonly ipv4?: string;
  readonly ipv6?: string;
}

export interface ResourceChange {
  readonly changeType: number;
  readonly name: string;
}

/** What one AsyncNotify response carries: exactly one MessageType (Decision 7). */
export type Notification =
  | { readonly type: typeof RESOURCE_CHANGE_NOTIFICATION; readonly changes: readonly ResourceChange[] }
  | {
    readonly type: MoveType;
    readonly addresses: readonly IpAddrInfo[];
    /** Further IPADDR_INFO_LISTs (only an operator's forced response has them, as net witness allows; MS-SWN sends one). */
    readonly moreLists?: ReadonlyArray<readonly IpAddrInfo[]>;
  };

export interface AsyncNotifyResult {
  readonly result: number;
  /** Undefined → NULL response pointer (errors, timeouts, an empty forced response). */
  readonly response?: Notification;
}

/** Who owns a registration (Decision 10): the association group and the caller's principal. */
export interface Owner {
  readonly associationGroupId: number;
  readonly principal: string;
}

/** Register (V1) / RegisterEx (V2) arguments; undefined = NULL pointer. */
export interface RegisterArgs {
  readonly version: number;
  readonly netName: string | undefined;
  readonly shareName?: string | undefined;
  readonly ipAddress: string | undefined;
  readonly clientName: string | undefined;
  readonly flags?: number;
  /** Seconds (RegisterEx KeepAliveTimeout). */
  readonly keepAliveTimeout?: number;
}

/**
 * The Registration shape, declared once: a registration's own facts (the validated
 * Register/RegisterEx arguments and where they led). The registry's Registration, its init,
 * the operator's views and the admin port's types are this shape or derived from it.
 */
export interface RegistrationFacts {
  readonly id: string;
  /** WITNESS_V1 (Register) or WITNESS_V2 (RegisterEx). */
  readonly version: number;
  readonly netName: string;
  readonly shareName: string | undefined;
  readonly ipAddress: string;
  readonly clientName: string;
  readonly flags: number;
  readonly keepAliveTimeout: number | undefined;
  readonly svm: string;
  readonly lif: string;
}

/**
 * The witness connection a registration was made on, as `net witness list --json` shows it
 * (the socket's own strings: shared by every registration of that connection).
 */
export interface RegistrationConnection {
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/** A registration as the operator sees it (admin list, witnessctl, the status page). */
export interface RegistrationInfo extends RegistrationFacts, Owner, RegistrationConnection {
  /** ISO 8601. */
  readonly registeredAt: string;
  /** AsyncNotify calls held open (witnessctl's WAITING). */
  readonly pendingAsyncNotify: number;
  /** Notifications queued for the next AsyncNotify (witnessctl's QUEUED). */
  readonly pendingNotifications: number;
}
