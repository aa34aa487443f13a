/**
 * The cluster-wide operator view in CTDB mode, carried over each node's admin API: the node
 * asked first names its CTDB peers (GET /v1/status → ctdb.nodes with their addresses), and
 * the same request goes to every node's admin API (node address, the same port, the cluster's
 * one admin.token). Why the admin API and not CTDB's messaging: it already exists on every
 * node with its token and bounded HTTP calls, an answer is a plain JSON document per node,
 * and a node whose ctdbd is down but whose witnessd still holds registrations is still
 * reachable; CTDB messages would need a new message id, a payload format and a reply path.
 * A node that does not answer is reported by name, never silently left out.
 */
import { AdminClient, AdminError } from './client';
import type { RegistrationRow } from './format';

export interface CtdbNodeView {
  readonly name: string;
  readonly pnn: number;
  readonly address: string;
  /** CTDB's flag names, or ['OK'] when none is set. */
  readonly flags: readonly string[];
}

/** No CTDB flag set (the status lists a healthy node as ['OK']). */
export const nodeOk = (n: CtdbNodeView): boolean => n.flags.length === 0 || (n.flags.length === 1 && n.flags[0] === 'OK');

export interface CtdbStatusView {
  readonly pnn: number;
  readonly nodes: readonly CtdbNodeView[];
  readonly ips: ReadonlyArray<{ readonly address: string; readonly node?: string }>;
}

/** The `source` part of GET /v1/status when it is CTDB's, else undefined. */
export function ctdbView(status: unknown): CtdbStatusView | undefined {
  const c = (status as { source?: CtdbStatusView & { name?: string } } | null)?.source;
  return c && c.name === 'ctdb' && Array.isArray(c.nodes) ? c : undefined;
}

/** One node's answer, or why it could not be had. */
export type NodeAnswer<T> = { readonly node: string; readonly url: string } & ({ readonly ok: true; readonly body: T } | { readonly ok: false; readonly error: string });

function peerUrl(base: string, address: string): string {
  const u = new URL(base);
  u.hostname = address.includes(':') ? `[${address}]` : address;
  return u.toString().replace(/\/+$/, '');
}

export class ClusterView {
  private constructor(
    readonly ctdb: CtdbStatusView,
    private readonly clients: ReadonlyArray<{ node: string; client: AdminClient }>,
  ) {}

  /** From the node `client` talks to; undefined when it is not in CTDB mode. */
  static async open(client: AdminClient, token: string | undefined, timeoutMs: number): Promise<ClusterView | undefined> {
    const ctdb = ctdbView(await client.status());
    if (!ctdb) return undefined;
    const clients = ctdb.nodes.map((n) => ({
      node: n.name,
      client: n.pnn === ctdb.pnn ? client : new AdminClient({ url: peerUrl(client.url, n.address), token, timeoutMs }),
    }));
    return new ClusterView(ctdb, clients);
  }

  /** The same call on every node at once. */
  all<T>(call: (c: AdminClient) => Promise<T>): Promise<Array<NodeAnswer<T>>> {
    return Promise.all(
      this.clients.map(async ({ node, client }): Promise<NodeAnswer<T>> => {
        try {
          return { node, url: client.url, ok: true, body: await call(client) };
        } catch (e) {
          return { node, url: client.url, ok: false, error: e instanceof AdminError || e instanceof Error ? e.message : String(e) };
        }
      }),
    );
  }

  /** Every node's registrations, each tagged with the node that holds it. */
  async registrations(filter: Record<string, string>): Promise<{ registrations: RegistrationRow[]; unreachable: Array<{ node: string; error: string }> }> {
    const answers = await this.all(async (c) => ({ registrations: await c.registrations<RegistrationRow>(filter) }));
    const registrations: RegistrationRow[] = [];
    const unreachable: Array<{ node: string; error: string }> = [];
    for (const a of answers) {
      if (a.ok) registrations.push(...a.body.registrations.map((r) => ({ ...r, heldBy: a.node })));
      else unreachable.push({ node: a.node, error: a.error });
    }
    return { registrations, unreachable };
  }

  get nodes(): readonly CtdbNodeView[] {
    return this.ctdb.nodes;
  }

  /** The admin client of one node (by model name, pnnN). */
  client(node: string): AdminClient | undefined {
    return this.clients.find((c) => c.node === node)?.client;
  }
}

/** Lines for `witnessctl status` in CTDB mode: CTDB's node map and where each public IP is. */
export function formatCtdb(ctdb: CtdbStatusView): string {
  const lines = ['CTDB node map (this node: pnn' + ctdb.pnn + '):'];
  for (const n of ctdb.nodes) lines.push(`  pnn${n.pnn}  ${n.address.padEnd(39)} ${nodeOk(n) ? 'OK' : n.flags.join(',')}`);
  lines.push('CTDB public IPs:');
  for (const ip of ctdb.ips) lines.push(`  ${ip.address.padEnd(39)} ${ip.node ?? '(unhosted)'}`);
  return lines.join('\n');
}
