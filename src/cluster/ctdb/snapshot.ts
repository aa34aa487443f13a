/**
 * What ctdbd knows, read in full over one connection: this node's PNN, the node map (PNN,
 * address, flags), and every node's public IP list. A node's list names the IPs it may host
 * (its public_addresses file) and, for each, the PNN that hosts it now; CTDB keeps that
 * second fact consistent on every node with "redundant releases" (ctdb_takeover.c), which is
 * also how `ctdb ip all` works. Controls to other nodes are routed by the local ctdbd
 * (destnode = their PNN); a node that does not answer is skipped, not fatal.
 */
import type { Logger } from 'pino';
import type { CtdbConnection } from './client';
import {
  CTDB_UNKNOWN_PNN, CtdbControl, decodeNodeMap, decodePublicIps, NODE_FLAGS_INACTIVE, NodeFlags, type CtdbNodeEntry,
} from './protocol';

export interface CtdbIp {
  readonly address: string;
  /** PNN hosting it now, or undefined when no node does. */
  readonly host: number | undefined;
  /** PNNs whose public address list contains it, ascending. */
  readonly possible: readonly number[];
}

export interface CtdbSnapshot {
  readonly pnn: number;
  readonly nodes: readonly CtdbNodeEntry[];
  readonly ips: readonly CtdbIp[];
  /** PNNs that did not answer GET_PUBLIC_IPS (their possible IPs are unknown this time). */
  readonly unanswered: readonly number[];
  /**
   * IPs whose host the answering nodes' lists name differently: a takeover run in progress, or
   * this node back from a cut, its own list still as its isolation left it.
   */
  readonly disagreed: readonly string[];
}

/** The controls a snapshot takes: GET_PNN, GET_NODEMAP, and GET_PUBLIC_IPS once per reachable node. */
export async function readPnn(conn: CtdbConnection): Promise<number> {
  const r = await conn.control({ opcode: CtdbControl.GET_PNN });
  if (r.status < 0) throw new Error(`GET_PNN failed: status ${r.status} ${r.error}`);
  return r.status;
}

export async function readNodeMap(conn: CtdbConnection): Promise<CtdbNodeEntry[]> {
  const r = await conn.control({ opcode: CtdbControl.GET_NODEMAP });
  if (r.status !== 0) throw new Error(`GET_NODEMAP failed: status ${r.status} ${r.error}`);
  return decodeNodeMap(r.data);
}

export async function readPublicIps(conn: CtdbConnection, destnode?: number, timeoutMs?: number): Promise<Array<{ pnn: number; address: string }>> {
  const r = await conn.control({ opcode: CtdbControl.GET_PUBLIC_IPS, ...(destnode === undefined ? {} : { destnode }) }, timeoutMs);
  if (r.status !== 0) throw new Error(`GET_PUBLIC_IPS from node ${destnode ?? 'local'} failed: status ${r.status} ${r.error}`);
  return decodePublicIps(r.data);
}

/** A node whose ctdbd can answer a routed control. */
export const reachable = (n: CtdbNodeEntry): boolean => (n.flags & (NodeFlags.DISCONNECTED | NodeFlags.DELETED)) === 0;
/**
 * Down for the Witness: the node left the cluster (DISCONNECTED: its ctdbd died or is cut
 * off), or CTDB took it out (BANNED, STOPPED, DELETED). Not UNHEALTHY alone: a monitor event
 * that fails or times out once (a loaded machine) would flap every client; its IPs are
 * reported when CTDB moves them, and a dead smbd is the SMB2 probe's to see.
 */
export const nodeDown = (flags: number): boolean => (flags & NODE_FLAGS_INACTIVE) !== 0;

export async function readSnapshot(conn: CtdbConnection, opts: { pnn?: number; remoteTimeoutMs?: number; logger?: Logger } = {}): Promise<CtdbSnapshot> {
  const pnn = opts.pnn ?? (await readPnn(conn));
  const nodes = await readNodeMap(conn);
  const lists = new Map<number, Array<{ pnn: number; address: string }>>();
  const unanswered: number[] = [];
  await Promise.all(
    nodes.filter(reachable).map(async (n) => {
      try {
        lists.set(n.pnn, await readPublicIps(conn, n.pnn === pnn ? undefined : n.pnn, n.pnn === pnn ? undefined : opts.remoteTimeoutMs));
      } catch (err) {
        if (n.pnn === pnn) throw err; // our own ctdbd must answer
        unanswered.push(n.pnn);
        opts.logger?.debug({ node: n.pnn, err: (err as Error).message }, 'ctdb: a node did not list its public IPs');
      }
    }),
  );
  return { pnn, nodes, ips: combinePublicIps(pnn, lists), unanswered: unanswered.sort((a, b) => a - b), disagreed: placementDisagreements(lists) };
}

/**
 * Merge the per-node lists: possible hosts = the nodes listing the IP; current host = what
 * the local node says when it lists the IP, else the first answering node's view.
 */
export function combinePublicIps(localPnn: number, lists: ReadonlyMap<number, ReadonlyArray<{ pnn: number; address: string }>>): CtdbIp[] {
  const byAddress = new Map<string, { host: number | undefined; fromLocal: boolean; possible: number[] }>();
  const order = [...lists.keys()].sort((a, b) => (a === localPnn ? -1 : b === localPnn ? 1 : a - b));
  for (const nodePnn of order) {
    for (const ip of lists.get(nodePnn) ?? []) {
      const host = ip.pnn === CTDB_UNKNOWN_PNN ? undefined : ip.pnn;
      const e = byAddress.get(ip.address);
      if (!e) byAddress.set(ip.address, { host, fromLocal: nodePnn === localPnn, possible: [nodePnn] });
      else e.possible.push(nodePnn);
    }
  }
  return [...byAddress.entries()]
    .map(([address, e]) => ({ address, host: e.host, possible: e.possible.sort((a, b) => a - b) }))
    .sort((a, b) => compareAddresses(a.address, b.address));
}

/** The IPs whose host (CTDB_UNKNOWN_PNN too) differs between two of the lists. */
export function placementDisagreements(lists: ReadonlyMap<number, ReadonlyArray<{ pnn: number; address: string }>>): string[] {
  const host = new Map<string, number>();
  const out = new Set<string>();
  for (const list of lists.values()) {
    for (const ip of list) {
      const seen = host.get(ip.address);
      if (seen === undefined) host.set(ip.address, ip.pnn);
      else if (seen !== ip.pnn) out.add(ip.address);
    }
  }
  return [...out].sort(compareAddresses);
}

function compareAddresses(a: string, b: string): number {
  const key = (s: string) => (s.includes(':') ? `6${s}` : `4${s.split('.').map((o) => o.padStart(3, '0')).join('.')}`);
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}
