/**
 * The seam between the RPC runtime (sec_trailer, auth legs, verifiers) and the security
 * providers in src/auth/ (NTLMSSP, SPNEGO). The runtime owns PDU framing; a provider owns
 * tokens, keys, signatures and sealing.
 */

/** dce_c_authn_level (C706 / MS-RPCE 2.2.1.1.8). */
export enum AuthLevel {
  None = 1,
  Connect = 2,
  Call = 3,
  Packet = 4,
  Integrity = 5,
  Privacy = 6,
}

/** Levels at which every request and response PDU carries a verifier. */
export function isProtected(level: AuthLevel): boolean {
  return level >= AuthLevel.Packet;
}

/** auth_type values (MS-RPCE 2.2.1.1.7) that we know by name. */
export enum AuthType {
  None = 0,
  SpNego = 9,
  Ntlmssp = 10,
  Kerberos = 16,
}

/** Who the client proved to be. */
export interface Identity {
  readonly domain: string;
  readonly user: string;
  readonly anonymous: boolean;
  /** Kerberos: the client principal as the ticket names it ('alice@EXAMPLE.TEST'). */
  readonly principal?: string;
  /** Kerberos: the PAC's user SID first, then its group SIDs ('S-1-5-21-…'). */
  readonly sids?: readonly string[];
}

export function principalName(id: Identity | undefined): string {
  if (!id || id.anonymous) return 'ANONYMOUS';
  return id.domain ? `${id.domain}\\${id.user}` : id.user;
}

/**
 * A refusal of an auth leg. `bindNakReason` is used when the refusal happens in a bind
 * (MS-RPCE p_reject_reason_t, e.g. 8 = authentication type not recognized, so that Samba
 * clients fall back from SPNEGO to NTLMSSP; 9 = invalid checksum / bad credentials).
 */
export class AuthRejected extends Error {
  constructor(message: string, readonly bindNakReason = 9) {
    super(message);
    this.name = 'AuthRejected';
  }
}

/** A signature check failed, or a PDU was replayed: the runtime ends the connection. */
export class IntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntegrityError';
  }
}

export interface AcceptResult {
  /** Token for bind_ack / alter_context_resp; undefined when nothing goes back (AUTH3). */
  readonly token?: Buffer;
  /** True once the context is established and identity/keys are available. */
  readonly complete: boolean;
}

/** One security context: one (connection, auth_context_id) pair. */
export interface SecurityContext {
  /** Feed one client token (from bind, alter_context or auth3). Throws AuthRejected. */
  accept(token: Buffer): AcceptResult;
  /** Available once accept() returned complete. */
  readonly identity: Identity | undefined;
  /**
   * Size of the auth_value this context appends to protected PDUs: 16 for NTLMSSP; for
   * Kerberos it depends on the level the context was created for (28 MIC, 76 Wrap).
   */
  readonly signatureLength: number;
  /**
   * Protect an outgoing PDU at `level` (Integrity or Privacy; Packet behaves as Integrity).
   * `pdu` holds the whole PDU up to and including the sec_trailer (the verifier is not in
   * it); frag_length and auth_length are already final. `stub` is [start, end) of the stub
   * plus auth padding inside `pdu`. For Privacy that range is encrypted in place.
   * Returns the auth_value (signature) to append.
   */
  protect(pdu: Buffer, stubStart: number, stubEnd: number, level: AuthLevel): Buffer;
  /**
   * Optional form of protect() for the runtime's own fragments: the same protection of
   * frag[0, stubEnd + 8) (the PDU up to and including the sec_trailer, which starts at
   * stubEnd), with the auth_value written to frag[stubEnd + 8, stubEnd + 8 + signatureLength),
   * room the runtime leaves for it, every byte of it. Saves a Buffer and a copy per PDU: a
   * fan-out protects one response per client.
   */
  protectInto?(frag: Buffer, stubStart: number, stubEnd: number, level: AuthLevel): void;
  /**
   * Check (and for Privacy decrypt in place) an incoming PDU, same layout as protect().
   * Throws IntegrityError on a bad or replayed signature.
   */
  unprotect(pdu: Buffer, stubStart: number, stubEnd: number, level: AuthLevel, signature: Buffer): void;
  /**
   * Asked once accept() returned complete, for Packet, Integrity and Privacy: whether the
   * negotiated context can protect PDUs at `level` (signing for Packet/Integrity, sealing for
   * Privacy). A context that cannot is a provider error (MS-RPCE 3.3.1.5.2.2: fault
   * rpc_s_sec_pkg_error). Absent means yes.
   */
  supportsLevel?(level: AuthLevel): boolean;
}

/** One auth context of a connection (MS-RPCE 3.3.1.5.2), kept by src/rpc/auth-state.ts. */
export interface AuthState {
  readonly authContextId: number;
  readonly authType: number;
  readonly authLevel: AuthLevel;
  readonly provider: SecurityProvider;
  readonly security: SecurityContext;
  complete: boolean;
  /**
   * Set when the context became unusable (a refused leg, an AUTH3 that left the exchange
   * unfinished, a level the negotiated context cannot protect): the fault status every later
   * request on it gets, before the connection closes.
   */
  failure: number | undefined;
}

export interface ConnectionInfo {
  readonly localAddress: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/** What the bind or alter_context that starts a context fixes for its whole life. */
export interface ContextParams {
  readonly authLevel: AuthLevel;
  /** PFC_SUPPORT_HEADER_SIGN was negotiated (MS-RPCE 3.3.1.5.2.2): verifiers cover the PDU header too. */
  readonly headerSigning: boolean;
}

export interface SecurityProvider {
  readonly authType: number;
  readonly name: string;
  /** The server's principal name under this provider (rpc__mgmt_inq_princ_name answers it). */
  readonly principalName?: string;
  /** `params` is always given by the runtime; providers whose tokens do not depend on it ignore it. */
  newContext(conn: ConnectionInfo, params?: ContextParams): SecurityContext;
}
