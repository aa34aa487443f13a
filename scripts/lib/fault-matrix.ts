/**
 * The fault matrix (issue 22 item 5, issue 21 item 10) on the netns cluster
 * (./netns-cluster.ts): each fault is done to node 0 (or to the nodes it names), timed from
 * the fault to the last client told, and checked for lost registrations, duplicate and false
 * notifications, and every node's Witness service answering afterwards. The benchmark
 * (scripts/bench/faults.ts) runs all of it with 1,000 registrations for witnessd and for
 * Samba's rpcd_witness; the interop test runs a subset with fewer.
 *
 * Reading the records (fault-fleet.ts): the clients "affected" are those registered, at a
 * node the fault spares, for an IP a faulted node hosted; a notification is false when its
 * IP was neither on a faulted node (for a fault that must be told) nor moved by CTDB during
 * the window; a duplicate is the same notification twice in a row to one registration.
 */
import { epmMapTcpPort } from '../../src/client/epm';
import { Witness_SYNTAX } from '../../src/gen/witness';
import { sleep } from '../../test/interop/helpers/process';
import type { ClientRecord, FaultFleet } from './fault-fleet';
import type { NetnsCluster } from './netns-cluster';

export interface Fault {
  readonly name: string;
  /** The nodes it is done to (default [0]). */
  readonly targets?: (c: NetnsCluster) => Promise<number[]>;
  /** Do it (and undo it: resume, restore); returns the fault's time (ms epoch). */
  run(c: NetnsCluster, targets: readonly number[]): Promise<number>;
  /**
   * The clients of the faulted nodes' IPs must be told; false: no one may be told anything
   * unless CTDB moves an IP; 'either': telling them is true only if the node's SMB service
   * stopped answering (ctdbd stopped: smbd's new connections wait for it), so it is reported,
   * neither required nor false.
   */
  readonly mustTell: boolean | 'either';
  /** What CTDB alone would give (its defaults: KeepaliveInterval 5 s × (KeepaliveLimit 5 + 1), MonitorInterval 15 s). */
  readonly ctdbAlone: string;
  /** Watch this long after run() returned, for late, duplicate or false notifications. */
  readonly settleMs: number;
}

/** How long the fleet must have heard nothing before a fault starts. */
const QUIET_MS = 4000;

const stopAll = (c: NetnsCluster, pnn: number, sig: 'SIGSTOP' | 'SIGCONT'): void => {
  for (const p of ['ctdbd', 'smbd', 'witnessd'] as const) {
    try {
      c.kill(pnn, p, sig, { group: p !== 'witnessd' });
    } catch {
      /* not running */
    }
  }
};

/** The node CTDB's leader election chose (`ctdb leader`, 4.18+; `recmaster` before). */
async function leader(c: NetnsCluster): Promise<number[]> {
  for (const cmd of ['leader', 'recmaster']) {
    const r = await c.ctdb(0, [cmd]);
    if (r.code === 0 && /^\d+$/.test(r.stdout.trim())) return [Number(r.stdout.trim())];
  }
  throw new Error('ctdb could not name its leader');
}

/** A slow node: 1 s stalls of every process (SIGSTOP/SIGCONT) every 3 s for `seconds`. */
export function slowNode(seconds: number): Fault {
  return {
    name: `slow node: 1 s stalls every 3 s for ${seconds} s`, mustTell: false, settleMs: 5000, ctdbAlone: 'nothing',
    run: async (c, [n]) => {
      const at = Date.now();
      for (let i = 0; i < Math.floor(seconds / 3); i++) {
        stopAll(c, n, 'SIGSTOP');
        await sleep(1000);
        stopAll(c, n, 'SIGCONT');
        await sleep(2000);
      }
      return at;
    },
  };
}

/**
 * The node's link cut for `seconds`, then restored. Longer than CTDB's keepalive (30 s), the
 * majority re-places its IPs and its own ctdbd, alone, calls the others' IPs hosted by no node.
 */
export function linkCut(seconds: number): Fault {
  return {
    name: `link cut ${seconds} s, restored`, mustTell: true, settleMs: 15_000, ctdbAlone: seconds >= 30 ? '~30 s (keepalive), IPs re-placed after' : 'nothing',
    run: async (c, [n]) => {
      const at = c.cutLink(n);
      await sleep(seconds * 1000);
      c.restoreLink(n);
      return at;
    },
  };
}

export const FAULTS: readonly Fault[] = [
  { name: 'ctdbd kill -9, one node', mustTell: true, settleMs: 8000, ctdbAlone: 'DISCONNECTED ~0.1 s; IPs re-placed ~3–5 s',
    run: async (c, [n]) => c.kill(n, 'ctdbd', 'SIGKILL', { group: true }) },
  { name: 'ctdbd kill -9, the recovery master', mustTell: true, settleMs: 10_000, targets: leader, ctdbAlone: 'election first, then as above',
    run: async (c, [n]) => c.kill(n, 'ctdbd', 'SIGKILL', { group: true }) },
  { name: 'ctdbd kill -9, two nodes at once', mustTell: true, settleMs: 10_000, targets: async () => [0, 1], ctdbAlone: 'as one node',
    run: async (c, ns) => Math.min(...ns.map((n) => c.kill(n, 'ctdbd', 'SIGKILL', { group: true }))) },
  ...[10, 60].map((s): Fault => ({
    name: `ctdbd SIGSTOP ${s} s, resumed`, mustTell: s >= 30 ? true : 'either', settleMs: 10_000, ctdbAlone: s >= 30 ? '~30 s (keepalive)' : 'nothing',
    run: async (c, [n]) => {
      const at = c.kill(n, 'ctdbd', 'SIGSTOP', { group: true });
      await sleep(s * 1000);
      c.kill(n, 'ctdbd', 'SIGCONT', { group: true });
      return at;
    },
  })),
  { name: 'whole node hung (ctdbd, smbd, witnessd SIGSTOP) 10 s', mustTell: true, settleMs: 10_000, ctdbAlone: 'nothing (10 s < 30 s keepalive)',
    run: async (c, [n]) => {
      const at = Date.now();
      stopAll(c, n, 'SIGSTOP');
      await sleep(10_000);
      stopAll(c, n, 'SIGCONT');
      return at;
    } },
  ...[10, 60].map(linkCut),
  { name: 'witnessd kill -9, restarted by the event script', mustTell: false, settleMs: 5000, ctdbAlone: '—',
    run: async (c, [n]) => {
      const at = c.kill(n, 'witnessd', 'SIGKILL');
      await c.waitHealthy(120_000);
      return at;
    } },
  { name: 'ctdbd restarted under a running witnessd', mustTell: true, settleMs: 10_000, ctdbAlone: 'IPs released at shutdown',
    run: async (c, [n]) => {
      const at = c.kill(n, 'ctdbd', 'SIGTERM');
      await sleep(3000);
      return at;
    } },
  slowNode(60),
  { name: 'smbd killed, ctdbd up', mustTell: true, settleMs: 6000, ctdbAlone: 'never without 50.samba; its next monitor (≤ 15 s) with it',
    run: async (c, [n]) => c.kill(n, 'smbd', 'SIGKILL', { group: true }) },
  { name: 'whole node killed (ctdbd, smbd, witnessd)', mustTell: true, settleMs: 8000, ctdbAlone: 'DISCONNECTED ~0.1 s; IPs re-placed ~3–5 s',
    run: async (c, [n]) => {
      const at = Date.now();
      for (const p of ['ctdbd', 'smbd', 'witnessd'] as const) {
        try {
          c.kill(n, p, 'SIGKILL', { group: p !== 'witnessd' });
        } catch {
          /* no witnessd on a node that runs Samba's */
        }
      }
      return at;
    } },
  { name: 'ctdb disable', mustTell: true, settleMs: 25_000, ctdbAlone: 'IPs move at the next takeover run',
    run: async (c, [n]) => {
      const at = Date.now();
      await c.ctdbOk(n, ['disable']);
      return at;
    } },
  { name: 'ctdb moveip', mustTell: true, settleMs: 6000, ctdbAlone: '~0.2 s',
    run: async (c, [n]) => {
      const at = Date.now();
      await c.ctdbOk(n, ['moveip', c.publicIp(n), String((n + 2) % c.nodes.length)]);
      return at;
    } },
];

export interface FaultResult {
  readonly fault: string;
  /** Fault → the last affected client's first notification, ms (undefined: none was told). */
  readonly lastToldMs: number | undefined;
  readonly told: number;
  readonly affected: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly falseNotifications: number;
  /** Registrations that registered again (a forced unregister, a dead witnessd). */
  readonly reregistered: number;
  /** Every node's Witness service answered an endpoint-mapper lookup afterwards. */
  readonly serving: boolean;
  /** What the first notifications were, by kind. */
  readonly kinds: Record<string, number>;
  /** Every registration's answers in the window, by "registered at → for IP: answers" (for reading a surprise). */
  readonly answers: Record<string, number>;
  readonly ctdbAlone: string;
}

const isNotification = (kind: string): boolean => /^(RESOURCE_CHANGE|CLIENT_MOVE|SHARE_MOVE|IP_CHANGE)/.test(kind);

/** Placement seen by a node the fault spares, sampled while the fault runs. */
async function samplePlacement(c: NetnsCluster, from: number, until: () => boolean, into: Map<string, Set<number>>): Promise<void> {
  for (let i = 0; i < 10_000 && !until(); i++) {
    try {
      for (const [ip, pnn] of await c.ips(from)) {
        const s = into.get(ip) ?? new Set<number>();
        s.add(pnn);
        into.set(ip, s);
      }
    } catch {
      /* its ctdbd is busy (recovery): next time */
    }
    await sleep(500);
  }
}

/** Judge one fault's records. */
export function judgeFault(f: Fault, records: readonly ClientRecord[], at: number, targets: readonly number[], hostedAtFault: ReadonlyMap<string, number>, seen: ReadonlyMap<string, ReadonlySet<number>>, nodeAddresses: readonly string[], serving: boolean): FaultResult {
  const faultedIps = new Set([...hostedAtFault].filter(([, pnn]) => targets.includes(pnn)).map(([ip]) => ip));
  const moved = new Set([...seen].filter(([ip, s]) => s.size > 1 || ![...s].includes(hostedAtFault.get(ip) ?? -2)).map(([ip]) => ip));
  const touched = new Set([...moved, ...(f.mustTell !== false ? faultedIps : [])]);
  const spared = new Set(nodeAddresses.filter((_, pnn) => !targets.includes(pnn)));
  let lastToldMs: number | undefined;
  let told = 0;
  let affected = 0;
  let duplicates = 0;
  let falseNotifications = 0;
  const kinds: Record<string, number> = {};
  const answers: Record<string, number> = {};
  for (const r of records) {
    const key = `${r.target.host} → ${r.target.ip}: ${r.told.map((t) => `${t.kind}@${((t.at - at) / 1000).toFixed(1)}s`).join(', ').replace(/@-?[\d.]+s/g, '') || 'nothing'}`;
    answers[key] = (answers[key] ?? 0) + 1;
    const notes = r.told.filter((t) => isNotification(t.kind));
    // Twice in a row to one registration; a registration made again (after not-found or a
    // closed connection) starts afresh.
    let prev: string | undefined;
    for (const t of r.told) {
      if (!isNotification(t.kind)) prev = undefined;
      else if (t.kind === prev) duplicates++;
      else prev = t.kind;
    }
    if (!touched.has(r.target.ip)) falseNotifications += notes.length;
    if (faultedIps.has(r.target.ip) && spared.has(r.target.host) && f.mustTell !== false) {
      affected++;
      const first = notes[0];
      if (first) {
        told++;
        kinds[first.kind] = (kinds[first.kind] ?? 0) + 1;
        lastToldMs = Math.max(lastToldMs ?? 0, first.at - at);
      }
    }
  }
  return {
    fault: f.name, lastToldMs, told, affected, duplicates, falseNotifications, serving, kinds, answers, ctdbAlone: f.ctdbAlone,
    lost: records.filter((r) => r.lost !== undefined).length,
    reregistered: records.reduce((n, r) => n + r.reregistered, 0),
  };
}

/** Every node's endpoint mapper names a Witness port. */
export async function allServing(c: NetnsCluster): Promise<boolean> {
  const ok = await Promise.all(c.nodes.map((n) => epmMapTcpPort(n.address, Witness_SYNTAX).then(() => true, () => false)));
  return ok.every(Boolean);
}

/** Back to the start: every ctdbd and smbd running, every node OK and enabled, public IP i on node i. */
export async function heal(c: NetnsCluster): Promise<void> {
  for (const n of c.nodes) {
    try {
      c.restoreLink(n.pnn);
    } catch {
      /* up */
    }
    if (c.pids(n.pnn).ctdbd === undefined) await c.startCtdbd(n.pnn);
  }
  for (const n of c.nodes) await c.ctdb(n.pnn, ['enable']);
  await c.waitCtdbOk(180_000);
  for (const n of c.nodes) if (c.pids(n.pnn).smbd === undefined) await c.startSamba(n.pnn);
  await c.placeIps(120_000);
  await c.waitHealthy(180_000);
}

/**
 * n registrations spread over the public IPs, each at the next node after the IP's (a node
 * that does not host it), as Windows registers where GetInterfaceList marks a witness.
 */
export function spread(c: NetnsCluster, n: number): Array<{ host: string; ip: string }> {
  const k = c.nodes.length;
  return Array.from({ length: n }, (_, i) => {
    const ipNode = i % k;
    const at = (ipNode + 1 + (Math.floor(i / k) % (k - 1))) % k;
    return { host: c.node(at).address, ip: c.publicIp(ipNode) };
  });
}

/** One fault, start to judged result: the cluster is healed first and the fleet registered. */
export async function runFault(c: NetnsCluster, fleet: FaultFleet, f: Fault, log: (m: string) => void): Promise<FaultResult> {
  const targets = f.targets ? await f.targets(c) : [0];
  const spare = c.nodes.map((n) => n.pnn).find((p) => !targets.includes(p)) as number;
  // The previous fault's last words (an AVAILABLE after its healing) belong to it: start
  // once no client has heard anything for QUIET_MS (bounded).
  for (let i = 0; i < 60 && Date.now() - fleet.lastAnswerAt < QUIET_MS; i++) await sleep(500);
  const hostedAtFault = new Map([...(await c.ips(spare))]);
  fleet.mark();
  const seen = new Map<string, Set<number>>();
  let done = false;
  const sampling = samplePlacement(c, spare, () => done, seen);
  log(`${f.name}: on node(s) ${targets.join(', ')}`);
  const at = await f.run(c, targets);
  await sleep(f.settleMs);
  done = true;
  await sampling;
  const records = fleet.records(); // the window's notifications (healing moves IPs back)
  await heal(c);
  // Clients of a witness that died register again once it is back (bounded).
  for (let i = 0; i < 120 && fleet.registered() < records.length; i++) await sleep(500);
  const serving = await allServing(c);
  const afterHeal = fleet.records();
  const result = judgeFault(f, records.map((r, i) => ({ ...r, lost: afterHeal[i]?.lost ?? (fleet.isRegistered(i) ? undefined : 'not registered after the fault') })), at, targets, hostedAtFault, seen, c.nodes.map((n) => n.address), serving);
  log(`${f.name}: ${JSON.stringify(result)}`);
  return result;
}
