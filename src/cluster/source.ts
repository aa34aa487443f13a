/**
 * The cluster source seam (STYLE.md §8, after Prometheus' discovery): where cluster facts
 * come from. Each source (the YAML model with its health watcher, CTDB, the next ones)
 * builds the cluster model from its first facts, keeps feeding it (the model's operations
 * are the one shape facts arrive in), runs, reconnects and reports its own health. The
 * daemon opens the one source the document names (cluster.source) from a table and knows
 * nothing else about it; this room never imports a source's folder.
 */
import type { Logger } from 'pino';
import type { WitnessdConfig } from '../config';
import type { HealthMetrics, HealthWatcher } from './health';
import type { ClusterModel } from './model';
import type { ClusterEvent } from './types';

/** The source's own health: is it in touch with what it reads (ctdbd, the probes)? */
export interface SourceHealth {
  readonly ok: boolean;
  /** One line for an operator: "connected to ctdbd", "lost ctdbd 12 s ago: reconnecting", ... */
  readonly detail: string;
}

/** GET /v1/status's `source`: the name, its health, and whatever the source shows of itself. */
export interface SourceStatus {
  readonly name: string;
  readonly health: SourceHealth;
  readonly [detail: string]: unknown;
}

/** A registration told of a cluster event (what the source needs of the Witness service's answer). */
export interface ToldRef {
  readonly id: string;
  /** notified: a waiting AsyncNotify got it; queued: it waits for the client's next AsyncNotify. */
  readonly delivery: 'notified' | 'queued';
}

/**
 * What a source may ask of the Witness service (the daemon binds it): who an event it raises
 * tells, and a completion signal for their notifications.
 */
export interface NotificationPort {
  /** Run `fn` (it raises cluster events) and report the registrations its events told. */
  told<T>(fn: () => T): { result: T; told: readonly ToldRef[] };
  /**
   * Resolves once none of these registrations has a notification queued (each was delivered
   * to an AsyncNotify, or the registration is gone), or once `timeoutMs` has passed; with how
   * many still had one queued then.
   */
  whenDelivered(ids: readonly string[], timeoutMs: number): Promise<number>;
}

/** What the daemon hands a source when it opens it. */
export interface SourceContext {
  readonly config: WitnessdConfig;
  readonly logger: Logger;
  /** The cluster model's own log (its events), and the health watcher's. */
  readonly modelLogger?: Logger;
  readonly healthLogger?: Logger;
  readonly healthMetrics?: HealthMetrics;
  /** CTDB: ctdbd's socket from the command line (--ctdb-socket), over the document's. */
  readonly ctdbSocket?: string;
}

export interface ClusterSource {
  /** cluster.source of the document. */
  readonly name: string;
  /** The model this source feeds, built from its first facts. */
  readonly model: ClusterModel;
  /** The node-health watcher (the YAML model's judge; CTDB's second opinion). */
  readonly watcher: HealthWatcher;
  /** The document the source runs with now (the file as loaded, not the model's view of it). */
  readonly document: WitnessdConfig;

  /** Addresses the witness endpoint and the endpoint mapper listen on now. */
  listenAddresses(): readonly string[];
  /** Those of them that must be bound at start (start-up fails when one cannot be); the others follow. */
  startAddresses(): readonly string[];
  /** Told when listenAddresses() changes (CTDB: takeip/releaseip); returns the unsubscribe. */
  onAddresses(listener: (addresses: readonly string[]) => void): () => void;
  /** The admin API's address. */
  adminAddress(): string;

  /** Begin feeding the model (probes, polls, messages) once the daemon is listening. */
  start(witness: NotificationPort): void;

  /** Reload: the model's document for a new file (the file with the source's facts filled in). */
  modelDocument(next: WitnessdConfig): WitnessdConfig;
  /** Reload: after the model took the new document, bring it back to the source's facts. */
  settle(next: WitnessdConfig): ClusterEvent[];
  /** Reload: the changed settings a reload applies through the model and the watcher (dotted prefixes). */
  readonly reloadable: readonly string[];

  /** `witnessctl node fail/recover`: done through the source, or refused (ModelError) when it cannot be truthful. */
  operatorFail(node: string): ClusterEvent[];
  operatorRecover(node: string): ClusterEvent[];

  /**
   * An event from the cluster manager's own scripts (CTDB's event script), validated by the
   * source; undefined when the source takes none (the admin API answers 503).
   */
  readonly event?: (body: unknown) => Promise<unknown>;

  /**
   * The other witnessd instances of this cluster, for the operator's cluster-wide views (a
   * registration may be held by any node's witnessd): this node's name and each peer's node
   * address (its admin API listens there, on the same port). Undefined: one witnessd serves
   * the whole cluster (the YAML model).
   */
  readonly members?: () => { readonly self: string; readonly nodes: ReadonlyArray<{ readonly node: string; readonly address: string }> };

  status(): SourceStatus;
  close(): Promise<void>;
}

/** How each source is opened; the daemon's table maps cluster.source to one. */
export type OpenSource = (ctx: SourceContext) => Promise<ClusterSource>;
