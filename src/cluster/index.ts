/**
 * The cluster room's public API (see the module headers for the rules). The configuration's
 * non-cluster sections and the defaults are in src/config/; src/README.md maps every room.
 */
export * from './types';
export { ConfigError, demoConfig, formatProblem, loadConfig, parseConfig, DEMO_CONFIG_NAME, DEMO_CONFIG_YAML, WATCHER_MODES, AUTH_LEVELS } from './config';
export type { WitnessdConfig, NodeConfig, SvmConfig, LifConfig, ShareConfig, WatcherConfig, AdminConfig, AuthConfig, KerberosConfig, ConfigProblem, WatcherMode, AuthLevelName } from './config';
export { ClusterModel, ModelError, createClusterModel } from './model';
export type { AddressChange, ModelErrorCode, TimedEvent, ClusterModelOptions } from './model';
export { HealthWatcher, probeFor } from './health';
export type { HealthStateChange, HealthWatcherOptions, NodeHealth, NodeWatchStatus } from './health';
export { smb2NegotiateProbe, buildNegotiateRequest, judgeNegotiateResponse } from './probes/smb2';
export { tcpConnectProbe } from './probes/tcp';
export type { Probe, ProbeResult, ProbeTarget } from './probes/probe';
export { changedSettings, reloadConfigFile, ReloadRefused } from './reload';
export type { LiveSettings, ReloadOutcome } from './reload';
// CTDB mode (cluster.source: ctdb): the source, its hook and its config section live in ./ctdb/.
export { CtdbSource } from './ctdb/source';
export type { CtdbSourceStatus, DeliveryState } from './ctdb/source';
export { CTDB_HOOK_PATH, type CtdbHookRequest, type CtdbHookReply, type CtdbAdminPort } from './ctdb/hook';
export type { CtdbSettings } from './config';
