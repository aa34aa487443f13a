/**
 * The configuration room: the sections of witnessd's YAML document that are not the cluster
 * model's, and their defaults (the one home of every configurable default).
 *
 *   sections.ts  listener, timeouts, witness (forced unregister, group names), admin, auth (NTLM accounts, Kerberos), limits (the RPC
 *                runtime's and the Witness service's), logging, clusapi; ADMIN_PORT,
 *                LIMIT_DEFAULTS, TIMEOUT_DEFAULTS
 *   fields.ts    field types the sections share (names, seconds, addresses, host:port)
 *
 * The document itself (those sections with nodes, svms and watcher), its parser, its error
 * messages with file:line:column and its loader are in src/cluster/config.ts, because the
 * cluster model reloads it; the CTDB variant's cluster: section is src/cluster/ctdb/config.ts.
 */
export {
  ADMIN_PORT,
  AUTH_LEVELS,
  DEFAULT_ADMIN_ADDRESS,
  LIMIT_DEFAULTS,
  TIMEOUT_DEFAULTS,
  WITNESS_DEFAULTS,
  type AuthLevelName,
} from './sections';
