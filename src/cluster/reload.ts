/**
 * Reload, the one path for every cluster source: read the configuration file again and
 * apply it, truthfully. The file must load and name the running source (ConfigError
 * otherwise) and its deployment findings must hold no error (ReloadRefused); in all these
 * cases nothing changes. Then the model takes the source's document for it (events for what
 * changed), the source settles the model back to its facts, the watcher takes its settings,
 * the caller's live settings take theirs (auth, logging level, ...), and every other changed
 * setting is named in `restartNeeded`: kept as it was until a restart. Used by the daemon for
 * SIGHUP and the admin API's /v1/reload alike.
 */
import { ConfigError, loadConfig, type WitnessdConfig } from '../config';
import { ClusterModel } from './model';
import type { ClusterSource } from './source';
import type { ClusterEvent, DeploymentFinding } from './types';

export interface ReloadOutcome {
  readonly source: string;
  readonly events: readonly ClusterEvent[];
  readonly findings: readonly DeploymentFinding[];
  /** Changed settings now in effect (dotted paths, e.g. "auth.minimumLevel", "svms"). */
  readonly applied: readonly string[];
  /** Changed settings that keep their running value until witnessd restarts. */
  readonly restartNeeded: readonly string[];
}

/** The new file's deployment findings include errors: nothing was applied. */
export class ReloadRefused extends Error {
  constructor(readonly findings: readonly DeploymentFinding[]) {
    super(`configuration not reloaded (the running one stays): ${findings.filter((f) => f.severity === 'error').map((f) => f.message).join('; ')}`);
    this.name = 'ReloadRefused';
  }
}

/**
 * Settings the caller applies itself (outside the model and the watcher): the dotted
 * prefixes it handles, and a function that applies them from the new document.
 */
export interface LiveSettings {
  readonly reloadable: readonly string[];
  /** The document the process started with: what the other settings still run with. */
  readonly startedWith: WitnessdConfig;
  /** Get ready to apply `next` (read the files it names); throws ConfigError, and then nothing is applied. */
  check?(next: WitnessdConfig): void;
  apply(next: WitnessdConfig): void;
}

/** Dotted paths of the leaves that differ (arrays compared whole, as one setting). */
export function changedSettings(a: unknown, b: unknown, path = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !(path === '' && k === 'source'));
    return keys.flatMap((k) => changedSettings(a[k], b[k], path ? `${path}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [path];
}

const covered = (prefixes: readonly string[], setting: string): boolean =>
  prefixes.some((p) => setting === p || setting.startsWith(`${p}.`));

/**
 * Which changed settings a reload applies (`own`: what the caller's model feed takes, plus
 * the live settings) and which wait for a restart: the latter against the start-up document,
 * so a setting changed by an earlier reload still waits for the restart.
 */
export function splitChanges(current: WitnessdConfig, next: WitnessdConfig, live: LiveSettings | undefined, own: readonly string[]): { applied: string[]; restartNeeded: string[] } {
  const reloadable = [...own, ...(live?.reloadable ?? [])];
  return {
    applied: changedSettings(current, next).filter((c) => covered(reloadable, c)),
    restartNeeded: changedSettings(live?.startedWith ?? current, next).filter((c) => !covered(reloadable, c)),
  };
}

export async function reloadConfigFile(source: ClusterSource, path: string, live?: LiveSettings): Promise<ReloadOutcome> {
  const next = loadConfig(path); // throws ConfigError: nothing changed yet
  if (next.cluster.source !== source.name) {
    throw new ConfigError([{ file: path, line: 0, column: 0, field: 'cluster.source', message: `witnessd runs with the ${source.name} source; switching sources needs a restart` }]);
  }
  const { model } = source;
  const document = source.modelDocument(next);
  const nextFindings = new ClusterModel(document, model.options).findings();
  if (nextFindings.some((f) => f.severity === 'error')) throw new ReloadRefused(nextFindings);
  // A file the new document names must be readable before anything changes (a missing
  // accounts file once half-applied the reload, answered 500 and left it listed as applied).
  live?.check?.(next);
  const { applied, restartNeeded } = splitChanges(source.document, next, live, source.reloadable);
  const events = [...model.applyConfig(document), ...source.settle(next)];
  await source.watcher.reconfigure(next.watcher);
  live?.apply(next);
  return { source: next.source, events, findings: model.findings(), applied, restartNeeded };
}
