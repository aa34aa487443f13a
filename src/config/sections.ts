/**
 * The nine sections every configuration document has, whatever its cluster source: where
 * the listeners, the Witness timeouts, the health watcher, the admin API, authentication,
 * the RPC and Witness limits, logging and clusapi are configured, and their defaults
 * (SHARED_SECTIONS lists them once; document.ts puts them beside each cluster section).
 * The defaults declared here are the only ones: the Witness service and the daemon import
 * them (LIMIT_DEFAULTS, TIMEOUT_DEFAULTS, ...); the RPC runtime's own limits default in
 * src/rpc/options.ts, named here.
 */
import { z } from 'zod';
import { addressKey, isLoopbackHost, parseHostPort } from '../lib/address';
import { EPM_TCP_PORT } from '../rpc/constants';
import { DEFAULT_LIMITS } from '../rpc/options';
import { hostPortText, millis, name, seconds } from './fields';

/** The admin API's port: on loopback by default, on the node address in CTDB mode. */
export const ADMIN_PORT = 8135;
export const DEFAULT_ADMIN_ADDRESS = `127.0.0.1:${ADMIN_PORT}`;

export const listenerSchema = z
  .object({
    /** Addresses the witness endpoint and the endpoint mapper listen on; absent or empty: every LIF address. */
    addresses: z.array(z.string().refine((s) => addressKey(s) !== undefined, 'not an IP address')).optional(),
    /** 0 = dynamic port, published through the endpoint mapper. */
    witnessPort: z.number().int().min(0).max(65535).default(0),
    /** 0 = no endpoint mapper (only useful in tests; rpcclient always asks port 135). */
    epmPort: z.number().int().min(0).max(65535).default(EPM_TCP_PORT),
  })
  .strict();

export const timeoutsSchema = z
  .object({
    /** A V2 registration with no pending AsyncNotify for this long is removed (Decisions 9). */
    unusedRegistrationSeconds: seconds.min(1).default(30),
    /**
     * Upper bound on a client's RegisterEx KeepAliveTimeout (a u32: 0xFFFFFFFF would hold a call
     * for 136 years). Windows clients ask 120 s; a longer wait answers WERR_TIMEOUT at this bound.
     */
    keepAliveMaxSeconds: seconds.default(3600),
  })
  .strict();

/**
 * What the Witness service does beyond MS-SWN, for the clients that need it, and Samba's
 * rpcd_witness's answers for clusters that move from it (README "Samba compatibility").
 */
export const witnessSchema = z
  .object({
    /**
     * A V2 registration that was sent a RESOURCE_CHANGE other than AVAILABLE, or a move list
     * naming another address, is removed this long after (its AsyncNotify ends with
     * ERROR_NOT_FOUND): how Windows Server 2022 clients re-register (Samba: 5 s). 0 = never.
     */
    forcedUnregisterSeconds: seconds.max(3600).default(5),
    /** Force V1 (Register) registrations out too, as Samba does; V1 clients (rpcclient, smbtorture) keep theirs by default. */
    forcedUnregisterV1: z.boolean().default(false),
    /**
     * GetInterfaceList's InterfaceGroupName: `node`, the node hosting the address (Windows
     * clusters); `server`, the CIFS server's DNS name for every entry (Samba's rpcd_witness).
     */
    interfaceGroupName: z.enum(['node', 'server']).default('node'),
  })
  .strict();

export const adminSchema = z
  .object({
    /** host:port of the admin HTTP API; loopback unless a token is set. */
    address: hostPortText().default(DEFAULT_ADMIN_ADDRESS),
    /** Bearer token; required when address is not a loopback address. */
    token: z.string().min(16, 'an admin token has at least 16 characters').optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    let host: string;
    try {
      host = parseHostPort(a.address).host;
    } catch {
      return; // reported by the address field itself
    }
    if (!isLoopbackHost(host) && a.token === undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['address'],
        message: `admin API on non-loopback address ${host} needs admin.token`,
      });
    }
  });

export const AUTH_LEVELS = ['none', 'connect', 'packet', 'integrity', 'privacy'] as const;
export type AuthLevelName = (typeof AUTH_LEVELS)[number];

const accountSchema = z
  .object({
    domain: z.string().trim().default(''),
    user: name,
    password: z.string().optional(),
    /** NT hash (MD4 of the UTF-16LE password) as 32 hex digits, instead of the password. */
    ntHash: z.string().regex(/^[0-9a-fA-F]{32}$/, 'ntHash is 32 hex digits').optional(),
  })
  .strict()
  .refine((a) => (a.password === undefined) !== (a.ntHash === undefined), {
    message: 'an account has exactly one of password or ntHash',
  });

/** A service principal name without realm, as AD registers it: service/host (host/SOFS, cifs/sofs.example.test). */
const spn = z.string().trim().regex(/^[A-Za-z][A-Za-z0-9-]*\/[^\s/@]+(@[^\s/@]+)?$/, 'a service principal name is service/host[@REALM], e.g. cifs/sofs.example.test');

/** Kerberos (auth type 16, and the krb5 mechanism inside SPNEGO): the service account's keys. */
const kerberosSchema = z
  .object({
    /** MIT keytab (samba-tool domain exportkeytab, ktpass); relative paths are relative to the config file. Re-read when it changes. */
    keytab: z.string().trim().min(1, 'must not be empty'),
    /** SPNs served; each needs a key in the keytab. Absent: every principal in the keytab. */
    principals: z.array(spn).min(1, 'list at least one principal, or leave principals out').optional(),
    /** Clients allowed to authenticate: user@REALM principals or user/group SIDs (from the PAC). Absent: any valid ticket. */
    allowedPrincipals: z.array(z.string().trim().min(1, 'must not be empty')).optional(),
    /** Allowed clock difference to the client; absent: the acceptor's default (5 minutes). */
    clockSkewSeconds: z.number().int('must be a whole number of seconds').min(0).max(86_400).optional(),
  })
  .strict();

/** CTDB mode: admin.address is optional (absent: the node address, port ADMIN_PORT). */
export const ctdbAdminSchema = z
  .object({
    address: hostPortText().optional(),
    token: z.string().min(16, 'an admin token has at least 16 characters').optional(),
  })
  .strict();

export const authSchema = z
  .object({
    /** Calls below this level get fault 0x5 (Decisions 10). */
    minimumLevel: z.enum(AUTH_LEVELS).default('integrity'),
    /** Accept unauthenticated binds and calls (the demo does). */
    allowAnonymous: z.boolean().default(false),
    /** NTLMSSP (auth type 10, and inside SPNEGO). false: SPNEGO offers Kerberos only. */
    ntlm: z.boolean().default(true),
    /** Accounts file for NTLMSSP (relative paths are relative to the config file). */
    accountsFile: z.string().min(1).optional(),
    /** Inline accounts (in addition to accountsFile). */
    accounts: z.array(accountSchema).default([]),
    kerberos: kerberosSchema.optional(),
  })
  .strict()
  .refine((a) => a.ntlm || a.kerberos !== undefined || a.allowAnonymous, {
    message: 'auth.ntlm is false and there is no auth.kerberos: no client could authenticate',
    path: ['ntlm'],
  });

export const limitsSchema = z
  .object({
    maxRegistrationsPerClient: z.number().int().min(1).max(1_000_000).default(64),
    /** The RPC runtime's limit, defaulted here (unlike the ones below) because the daemon also reads it. */
    maxPendingCallsPerConnection: z.number().int().min(1).max(1_000_000).default(DEFAULT_LIMITS.maxPendingCallsPerConnection),
    maxRegistrations: z.number().int().min(1).max(10_000_000).default(100_000),
    /**
     * Once 90 % of maxRegistrations are taken, a source address (IPv6: its /64) holding this
     * many gets WERR_NO_SYSTEM_RESOURCES: the last 10 % stay for the hosts that hold fewer.
     */
    maxRegistrationsPerSource: z.number().int().min(1).max(10_000_000).default(1_000),
    /** DCE/RPC runtime limits; absent = the runtime's defaults (src/rpc/options.ts). */
    maxConnections: z.number().int().min(1).max(1_000_000).optional(),
    /** A connection that has not bound within this time is closed. */
    unboundIdleMs: z.number().int().min(100).max(3_600_000).optional(),
    /** A PDU that has started arriving must be complete within this time (slow-loris). */
    partialPduMs: z.number().int().min(100).max(3_600_000).optional(),
    /** At the connection limit, a bound connection idle this long (no call in flight) may be closed. */
    idleEvictMs: z.number().int().min(100).max(86_400_000).optional(),
  })
  .strict();

export const loggingSchema = z
  .object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict();

/**
 * The MS-CMRP (clusapi) resource view: taking a resource offline takes an SVM's LIFs down, so
 * anonymous callers need their own opt-in, separate from auth.allowAnonymous.
 */
export const clusapiSchema = z
  .object({
    enabled: z.boolean().default(true),
    allowAnonymous: z.boolean().default(false),
  })
  .strict();

export const WATCHER_MODES = ['smb2-negotiate', 'tcp-connect', 'simulated'] as const;
export type WatcherMode = (typeof WATCHER_MODES)[number];

/** The node-health watcher: probes each node's SMB server (in CTDB mode, a second opinion beside ctdbd). */
export const watcherSchema = z
  .object({
    mode: z.enum(WATCHER_MODES).default('smb2-negotiate'),
    /** Time between the starts of two probes of one node. */
    intervalMs: millis.min(50).max(600_000).default(500),
    /** A probe that has no answer after this long failed. */
    timeoutMs: millis.min(10).max(600_000).default(400),
    /** Consecutive failed probes before a node is declared down. */
    failureThreshold: z.number().int().min(1).max(100).default(3),
    /** Consecutive good probes before a down node is declared up again. */
    recoveryThreshold: z.number().int().min(1).max(100).default(2),
  })
  .strict()
  .refine((w) => w.timeoutMs <= w.intervalMs, { message: 'timeoutMs must not exceed intervalMs', path: ['timeoutMs'] });

/**
 * The nine shared sections, each defaulted when absent. A cluster source may replace one
 * (CTDB: admin.address defaults to the node address, ctdbAdminSchema).
 */
export const SHARED_SECTIONS = {
  listener: listenerSchema.default({}),
  timeouts: timeoutsSchema.default({}),
  witness: witnessSchema.default({}),
  watcher: watcherSchema.default({}),
  admin: adminSchema.default({}),
  auth: authSchema.default({}),
  limits: limitsSchema.default({}),
  logging: loggingSchema.default({}),
  clusapi: clusapiSchema.default({}),
};

/** The limits a configuration without `limits:` gets. */
export const LIMIT_DEFAULTS = limitsSchema.parse({});
/** The Witness behaviour a configuration without `witness:` gets. */
export const WITNESS_DEFAULTS = witnessSchema.parse({});
/** The timeouts a configuration without `timeouts:` gets. */
export const TIMEOUT_DEFAULTS = timeoutsSchema.parse({});
