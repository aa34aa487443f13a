/**
 * The cluster room's public API (see the module headers for the rules). The configuration
 * document, its schemas and its defaults are in src/config/; src/README.md maps every room.
 */
export * from './types';
export { ClusterModel, ModelError, createClusterModel } from './model';
export type { AddressChange, ModelErrorCode, TimedEvent, ClusterModelOptions } from './model';
export { HealthWatcher, probeFor } from './health';
export type { HealthStateChange, HealthWatcherOptions, NodeHealth, NodeWatchStatus } from './health';
export { smb2NegotiateProbe, buildNegotiateRequest, judgeNegotiateResponse } from './probes/smb2';
export { tcpConnectProbe } from './probes/tcp';
export type { Probe, ProbeResult, ProbeTarget } from './probes/probe';
export { changedSettings, reloadConfigFile, ReloadRefused } from './reload';
export type { LiveSettings, ReloadOutcome } from './reload';
