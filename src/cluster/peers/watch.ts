/**
 * The peer watch: this node's witnessd probes every node's SMB server (node address and the
 * public IPs it hosts), exchanges heartbeats with the other witnessd instances, and applies
 * the rules of judge.ts to the cluster it is given (PeerCluster: the narrow seam to the
 * model and the cluster source). It fails a node in the model when a majority of the
 * cluster that still sees each other judges it not serving, long before CTDB's keepalive
 * gives up on a hung or cut-off node, and recovers it when its SMB server answers again.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { parseHostPort } from '../../lib/address';
import type { Probe, ProbeResult, ProbeTarget } from '../probes/probe';
import { smb2NegotiateProbe } from '../probes/smb2';
import type { PeerWatchConfig } from '../../config';
import { Heartbeat, beatKey, newIncarnation, type Beat } from './heartbeat';
import { cutOffHold, freshStats, holdCtdbDown, judge, judgeSmb, mayRecover, recordProbe, type ManagerView, type ProbeStats, type SmbSeen, type SmbView, type Verdicts } from './judge';

export interface PeerMember {
  readonly name: string;
  /** The node address: heartbeats go there. */
  readonly host: string;
  /** SMB servers to probe: the node address first, then the public IPs it hosts. */
  readonly smb: readonly ProbeTarget[];
}

/** What the peer watch needs from the cluster (the model, and what CTDB says). */
export interface PeerCluster {
  /** This node's name. */
  readonly self: string;
  members(): readonly PeerMember[];
  isUp(node: string): boolean;
  fail(node: string, detail: string): void;
  recover(node: string, detail: string): void;
  /** The cluster manager calls the node inactive (R4: recovery waits for it). */
  inactiveByCluster(node: string): boolean;
}

export interface PeerWatchOptions {
  readonly cluster: PeerCluster;
  readonly config: PeerWatchConfig;
  /** The cluster's shared secret (admin.token): heartbeats are signed with it. */
  readonly token: string;
  readonly logger?: Logger;
  /** Replaces the SMB2 NEGOTIATE probe (tests). */
  readonly probe?: Probe;
}

export interface PeerWatchStatus {
  readonly quorate: boolean;
  readonly reached: readonly string[];
  readonly voters: readonly string[];
  readonly majority: number;
  readonly nodes: ReadonlyArray<{
    readonly node: string;
    readonly smb: SmbSeen;
    readonly heard: boolean;
    readonly votesNotServing: number;
    readonly downByPeerWatch: boolean;
    readonly lastProbe: string | undefined;
  }>;
}

/** The public IPs are probed every this many rounds (the node address every round). */
const PUBLIC_IP_EVERY = 4;

/**
 * R1's veto: silence seen from here is evidence only against a node whose witnessd is not
 * heard either (the node hangs whole, or is cut off). A node still heard whose smbd is slow
 * to answer is a brown-out (a loaded machine; a clustered smbd whose NEGOTIATE waits for a
 * record on a hung peer's ctdbd): judged by its refusals and by CTDB, not by silence.
 */
export function vouched(seen: SmbSeen, heard: boolean): SmbSeen {
  return seen === 'silent' && heard ? 'unknown' : seen;
}

interface Watched {
  stats: ProbeStats;
  inFlight: number;
  lastDetail: string | undefined;
}

/**
 * Events: 'hold-lifted' (a node whose CTDB "inactive" was held back may now be failed: re-apply
 * CTDB's facts); 'majority-again' (this node, cut off, reaches a majority again: read the
 * cluster manager afresh, so that R5's hold can end).
 */
export class PeerWatch extends EventEmitter {
  private readonly cfg: PeerWatchConfig;
  private readonly cluster: PeerCluster;
  private readonly probe: Probe;
  private readonly log: Logger | undefined;
  private readonly heartbeat: Heartbeat | undefined;
  private readonly inc = newIncarnation();
  private seq = 0;
  private readonly watched = new Map<string, Watched>();
  private readonly heard = new Map<string, { at: number; view: SmbView }>();
  private readonly downByWatch = new Set<string>();
  /** Nodes whose CTDB "inactive" was held back (R6): a failed probe lifts the hold. */
  private readonly held = new Set<string>();
  private verdicts: Verdicts | undefined;
  private lastTick = 0;
  /** Bumped when this process stalled: probe results from before are dropped. */
  private epoch = 0;
  /** After a stall of this process, it judges no one until then (the beats queued meanwhile are stale). */
  private settleUntil = 0;
  private beatTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private wasQuorate: boolean | undefined;
  /** R5: since when this node lost the majority it had, and since when it has one again. */
  private cutOff: { since: number; majorityAt: number | undefined } | undefined;

  constructor(private readonly o: PeerWatchOptions) {
    super();
    this.cfg = o.config;
    this.cluster = o.cluster;
    this.probe = o.probe ?? smb2NegotiateProbe;
    this.log = o.logger;
    const me = this.cluster.members().find((m) => m.name === this.cluster.self);
    this.heartbeat = me && new Heartbeat({
      host: me.host, port: this.cfg.port, key: beatKey(o.token),
      onBeat: (b) => this.onBeat(b),
      onRefused: (why, from) => this.log?.debug({ from, why }, 'peer watch: heartbeat refused'),
    });
  }

  async start(): Promise<void> {
    if (!this.heartbeat) throw new Error(`peer watch: node ${this.cluster.self} is not among the cluster's members`);
    await this.heartbeat.start();
    this.lastTick = Date.now();
    this.beatTimer = setInterval(() => this.tick(), this.cfg.heartbeatMs);
    this.probeTimer = setInterval(() => this.probeAll(), this.cfg.probeIntervalMs);
    this.beatTimer.unref();
    this.probeTimer.unref();
    this.log?.info({ port: this.cfg.port, silenceMs: this.cfg.silenceMs, heartbeatMs: this.cfg.heartbeatMs, probeIntervalMs: this.cfg.probeIntervalMs }, 'peer watch started');
    this.probeAll();
    this.tick();
  }

  close(): void {
    clearInterval(this.beatTimer);
    clearInterval(this.probeTimer);
    this.beatTimer = undefined;
    this.probeTimer = undefined;
    this.heartbeat?.close();
  }

  /**
   * R5/R6: whether CTDB's "inactive" for `node` must wait (the reason), asked by the cluster
   * source before it fails the node. A held node is probed at once; 'hold-lifted' follows
   * when the hold no longer applies.
   */
  holdCtdbDown(node: string): string | undefined {
    this.checkStall(Date.now());
    const v = this.evaluate(Date.now(), false);
    const w = this.watched.get(node);
    const why = holdCtdbDown(node, v, this.heardNow(Date.now()).has(node), w?.stats.lastOk);
    if (why === undefined) {
      this.held.delete(node);
      return undefined;
    }
    if (!this.held.has(node)) this.log?.info({ node, why }, `peer watch: CTDB calls ${node} inactive; held back: ${why}`);
    this.held.add(node);
    if (v.quorate) this.probeNode(node);
    return why;
  }

  /**
   * R5: while this node is cut off, or back in a majority but its cluster manager has not
   * rejoined the others, the reason why every fact of the manager's about other nodes waits;
   * undefined when it follows them. Only a fresh full read (`view`) can end the hold.
   */
  holdCutOff(view?: ManagerView): string | undefined {
    if (!this.cutOff) return undefined;
    const now = Date.now();
    this.checkStall(now);
    const v = this.evaluate(now, false);
    const back = this.cutOff.majorityAt === undefined ? 0 : now - this.cutOff.majorityAt;
    const why = cutOffHold(v, new Set(this.heardNow(now).keys()), view, back);
    if (why !== undefined) return why;
    this.log?.info({ cutOffMs: now - this.cutOff.since, backMs: back }, 'peer watch: back in a majority and the cluster manager rejoined: following its facts about the other nodes again');
    this.cutOff = undefined;
    return undefined;
  }

  status(): PeerWatchStatus {
    const now = Date.now();
    const v = this.verdicts ?? this.evaluate(now, false);
    const heard = this.heardNow(now);
    return {
      quorate: v.quorate,
      reached: v.reached,
      voters: v.voters,
      majority: v.majority,
      nodes: this.cluster.members().map((m) => {
        const w = this.watched.get(m.name);
        return {
          node: m.name,
          smb: w ? judgeSmb(w.stats, now, this.cfg) : 'unknown',
          heard: m.name === this.cluster.self || heard.has(m.name),
          votesNotServing: v.votes.get(m.name) ?? 0,
          downByPeerWatch: this.downByWatch.has(m.name),
          lastProbe: w?.lastDetail,
        };
      }),
    };
  }

  // ---- internals ---------------------------------------------------------------------

  /**
   * This process itself stalled (SIGSTOP, a swapped-out VM): what it knew is stale, its probes
   * in flight timed out only because it did not run, and the heartbeats queued on its socket
   * say it was silent. It forgets, and judges no one for silenceMs.
   */
  private checkStall(now: number): void {
    if (now - this.lastTick <= Math.max(this.cfg.silenceMs / 2, 3 * this.cfg.heartbeatMs)) return;
    this.log?.warn({ stalledMs: now - this.lastTick }, 'peer watch: this process stalled; judging afresh');
    this.lastTick = now;
    this.epoch++;
    this.settleUntil = now + this.cfg.silenceMs;
    this.heard.clear();
    for (const w of this.watched.values()) {
      w.stats = freshStats(now);
      w.inFlight = 0;
    }
  }

  private tick(): void {
    const now = Date.now();
    this.checkStall(now);
    this.lastTick = now;
    const members = this.cluster.members();
    this.seq++;
    this.heartbeat?.send(
      { from: this.cluster.self, inc: this.inc, seq: this.seq, at: now, smb: this.ownView(now) },
      members.filter((m) => m.name !== this.cluster.self).map((m) => ({ host: m.host, port: this.cfg.port })),
    );
    this.evaluate(now, true);
  }

  private onBeat(b: Beat): void {
    const now = Date.now();
    this.checkStall(now);
    if (b.from === this.cluster.self) return;
    this.heard.set(b.from, { at: now, view: b.smb });
    this.evaluate(now, true);
  }

  private heardNow(now: number): Map<string, SmbView> {
    const out = new Map<string, SmbView>();
    for (const [node, h] of this.heard) if (now - h.at < this.cfg.silenceMs) out.set(node, h.view);
    return out;
  }

  private watch(node: string): Watched {
    let w = this.watched.get(node);
    if (!w) {
      w = { stats: freshStats(Date.now()), inFlight: 0, lastDetail: undefined };
      this.watched.set(node, w);
    }
    return w;
  }

  private ownView(now: number): SmbView {
    const view: Record<string, SmbSeen> = {};
    const heard = this.heardNow(now);
    for (const m of this.cluster.members()) view[m.name] = vouched(judgeSmb(this.watch(m.name).stats, now, this.cfg), m.name === this.cluster.self || heard.has(m.name));
    return view;
  }

  private rounds = 0;

  /**
   * Every round probes each node address; every PUBLIC_IP_EVERY-th round the public IPs too.
   * Each probe is a new TCP connection, and smbd forks a child for each: all addresses every
   * round would be ~70 forks a second across a three-node cluster.
   */
  private probeAll(): void {
    const all = this.rounds++ % PUBLIC_IP_EVERY === 0;
    for (const m of this.cluster.members()) this.probeNode(m.name, all ? m : { ...m, smb: m.smb.slice(0, 1) });
  }

  /** Probe each of the node's addresses (one probe per node in flight at a time). */
  private probeNode(node: string, member?: PeerMember): void {
    const m = member ?? this.cluster.members().find((x) => x.name === node);
    if (!m) return;
    const w = this.watch(node);
    if (w.inFlight > 0) return;
    const epoch = this.epoch;
    for (const target of m.smb) {
      w.inFlight++;
      void this.probe(target, this.cfg.probeTimeoutMs)
        .catch((err: Error): ProbeResult => ({ ok: false, detail: `probe error: ${err.message}` }))
        .then((r) => {
          if (epoch !== this.epoch || this.watched.get(node) !== w) return;
          w.inFlight--;
          // Only the node address tells refused from silent: a public IP may be moving.
          const counted = target === m.smb[0] ? r : { ok: r.ok };
          if (r.ok || target === m.smb[0]) w.stats = recordProbe(w.stats, counted, Date.now());
          if (r.detail !== w.lastDetail && target === m.smb[0]) {
            this.log?.[r.ok ? 'info' : 'warn']({ node, target: `${target.host}:${target.port}`, ok: r.ok, detail: r.detail }, `peer watch: ${node}: ${r.detail}`);
            w.lastDetail = r.detail;
          }
          if (!r.ok && this.held.has(node)) this.liftHold(node);
          this.evaluate(Date.now(), true);
        });
    }
  }

  private liftHold(node: string): void {
    this.held.delete(node);
    this.log?.info({ node }, `peer watch: ${node} no longer answers: CTDB's "inactive" applies`);
    this.emit('hold-lifted', node);
  }

  /** Judge the round; with act, fail and recover nodes in the model. */
  private evaluate(now: number, act: boolean): Verdicts {
    const members = this.cluster.members().map((m) => m.name);
    const heard = this.heardNow(now);
    const judged = judge({ self: this.cluster.self, members, own: this.ownView(now), heard });
    const v = now < this.settleUntil ? { ...judged, quorate: false, down: new Set<string>() } : judged;
    this.verdicts = v;
    if (!act) return v;
    if (this.wasQuorate !== v.quorate) {
      this.log?.[v.quorate ? 'info' : 'warn']({ reached: v.reached, voters: v.voters, majority: v.majority }, v.quorate
        ? `peer watch: reaches ${v.reached.length} of ${members.length} nodes: a majority`
        : `peer watch: reaches ${v.reached.length} of ${members.length} nodes, fewer than a majority: judging no one, holding back CTDB's node failures`);
      this.noteCutOff(v, now);
      this.wasQuorate = v.quorate;
      if (v.quorate) for (const node of [...this.held]) this.liftHoldIfClear(node, v, heard);
    }
    for (const node of v.down) {
      if (!this.cluster.isUp(node) || this.downByWatch.has(node)) continue;
      const detail = `${v.votes.get(node)} of ${members.length} nodes (${v.voters.join(', ')} voting) find its SMB server not answering`;
      this.log?.warn({ node, votes: v.votes.get(node), voters: v.voters }, `peer watch: ${node} is down: ${detail}`);
      this.downByWatch.add(node);
      this.cluster.fail(node, detail);
    }
    for (const node of [...this.downByWatch]) {
      const w = this.watched.get(node);
      if (v.down.has(node) || !w || !mayRecover(w.stats, this.cfg)) continue;
      // R4: not while CTDB calls it inactive; the watch failed it, so the watch recovers it
      // once CTDB no longer does (CTDB's sync recovers only the nodes it failed itself: handed
      // over when a link came back before the ctdbd's did, the node stayed down for good).
      if (this.cluster.inactiveByCluster(node)) continue;
      this.downByWatch.delete(node);
      if (this.cluster.isUp(node)) continue;
      this.log?.info({ node }, `peer watch: ${node} answers again: up`);
      this.cluster.recover(node, `its SMB server answered ${w.stats.okInRow} probes in a row`);
    }
    return v;
  }

  /** R5: a node that loses the majority it had is cut off until holdCutOff() finds its manager rejoined. */
  private noteCutOff(v: Verdicts, now: number): void {
    if (!v.quorate) {
      // Two nodes cannot tell a partition from a death by majority: CTDB's cluster lock decides there.
      if (this.wasQuorate === true && v.size >= 3 && !this.cutOff) this.cutOff = { since: now, majorityAt: undefined };
      if (this.cutOff) this.cutOff.majorityAt = undefined;
    } else if (this.cutOff) {
      this.cutOff.majorityAt = now;
      this.emit('majority-again');
    }
  }

  private liftHoldIfClear(node: string, v: Verdicts, heard: ReadonlyMap<string, SmbView>): void {
    if (holdCtdbDown(node, v, heard.has(node), this.watched.get(node)?.stats.lastOk) === undefined) this.liftHold(node);
  }
}

/** The SMB targets of a node: its smbAddress, then the public IPs it hosts (the same port). */
export function smbTargets(smbAddress: string, publicIps: readonly string[]): { host: string; smb: ProbeTarget[] } {
  const node = parseHostPort(smbAddress, 445);
  return { host: node.host, smb: [node, ...publicIps.map((ip) => ({ host: ip, port: node.port }))] };
}
