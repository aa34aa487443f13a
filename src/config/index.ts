/**
 * The configuration room: witnessd's one YAML document, its schemas and every configurable
 * default.
 *
 *   document.ts       the document: the nine shared sections beside one cluster section,
 *                     chosen by cluster.source; WitnessdConfig and its parts
 *   cluster-yaml.ts   the YAML model's cluster: nodes, SVMs, LIFs, shares (source: yaml)
 *   cluster-ctdb.ts   CTDB's cluster section (source: ctdb) and `--print-ctdb-config`
 *   peer-watch.ts     cluster.peerWatch: how each witnessd watches its peers (CTDB mode)
 *   sections.ts       listener, timeouts, witness (forced unregister, group names), watcher,
 *                     admin, auth, limits, logging, clusapi
 *                     (SHARED_SECTIONS); ADMIN_PORT, LIMIT_DEFAULTS, TIMEOUT_DEFAULTS
 *   load.ts           parse and load, errors with file:line:column and the field
 *   demo.ts           the embedded demo document
 *   fields.ts         field types the sections share (names, seconds, addresses, host:port)
 */
export {
  ADMIN_PORT,
  AUTH_LEVELS,
  DEFAULT_ADMIN_ADDRESS,
  LIMIT_DEFAULTS,
  TIMEOUT_DEFAULTS,
  WATCHER_MODES,
  WITNESS_DEFAULTS,
  type AuthLevelName,
  type WatcherMode,
} from './sections';
export { ctdbSettings } from './document';
export type {
  AdminConfig, AuthConfig, ClusterSection, ClusterSourceName, KerberosConfig, LifConfig, NodeConfig, ShareConfig, SvmConfig, WatcherConfig, WitnessdConfig,
} from './document';
export { ConfigError, demoConfig, formatProblem, loadConfig, parseConfig } from './load';
export type { ConfigProblem } from './load';
export { DEMO_CONFIG_NAME, DEMO_CONFIG_YAML } from './demo';
export { CTDB_DEFAULT_SOCKET, ctdbConfigTemplate, defaultCtdbSocket } from './cluster-ctdb';
export type { CtdbSettings, SambaFacts } from './cluster-ctdb';
export { PEER_WATCH_PORT, type PeerWatchConfig } from './peer-watch';
