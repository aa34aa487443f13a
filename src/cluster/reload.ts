/**
 * Reload: read the configuration file again, apply it to the model (events for what
 * changed) and to the watcher. A file that does not validate throws ConfigError and leaves
 * the running configuration as it was. Used by the admin API's /v1/reload and by the
 * daemon's SIGHUP handler.
 */
import { loadConfig } from './config';
import type { HealthWatcher } from './health';
import type { ClusterModel } from './model';
import type { ClusterEvent, DeploymentFinding } from './types';

export interface ReloadOutcome {
  readonly source: string;
  readonly events: readonly ClusterEvent[];
  readonly findings: readonly DeploymentFinding[];
}

export async function reloadConfigFile(model: ClusterModel, watcher: HealthWatcher | undefined, path: string): Promise<ReloadOutcome> {
  const next = loadConfig(path); // throws ConfigError: nothing changed yet
  const events = model.applyConfig(next);
  await watcher?.reconfigure(next.watcher);
  return { source: next.source, events, findings: model.findings() };
}
