/**
 * MS-SWN numbers the IDL does not declare. The protocol's own constants (WITNESS_V2,
 * WITNESS_STATE_AVAILABLE, WITNESS_INFO_IPv4, IPADDR_ONLINE, RESOURCE_CHANGE_NOTIFICATION, ...)
 * come from idl/ms-swn.idl via src/gen/witness.ts: import them from there under their names.
 */
import {
  CLIENT_MOVE_NOTIFICATION,
  IP_CHANGE_NOTIFICATION,
  RESOURCE_CHANGE_NOTIFICATION,
  RESOURCE_STATE_AVAILABLE,
  RESOURCE_STATE_UNAVAILABLE,
  RESOURCE_STATE_UNKNOWN,
  SHARE_MOVE_NOTIFICATION,
  WITNESS_V1,
  WITNESS_V2,
} from '../gen/witness';

/** Win32 error codes returned as the DWORD result of every operation (MS-ERREF 2.2). */
export const WERR = {
  OK: 0x00000000,
  ACCESS_DENIED: 0x00000005,
  INVALID_PARAMETER: 0x00000057,
  NO_MORE_ITEMS: 0x00000103,
  NOT_FOUND: 0x00000490,
  REVISION_MISMATCH: 0x0000051a,
  NO_SYSTEM_RESOURCES: 0x000005aa,
  TIMEOUT: 0x000005b4,
  INVALID_STATE: 0x0000139f,
} as const;

const WERR_NAMES = new Map<number, string>(Object.entries(WERR).map(([k, v]) => [v, k === 'OK' ? 'ERROR_SUCCESS' : `ERROR_${k}`]));

export function werrName(code: number): string {
  return WERR_NAMES.get(code) ?? `0x${(code >>> 0).toString(16).padStart(8, '0')}`;
}

/** Decision 2: our WitnessServiceVersion, also the Version of every interface entry. */
export const WITNESS_SERVICE_VERSION = WITNESS_V2;

/** RESP_ASYNC_NOTIFY.MessageType: one of the IDL's *_NOTIFICATION constants. */
export type MessageType =
  | typeof RESOURCE_CHANGE_NOTIFICATION
  | typeof CLIENT_MOVE_NOTIFICATION
  | typeof SHARE_MOVE_NOTIFICATION
  | typeof IP_CHANGE_NOTIFICATION;
/** The MessageTypes that carry an IPADDR_INFO_LIST. */
export type MoveType = Exclude<MessageType, typeof RESOURCE_CHANGE_NOTIFICATION>;

const byNumber = (names: Record<string, number>): Readonly<Record<number, string>> =>
  Object.fromEntries(Object.entries(names).map(([k, v]) => [v, k]));

/** MessageTypes by the names logs and the operator's JSON use (the IDL's, without `_NOTIFICATION`). */
export const MESSAGE_TYPES = {
  RESOURCE_CHANGE: RESOURCE_CHANGE_NOTIFICATION,
  CLIENT_MOVE: CLIENT_MOVE_NOTIFICATION,
  SHARE_MOVE: SHARE_MOVE_NOTIFICATION,
  IP_CHANGE: IP_CHANGE_NOTIFICATION,
} as const;
export const MESSAGE_TYPE_NAMES = byNumber(MESSAGE_TYPES);

/** RESOURCE_CHANGE.ChangeType by name (the IDL's, without `RESOURCE_STATE_`). */
export const CHANGE_TYPES = {
  UNKNOWN: RESOURCE_STATE_UNKNOWN,
  AVAILABLE: RESOURCE_STATE_AVAILABLE,
  UNAVAILABLE: RESOURCE_STATE_UNAVAILABLE,
} as const;
export const CHANGE_TYPE_NAMES = byNumber(CHANGE_TYPES);

/** 'V1' (Register), 'V2' (RegisterEx), or the number in hex. */
export function versionName(v: number): string {
  return v === WITNESS_V1 ? 'V1' : v === WITNESS_V2 ? 'V2' : `0x${(v >>> 0).toString(16)}`;
}
