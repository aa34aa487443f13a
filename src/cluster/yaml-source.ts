/**
 * The YAML model as a cluster source: the document lists nodes, SVMs, LIFs and shares; the
 * health watcher's probes (and the operator) decide which nodes are up. Listens where the
 * document says; the addresses never change while it runs.
 */
import { HealthWatcher } from './health';
import { ClusterModel } from './model';
import type { ClusterSource, SourceContext, SourceStatus } from './source';
import type { ClusterEvent } from './types';
import type { WitnessdConfig } from '../config';

export interface YamlSourceParts {
  readonly model: ClusterModel;
  readonly watcher: HealthWatcher;
  readonly document: WitnessdConfig;
}

export class YamlSource implements ClusterSource {
  readonly name = 'yaml';
  readonly reloadable = ['nodes', 'svms', 'watcher'];
  readonly model: ClusterModel;
  readonly watcher: HealthWatcher;
  document: WitnessdConfig;

  /** From parts already built (tests, and open() below). */
  constructor(parts: YamlSourceParts) {
    this.model = parts.model;
    this.watcher = parts.watcher;
    this.document = parts.document;
  }

  static open(ctx: SourceContext): Promise<YamlSource> {
    const model = new ClusterModel(ctx.config, { logger: ctx.modelLogger });
    const watcher = new HealthWatcher({ model, config: ctx.config.watcher, logger: ctx.healthLogger ?? ctx.logger, metrics: ctx.healthMetrics });
    return Promise.resolve(new YamlSource({ model, watcher, document: ctx.config }));
  }

  listenAddresses(): readonly string[] {
    return this.document.listener.addresses;
  }
  startAddresses(): readonly string[] {
    return this.document.listener.addresses;
  }
  onAddresses(): () => void {
    return () => undefined; // a reload that changes listener.addresses needs a restart
  }
  adminAddress(): string {
    return this.document.admin.address;
  }
  start(): void {
    this.watcher.start();
  }
  modelDocument(next: WitnessdConfig): WitnessdConfig {
    return next;
  }
  settle(next: WitnessdConfig): ClusterEvent[] {
    this.document = next;
    return [];
  }
  operatorFail(node: string): ClusterEvent[] {
    return this.watcher.operatorFail(node);
  }
  operatorRecover(node: string): ClusterEvent[] {
    return this.watcher.operatorRecover(node);
  }
  status(): SourceStatus {
    const probing = this.watcher.mode !== 'simulated';
    return {
      name: this.name,
      health: { ok: true, detail: probing ? `the health watcher probes each node (${this.watcher.mode})` : 'simulated: nodes change state only by operator commands' },
      document: this.document.source,
    };
  }
  async close(): Promise<void> {
    await this.watcher.stop();
  }
}
