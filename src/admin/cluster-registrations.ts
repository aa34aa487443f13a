/**
 * The status page's registrations in a cluster of witnessd instances (CTDB: one per node):
 * this node's and every peer's, each tagged with the node that holds it, read from the peers'
 * admin APIs (node address, this admin API's port, the cluster's one admin.token; the same
 * path as witnessctl's cluster-wide view, cluster-view.ts). The snapshot is synchronous, so
 * the peers are read in the background, at most every refreshMs while someone looks, and the
 * page gets the last answers; a peer that does not answer is named, never left out silently.
 */
import type { Logger } from 'pino';
import { AdminClient } from './client';
import type { RegistrationRow } from './format';
import type { RegistrationSummary } from './port';

export interface ClusterMembers {
  readonly self: string;
  readonly nodes: ReadonlyArray<{ readonly node: string; readonly address: string }>;
}

export interface ClusterRegistrationsOptions {
  readonly members: () => ClusterMembers;
  /** The port the peers' admin APIs listen on (this one's). */
  readonly port: () => number;
  readonly token: string | undefined;
  /** Registrations listed per node at most. */
  readonly limit: number;
  readonly timeoutMs?: number;
  readonly refreshMs?: number;
  readonly logger?: Logger;
}

export interface ClusterRegistrationsView {
  readonly registrations: RegistrationRow[];
  /** Peers whose last answer was an error (or that have not answered yet). */
  readonly unreachable: Array<{ node: string; error: string }>;
}

export class ClusterRegistrations {
  private peerRows = new Map<string, { ok: true; rows: RegistrationRow[] } | { ok: false; error: string }>();
  private readAt = 0;
  private reading: Promise<void> | undefined;

  constructor(private readonly o: ClusterRegistrationsOptions) {}

  /** This node's rows and the peers' last answers; starts a background read when they are old. */
  view(local: readonly RegistrationSummary[]): ClusterRegistrationsView {
    if (!this.reading && Date.now() - this.readAt >= (this.o.refreshMs ?? 1000)) this.reading = this.read().finally(() => (this.reading = undefined));
    const m = this.o.members();
    const registrations: RegistrationRow[] = local.map((r) => ({ ...r, heldBy: m.self }));
    const unreachable: Array<{ node: string; error: string }> = [];
    for (const { node } of m.nodes) {
      const a = this.peerRows.get(node);
      if (!a) unreachable.push({ node, error: 'not asked yet' });
      else if (a.ok) registrations.push(...a.rows);
      else unreachable.push({ node, error: a.error });
    }
    return { registrations, unreachable };
  }

  /** Read every peer now (tests; view() does it in the background). */
  async read(): Promise<void> {
    const m = this.o.members();
    const port = this.o.port();
    const next = new Map<string, { ok: true; rows: RegistrationRow[] } | { ok: false; error: string }>();
    await Promise.all(
      m.nodes.map(async ({ node, address }) => {
        const host = address.includes(':') ? `[${address}]` : address;
        const c = new AdminClient({ url: `http://${host}:${port}`, token: this.o.token, timeoutMs: this.o.timeoutMs ?? 2000 });
        try {
          const body = await c.get<{ registrations: RegistrationSummary[] }>('/v1/registrations', {});
          next.set(node, { ok: true, rows: body.registrations.slice(0, this.o.limit).map((r) => ({ ...r, heldBy: node })) });
        } catch (e) {
          next.set(node, { ok: false, error: (e as Error).message });
        }
      }),
    );
    this.peerRows = next;
    this.readAt = Date.now();
    const down = [...next].filter(([, a]) => !a.ok).map(([n]) => n);
    if (down.length > 0) this.o.logger?.debug({ unreachable: down }, 'status page: peers that did not list their registrations');
  }
}
