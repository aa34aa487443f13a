/**
 * MS-SWN numbers the Witness service speaks in (MS-SWN.md §0, §2, §3). Domain code uses
 * these names; the generated codec has its own copies for the wire.
 */

/** Win32 error codes returned as the DWORD result of every operation. */
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

export const WERR_NAMES: Readonly<Record<number, string>> = {
  0x0: 'ERROR_SUCCESS',
  0x5: 'ERROR_ACCESS_DENIED',
  0x57: 'ERROR_INVALID_PARAMETER',
  0x103: 'ERROR_NO_MORE_ITEMS',
  0x490: 'ERROR_NOT_FOUND',
  0x51a: 'ERROR_REVISION_MISMATCH',
  0x5aa: 'ERROR_NO_SYSTEM_RESOURCES',
  0x5b4: 'ERROR_TIMEOUT',
  0x139f: 'ERROR_INVALID_STATE',
};

export function werrName(code: number): string {
  return WERR_NAMES[code] ?? `0x${(code >>> 0).toString(16).padStart(8, '0')}`;
}

/** Protocol versions (Register uses V1, RegisterEx V2). */
export const WITNESS_V1 = 0x00010001;
export const WITNESS_V2 = 0x00020000;
/** Decision 2: our WitnessServiceVersion, also the Version of every interface entry. */
export const WITNESS_SERVICE_VERSION = WITNESS_V2;

/** WITNESS_INTERFACE_INFO.State (u16). */
export const IF_STATE = { UNKNOWN: 0x0000, AVAILABLE: 0x0001, UNAVAILABLE: 0x00ff } as const;
/** WITNESS_INTERFACE_INFO.Flags. */
export const IF_FLAG = { IPV4: 0x1, IPV6: 0x2, INTERFACE_WITNESS: 0x4 } as const;

/** RegisterEx Flags. */
export const REGISTER_FLAG = { NONE: 0x0, IP_NOTIFICATION: 0x1 } as const;

/** RESP_ASYNC_NOTIFY.MessageType. */
export enum MessageType {
  ResourceChange = 1,
  ClientMove = 2,
  ShareMove = 3,
  IpChange = 4,
}

export const MESSAGE_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'RESOURCE_CHANGE',
  2: 'CLIENT_MOVE',
  3: 'SHARE_MOVE',
  4: 'IP_CHANGE',
};

/** RESOURCE_CHANGE.ChangeType (u32). */
export const RESOURCE_STATE = { UNKNOWN: 0x00, AVAILABLE: 0x01, UNAVAILABLE: 0xff } as const;

/** IPADDR_INFO.Flags. */
export const IPADDR_FLAG = { V4: 0x01, V6: 0x02, ONLINE: 0x08, OFFLINE: 0x10 } as const;
