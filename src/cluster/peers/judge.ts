/**
 * The peer watch's rules, pure (README "Faster than CTDB: hangs and partitions"; each rule
 * has a test in test/unit/cluster/peers-judge.test.ts):
 *
 *  R1 evidence: a node serves when its SMB server answers an SMB2 NEGOTIATE (on its node
 *     address or a public IP it hosts). It is "refused" after refusedThreshold refused or
 *     reset probes in a row (the host answered: its smbd is dead), "silent" when nothing
 *     answered for silenceMs while its witnessd is not heard either (the node hangs whole,
 *     or is cut off; watch.ts vouched()). A stall shorter than silenceMs is neither, and a
 *     node still heard whose smbd is slow is a brown-out, not a failure.
 *  R2 partition: a peer is heard while its witnessd's heartbeats arrive (within silenceMs).
 *     A node is quorate while it reaches a strict majority of the cluster, itself included,
 *     a peer counting when it is heard or its SMB server answers this node (so a peer that
 *     runs no witnessd, as during a rolling migration, still counts; only heard peers vote).
 *  R3 down: a quorate node declares a node down when a strict majority of the cluster, among
 *     itself and the peers it hears (the node itself too, when heard), judge it not serving.
 *     One node's view alone (a one-sided link) is never enough in a cluster of three or more,
 *     and a node fails itself only when its own probe of its smbd agrees.
 *  R4 back: a node this watch declared down is back after recoveryThreshold good probes in a
 *     row by this node, unless CTDB calls it inactive (then once CTDB no longer does).
 *  R5 minority: a node that is not quorate declares nothing, and (in a cluster of three or
 *     more) holds back its own ctdbd's "peer inactive" flags (a cut-off ctdbd sees every peer
 *     gone): it tells its clients nothing about the others. A node that loses the majority it
 *     had holds every fact of its cluster manager's about the other nodes and their IPs (its
 *     ctdbd, alone, calls their IPs hosted by no node: its own isolation, not theirs) and
 *     follows only its own IPs (what it took or released is first-hand), until it is quorate
 *     again AND a fresh full read shows its manager rejoined (cutOffHold): it reaches every
 *     peer this node hears, and every node it read places every IP alike (the takeover run
 *     after the rejoin ended). That read is then applied as one net change: an IP that ended
 *     where it was tells no one anything.
 *  R6 CTDB's word: a quorate node applies CTDB's "node inactive" at once, except for a node
 *     it still hears whose last probe answered (then only its own ctdbd lost the node, as a
 *     ctdbd resumed after a stall does): it probes the node at once and applies the flag as
 *     soon as one probe fails.
 */
import type { PeerWatchConfig } from '../../config';

export type SmbSeen = 'serving' | 'refused' | 'silent' | 'unknown';

/** One observer's judgement of every node's SMB server (itself included): what its heartbeat carries. */
export type SmbView = Readonly<Record<string, SmbSeen>>;

/** What this node's probes of one node found. Times in ms on one clock. */
export interface ProbeStats {
  /** When judging began (start-up, or after this process itself stalled). */
  readonly since: number;
  readonly lastOkAt: number | undefined;
  readonly refusedInRow: number;
  readonly okInRow: number;
  /** The latest finished probe answered (undefined before the first). */
  readonly lastOk: boolean | undefined;
}

export const freshStats = (now: number): ProbeStats => ({ since: now, lastOkAt: undefined, refusedInRow: 0, okInRow: 0, lastOk: undefined });

/** Fold one probe result (of any of the node's addresses) into its stats. */
export function recordProbe(s: ProbeStats, r: { ok: boolean; refused?: boolean }, at: number): ProbeStats {
  if (r.ok) return { ...s, lastOkAt: at, refusedInRow: 0, okInRow: s.okInRow + 1, lastOk: true };
  return { ...s, refusedInRow: r.refused ? s.refusedInRow + 1 : s.refusedInRow, okInRow: 0, lastOk: false };
}

/** R1. */
export function judgeSmb(s: ProbeStats, now: number, cfg: Pick<PeerWatchConfig, 'silenceMs' | 'refusedThreshold'>): SmbSeen {
  if (s.refusedInRow >= cfg.refusedThreshold) return 'refused';
  if (now - (s.lastOkAt ?? s.since) < cfg.silenceMs) return s.lastOkAt === undefined ? 'unknown' : 'serving';
  return 'silent';
}

export const notServing = (seen: SmbSeen | undefined): boolean => seen === 'refused' || seen === 'silent';

export interface Round {
  readonly self: string;
  /** The cluster's nodes, this one included. */
  readonly members: readonly string[];
  readonly own: SmbView;
  /** Peers heard within silenceMs, with the view their latest heartbeat carried. */
  readonly heard: ReadonlyMap<string, SmbView>;
}

export interface Verdicts {
  /** The cluster's size. */
  readonly size: number;
  readonly quorate: boolean;
  /** This node and the peers it reaches (R2). */
  readonly reached: readonly string[];
  /** Strict majority of the cluster. */
  readonly majority: number;
  /** This node and the peers it hears. */
  readonly voters: readonly string[];
  /** R3: the nodes a majority judges not serving (none when not quorate). */
  readonly down: ReadonlySet<string>;
  /** Votes "not serving" per node, for the status view. */
  readonly votes: ReadonlyMap<string, number>;
}

export const majorityOf = (n: number): number => Math.floor(n / 2) + 1;

/** R2 and R3. */
export function judge(r: Round): Verdicts {
  const majority = majorityOf(r.members.length);
  const voters = [r.self, ...r.members.filter((m) => m !== r.self && r.heard.has(m))];
  const reached = [r.self, ...r.members.filter((m) => m !== r.self && (r.heard.has(m) || r.own[m] === 'serving'))];
  const quorate = reached.length >= majority;
  const votes = new Map<string, number>();
  const down = new Set<string>();
  for (const node of r.members) {
    let n = 0;
    for (const v of voters) if (notServing((v === r.self ? r.own : r.heard.get(v))?.[node])) n++;
    votes.set(node, n);
    // This node fails itself only on its own evidence too: just back from a cut, its peers'
    // beats still say it was silent while its own smbd answers it.
    if (quorate && n >= majority && (node !== r.self || notServing(r.own[node]))) down.add(node);
  }
  return { size: r.members.length, quorate, reached, majority, voters, down, votes };
}

/** R5 and R6: whether CTDB's "inactive" for `node` waits (and why), given this round. */
export function holdCtdbDown(node: string, v: Verdicts, heard: boolean, lastProbeOk: boolean | undefined): string | undefined {
  // Two nodes cannot tell a partition from a death by majority: CTDB's cluster lock decides there.
  if (!v.quorate && v.size >= 3) return `this node reaches ${v.reached.length} of the cluster's nodes, fewer than a majority (${v.majority}): it may be the one cut off`;
  if (heard && lastProbeOk === true) return `${node} is still heard and its SMB server answered: only this node's ctdbd lost it`;
  return undefined;
}

/** R4. */
export const mayRecover = (s: ProbeStats, cfg: Pick<PeerWatchConfig, 'recoveryThreshold'>): boolean => s.okInRow >= cfg.recoveryThreshold;

/**
 * What a fresh full read of the cluster manager says, for the end of R5's hold: the peers it
 * does not reach (CTDB: DISCONNECTED, or no answer to a routed control), and whether every
 * node it read places every IP alike.
 */
export interface ManagerView {
  readonly unreached: readonly string[];
  readonly placementAgreed: boolean;
}

/**
 * R5's bound: back in a majority this long, a node follows its cluster manager again even if it
 * never re-converged (then only its own ctdbd lost the peers it hears: R6's case). CTDB's own
 * keepalive gives up on a node after 30 s with its defaults; a rejoin takes a few seconds.
 */
export const REJOIN_WAIT_MS = 30_000;

/**
 * R5, for a node that lost the majority it had: why its cluster manager's facts about the other
 * nodes still wait (undefined: it follows them again). `view` is a fresh full read (without
 * one, the hold goes on); `backForMs` how long it has been quorate again.
 */
export function cutOffHold(v: Verdicts, heard: ReadonlySet<string>, view: ManagerView | undefined, backForMs: number): string | undefined {
  if (!v.quorate) return `this node reaches ${v.reached.length} of the cluster's nodes, fewer than a majority (${v.majority}): cut off, its cluster manager's view of the others is its own isolation`;
  if (view === undefined) return 'back in a majority: waiting for a fresh read of the cluster manager';
  if (backForMs >= REJOIN_WAIT_MS) return undefined;
  const stale = view.unreached.filter((n) => heard.has(n));
  if (stale.length > 0) return `back in a majority, but its cluster manager does not reach ${stale.join(', ')}, which this node hears: it has not rejoined yet`;
  if (!view.placementAgreed) return 'back in a majority, but the nodes\' IP lists disagree: the takeover run after the rejoin has not ended';
  return undefined;
}
