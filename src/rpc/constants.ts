/**
 * Numbers of the connection-oriented DCE/RPC protocol (C706 chapter 12, MS-RPCE 2.2).
 * Checked against C706 appendix E / MS-RPCE 2.2.2 and Samba's librpc/idl/dcerpc.idl.
 */
import type { SyntaxId } from '../ndr/dispatch';

/** PTYPE values (C706 12.6.3.1). Connectionless-only types are listed so we can name them in logs. */
export const PType = {
  REQUEST: 0,
  PING: 1,
  RESPONSE: 2,
  FAULT: 3,
  WORKING: 4,
  NOCALL: 5,
  REJECT: 6,
  ACK: 7,
  CL_CANCEL: 8,
  FACK: 9,
  CANCEL_ACK: 10,
  BIND: 11,
  BIND_ACK: 12,
  BIND_NAK: 13,
  ALTER_CONTEXT: 14,
  ALTER_CONTEXT_RESP: 15,
  AUTH3: 16,
  SHUTDOWN: 17,
  CO_CANCEL: 18,
  ORPHANED: 19,
} as const;

export const PTYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(PType).map(([k, v]) => [v, k.toLowerCase()]),
);

/** pfc_flags (C706 12.6.3.1, MS-RPCE 2.2.2.3). */
export const Pfc = {
  FIRST_FRAG: 0x01,
  LAST_FRAG: 0x02,
  /** In request/response: cancel pending. In bind/bind_ack/alter/alter_resp: PFC_SUPPORT_HEADER_SIGN. */
  PENDING_CANCEL: 0x04,
  SUPPORT_HEADER_SIGN: 0x04,
  CONC_MPX: 0x10,
  DID_NOT_EXECUTE: 0x20,
  MAYBE: 0x40,
  OBJECT_UUID: 0x80,
} as const;

/** p_cont_def_result_t (C706 12.6.3.1; negotiate_ack from MS-RPCE 2.2.2.4). */
export const AckResult = {
  ACCEPTANCE: 0,
  USER_REJECTION: 1,
  PROVIDER_REJECTION: 2,
  NEGOTIATE_ACK: 3,
} as const;

/** p_provider_reason_t for a refused presentation context. */
export const AckReason = {
  NOT_SPECIFIED: 0,
  ABSTRACT_SYNTAX_NOT_SUPPORTED: 1,
  PROPOSED_TRANSFER_SYNTAXES_NOT_SUPPORTED: 2,
  LOCAL_LIMIT_EXCEEDED: 3,
} as const;

/** p_reject_reason_t in bind_nak (C706 12.6.3.1, MS-RPCE 2.2.2.5). */
export const BindNakReason = {
  NOT_SPECIFIED: 0,
  TEMPORARY_CONGESTION: 1,
  LOCAL_LIMIT_EXCEEDED: 2,
  PROTOCOL_VERSION_NOT_SUPPORTED: 4,
  AUTHENTICATION_TYPE_NOT_RECOGNIZED: 8,
  INVALID_CHECKSUM: 9,
} as const;

/** Bind-time feature bits (MS-RPCE 3.3.1.5.3). */
export const BindTimeFeature = {
  SECURITY_CONTEXT_MULTIPLEXING: 0x0001,
  KEEP_CONNECTION_ON_ORPHAN: 0x0002,
} as const;

/** Fault status values (C706 appendix E, MS-RPCE 2.2.2.11 / 3.3.3.x). */
export const FaultStatus = {
  NCA_S_OP_RNG_ERROR: 0x1c010002,
  NCA_S_UNKNOWN_IF: 0x1c010003,
  NCA_S_PROTO_ERROR: 0x1c01000b,
  NCA_S_SERVER_TOO_BUSY: 0x1c010014,
  NCA_S_FAULT_CANCEL: 0x1c00000d,
  NCA_S_FAULT_UNSPEC: 0x1c000012,
  NCA_S_FAULT_REMOTE_NO_MEMORY: 0x1c00001b,
  /** ERROR_ACCESS_DENIED, the fault Windows and Samba send for calls below the required auth level. */
  ACCESS_DENIED: 0x00000005,
  /** RPC_S_SERVER_UNAVAILABLE: we send it for calls still pending when the server shuts down. */
  SERVER_UNAVAILABLE: 0x000006ba,
  /** RPC_S_NO_CALL_ACTIVE. */
  NO_CALL_ACTIVE: 0x000006bd,
  /** RPC_X_BAD_STUB_DATA: the stub did not decode (what Windows sends). */
  BAD_STUB_DATA: 0x000006f7,
  /** RPC_S_SEC_PKG_ERROR. */
  SEC_PKG_ERROR: 0x00000721,
} as const;

/** NDR 2.0 transfer syntax. */
export const NDR_SYNTAX: SyntaxId = { uuid: '8a885d04-1ceb-11c9-9fe8-08002b104860', major: 2, minor: 0 };
/** NDR64 transfer syntax (MS-RPCE 2.2.5): accepted for interfaces with NDR64 codecs (generated ones). */
export const NDR64_SYNTAX: SyntaxId = { uuid: '71710533-beba-4937-8319-b5dbef9ccc36', major: 1, minor: 0 };
/** Bind-time feature negotiation: a transfer syntax 6cb71c2c-9812-4540-xxxx-xxxxxxxxxxxx v1. */
export const BTFN_UUID_PREFIX = '6cb71c2c-9812-4540-';

/** The endpoint mapper's well-known TCP port (C706 Appendix I; MS-RPCE 2.1.1.1). */
export const EPM_TCP_PORT = 135;

/** Fixed sizes. */
export const HEADER_LENGTH = 16;
export const REQUEST_HEADER_LENGTH = 24;
export const RESPONSE_HEADER_LENGTH = 24;
export const FAULT_LENGTH = 32;
export const SEC_TRAILER_LENGTH = 8;
/** The sec_trailer starts on a 4-byte boundary (MS-RPCE 2.2.2.11; Samba 4.22 and Windows 2022 refuse others). */
export const SEC_TRAILER_ALIGNMENT = 4;
/** The largest auth_value an AUTH3 may carry (Samba 4.22 dcesrv_auth_prepare_auth3, as Windows): else a protocol error. */
export const MAX_AUTH3_AUTH_LENGTH = 4096;
/** Stub plus auth padding is a multiple of this (Samba DCERPC_AUTH_PAD_ALIGNMENT, Windows alike). */
export const AUTH_PAD_ALIGNMENT = 16;
/** C706 12.6.3.1: every implementation must accept fragments of this size. */
export const MUST_RECV_FRAG_SIZE = 1432;
/** The smallest fragment size Windows negotiates, whatever the client offers (see Connection.onBind). */
export const WINDOWS_MIN_FRAG_SIZE = 2048;

/** MS-RPCE 2.2.2.13 verification trailer magic. */
export const SEC_VT_MAGIC = Buffer.from([0x8a, 0xe3, 0x13, 0x71, 0x02, 0xf4, 0x36, 0x71]);
export const SecVt = {
  COMMAND_MASK: 0x3fff,
  COMMAND_END: 0x4000,
  MUST_PROCESS: 0x8000,
  BITMASK_1: 0x0001,
  PCONTEXT: 0x0002,
  HEADER2: 0x0003,
  CLIENT_SUPPORTS_HEADER_SIGNING: 0x00000001,
} as const;

export function faultName(status: number): string {
  for (const [k, v] of Object.entries(FaultStatus)) if (v === status) return k.toLowerCase();
  return `0x${(status >>> 0).toString(16).padStart(8, '0')}`;
}
