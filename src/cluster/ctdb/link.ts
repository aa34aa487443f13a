/**
 * The CTDB source's link to the local ctdbd: one connection kept up (start with retries,
 * reconnect with backoff, full re-read after), and the reads that bring facts in. It holds
 * the latest snapshot and tells its owner (CtdbSource) what arrived; it knows nothing of the
 * cluster model.
 *
 * Where each fact comes from, and how soon:
 *  - node flags: GET_NODEMAP on the local ctdbd every nodemapPollMs. CTDB sends its clients
 *    no message when a peer disconnects or is banned/stopped, and the recovery daemon itself
 *    polls; a local control costs ~0.1 ms, so polling it is how the earliest fact is seen.
 *  - IP placement: CTDB's messages TAKE_IP / RELEASE_IP (this node took / released an IP),
 *    IPREALLOCATED (a takeover run ended, on every node) and RECONFIGURE trigger a full
 *    re-read (GET_PUBLIC_IPS from every reachable node); a re-read also runs every resyncMs.
 */
import type { Logger } from 'pino';
import type { CtdbSettings } from '../../config';
import { addressKey } from '../../lib/address';
import { CtdbConnection } from './client';
import { CtdbControl, CtdbSrvid, CTDB_UNKNOWN_PNN, messageText } from './protocol';
import { readNodeMap, readPublicIps, readSnapshot, reachable, type CtdbSnapshot } from './snapshot';
import type { CtdbNodeEntry } from './protocol';

/** A connection that lasted this long resets the reconnect backoff to its minimum. */
const STABLE_CONNECTION_MS = 10_000;

/** Re-reads in a row for one request (newer facts keep arriving during a message storm). */
const MAX_RESYNC_ROUNDS = 5;

/** Every message id CtdbSrvid names is registered. */
const SRVIDS = Object.entries(CtdbSrvid);

export interface CtdbLinkOptions {
  readonly settings: CtdbSettings;
  /** --ctdb-socket or settings.socket or CTDB's default. */
  readonly socketPath: string;
  readonly logger?: Logger;
  /** Give up starting when ctdbd has not answered for this long (default settings.startTimeoutMs). */
  readonly startTimeoutMs?: number;
}

/** What the link tells its owner, in the order it learns it. */
export interface CtdbFacts {
  /** A full re-read (or the re-read after a reconnect). */
  snapshot(snap: CtdbSnapshot, reason: string): void;
  /** The node map changed between re-reads (a re-read follows). */
  nodeFlags(snap: CtdbSnapshot): void;
  /** This node took a public IP (CTDB's TAKE_IP message; model spelling of the address). */
  tookIp(ip: string): void;
  /** This node released a public IP (RELEASE_IP; a re-read follows). */
  releasedIp(ip: string): void;
  /** The connection to ctdbd is gone; reconnecting. */
  lost(reason: string): void;
}

export interface CtdbLinkStatus {
  readonly socket: string;
  readonly connected: boolean;
  /** ISO time the connection was lost, while it is. */
  readonly lostAt: string | undefined;
  readonly lostReason: string | undefined;
  readonly reconnects: number;
  readonly lastResync: string | undefined;
  readonly resyncs: number;
  readonly nodemapPolls: number;
}

export class CtdbLink {
  private conn: CtdbConnection | undefined;
  private snap: CtdbSnapshot;
  private facts: CtdbFacts | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  /** When the current connection was made: only one that lasted resets the backoff. */
  private connectedAt = Date.now();
  private closed = false;
  private resyncing: Promise<void> | undefined;
  private resyncAgain = false;
  /**
   * Bumped whenever a fact arrives outside a re-read (TAKE_IP/RELEASE_IP, a node-map poll
   * that saw new flags): a re-read that started before it is stale and is read again
   * instead of applied, or it would undo the newer fact (a spurious move or recovery).
   */
  private factEpoch = 0;
  private polling = false;
  private lastFlags = '';
  private counters = { reconnects: 0, resyncs: 0, nodemapPolls: 0 };
  private lastResync: string | undefined;
  private lost: { at: string; reason: string } | undefined;
  private readonly log: Logger | undefined;

  private constructor(private readonly opts: CtdbLinkOptions, conn: CtdbConnection, snap: CtdbSnapshot) {
    this.log = opts.logger;
    this.conn = conn;
    this.snap = snap;
    this.backoffMs = opts.settings.reconnectMinMs;
    this.lastFlags = flagKey(snap);
  }

  /** Connect and read everything once; retries with backoff until startTimeoutMs. */
  static async start(opts: CtdbLinkOptions): Promise<CtdbLink> {
    const deadline = Date.now() + (opts.startTimeoutMs ?? opts.settings.startTimeoutMs);
    let wait = opts.settings.reconnectMinMs;
    let holder: CtdbLink | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        const { conn, snap } = await CtdbLink.open(opts, (srvid, data) => holder?.onMessage(srvid, data), (reason) => holder?.onClose(reason));
        holder = new CtdbLink(opts, conn, snap);
        opts.logger?.info({ socket: opts.socketPath, pnn: snap.pnn, nodes: snap.nodes.length, ips: snap.ips.length, attempt }, 'ctdb: connected to ctdbd');
        return holder;
      } catch (err) {
        if (Date.now() + wait > deadline) throw new Error(`cannot read the cluster from ctdbd at ${opts.socketPath}: ${(err as Error).message}`);
        opts.logger?.warn({ socket: opts.socketPath, attempt, err: (err as Error).message, retryMs: wait }, 'ctdb: ctdbd not ready; retrying');
        await new Promise((r) => setTimeout(r, wait));
        wait = Math.min(wait * 2, opts.settings.reconnectMaxMs);
      }
    }
  }

  private static async open(
    opts: CtdbLinkOptions,
    onMessage: (srvid: bigint, data: Buffer) => void,
    onClose: (reason: string) => void,
  ): Promise<{ conn: CtdbConnection; snap: CtdbSnapshot }> {
    // A close during the first read is this attempt's failure (the caller retries), not a
    // lost connection: reporting it too would start a second reconnect beside the retry.
    let ready = false;
    const conn = await CtdbConnection.connect({
      path: opts.socketPath, logger: opts.logger, controlTimeoutMs: opts.settings.controlTimeoutMs, onMessage,
      onClose: (reason) => {
        if (ready) onClose(reason);
      },
    });
    try {
      for (const [name, srvid] of SRVIDS) {
        const r = await conn.control({ opcode: CtdbControl.REGISTER_SRVID, srvid });
        if (r.status !== 0) opts.logger?.warn({ srvid: name, status: r.status }, `ctdb: REGISTER_SRVID ${name} refused (older CTDB?)`);
      }
      const snap = await readSnapshot(conn, { remoteTimeoutMs: opts.settings.controlTimeoutMs, logger: opts.logger });
      if (conn.closed) throw new Error('ctdbd closed the connection during the first read');
      ready = true;
      return { conn, snap };
    } catch (err) {
      conn.close(`first read failed: ${(err as Error).message}`);
      throw err;
    }
  }

  /** The latest facts read. */
  get snapshot(): CtdbSnapshot {
    return this.snap;
  }
  get connected(): boolean {
    return this.conn !== undefined && !this.conn.closed;
  }

  /** Start telling `facts` what arrives (polls and periodic re-reads begin). */
  follow(facts: CtdbFacts): void {
    this.facts = facts;
    this.startTimers();
  }

  status(): CtdbLinkStatus {
    return {
      socket: this.opts.socketPath, connected: this.connected, lostAt: this.lost?.at, lostReason: this.lost?.reason,
      ...this.counters, lastResync: this.lastResync,
    };
  }

  /** Read everything again and hand it over (serialized; a request during one runs after it). */
  resync(reason: string): Promise<void> {
    if (this.resyncing) {
      this.resyncAgain = true;
      return this.resyncing;
    }
    this.resyncing = (async () => {
      try {
        for (let round = 0; round < MAX_RESYNC_ROUNDS; round++) {
          this.resyncAgain = false;
          const conn = this.conn;
          if (!conn || conn.closed || this.closed) return;
          const epoch = this.factEpoch;
          const snap = await readSnapshot(conn, { pnn: this.snap.pnn, remoteTimeoutMs: this.opts.settings.controlTimeoutMs, logger: this.log });
          if (epoch !== this.factEpoch && round < MAX_RESYNC_ROUNDS - 1) continue; // stale: read again
          this.take(snap, reason);
          if (!this.resyncAgain) return;
        }
      } catch (err) {
        this.log?.warn({ err: (err as Error).message, reason }, 'ctdb: re-read failed');
      } finally {
        this.resyncing = undefined;
      }
    })();
    return this.resyncing;
  }

  /**
   * Where a released IP goes. A takeover run sends RELEASE_IP controls carrying the new PNN
   * to every node at once; nodes that do not hold the IP record it at once ("redundant
   * release"), so while the holder's releaseip script runs every other node already knows
   * (measured on ctdb 4.22: `ctdb moveip`, `ctdb disable`). The holder itself still says
   * "mine" until its release completes, so it is not asked. Undefined when nobody knows yet.
   */
  async destinationOf(ip: string, holder: number | undefined): Promise<number | undefined> {
    const conn = this.conn;
    if (!conn || conn.closed) return undefined;
    const asked = this.snap.nodes.filter((n) => reachable(n) && n.pnn !== holder);
    const answers = await Promise.all(
      asked.map((n) =>
        readPublicIps(conn, n.pnn === this.snap.pnn ? undefined : n.pnn, this.opts.settings.controlTimeoutMs).catch(() => [] as Array<{ pnn: number; address: string }>),
      ),
    );
    for (const list of answers) {
      const e = list.find((x) => x.address === ip);
      if (e && e.pnn !== CTDB_UNKNOWN_PNN && e.pnn !== holder) return e.pnn;
    }
    return undefined;
  }

  close(): void {
    this.closed = true;
    this.stopTimers();
    clearTimeout(this.reconnectTimer);
    this.conn?.close('witnessd is stopping');
    this.conn = undefined;
  }

  // ---- internals ---------------------------------------------------------------------

  private take(snap: CtdbSnapshot, reason: string): void {
    if (snap.pnn !== this.snap.pnn) this.log?.error({ was: this.snap.pnn, now: snap.pnn }, 'ctdb: this node\'s PNN changed; keeping the model\'s names');
    this.snap = snap;
    this.counters.resyncs++;
    this.lastResync = new Date().toISOString();
    this.lastFlags = flagKey(snap);
    this.facts?.snapshot(snap, reason);
  }

  private onMessage(srvid: bigint, data: Buffer): void {
    // The model's spelling of the address (an IPv6 address has several).
    const text = messageText(data);
    const ip = addressKey(text) ?? text;
    if (srvid === CtdbSrvid.TAKE_IP || srvid === CtdbSrvid.RELEASE_IP) this.factEpoch++;
    if (srvid === CtdbSrvid.TAKE_IP) {
      this.facts?.tookIp(ip);
    } else if (srvid === CtdbSrvid.RELEASE_IP) {
      this.facts?.releasedIp(ip);
      void this.resync('RELEASE_IP');
    } else if (srvid === CtdbSrvid.IPREALLOCATED || srvid === CtdbSrvid.RECONFIGURE) {
      void this.resync(srvid === CtdbSrvid.IPREALLOCATED ? 'IPREALLOCATED' : 'RECONFIGURE');
    }
  }

  private onClose(reason: string): void {
    this.stopTimers();
    this.conn = undefined;
    if (this.closed) return;
    this.lost = { at: new Date().toISOString(), reason };
    // A peer that accepts and then sends garbage must not get a reconnect every reconnectMinMs.
    if (Date.now() - this.connectedAt >= STABLE_CONNECTION_MS) this.backoffMs = this.opts.settings.reconnectMinMs;
    this.log?.warn({ reason, retryMs: this.backoffMs }, `ctdb: lost the connection to ctdbd (${reason}); reconnecting`);
    this.facts?.lost(reason);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.settings.reconnectMaxMs);
    this.reconnectTimer = setTimeout(() => void this.reconnect(), wait);
  }

  private async reconnect(): Promise<void> {
    if (this.closed) return;
    try {
      const { conn, snap } = await CtdbLink.open(this.opts, (s, d) => this.onMessage(s, d), (r) => this.onClose(r));
      if (this.closed) {
        conn.close('witnessd is stopping');
        return;
      }
      this.conn = conn;
      this.lost = undefined;
      this.counters.reconnects++;
      this.connectedAt = Date.now();
      this.log?.info({ socket: this.opts.socketPath, pnn: snap.pnn, reconnects: this.counters.reconnects }, 'ctdb: reconnected to ctdbd; model re-read in full');
      this.take(snap, 'reconnect');
      this.startTimers();
    } catch (err) {
      this.log?.warn({ err: (err as Error).message, retryMs: this.backoffMs }, 'ctdb: reconnect failed');
      this.scheduleReconnect();
    }
  }

  private startTimers(): void {
    this.stopTimers();
    this.pollTimer = setInterval(() => void this.pollNodeMap(), this.opts.settings.nodemapPollMs);
    this.resyncTimer = setInterval(() => void this.resync('periodic'), this.opts.settings.resyncMs);
    this.pollTimer.unref();
    this.resyncTimer.unref();
  }

  private stopTimers(): void {
    clearInterval(this.pollTimer);
    clearInterval(this.resyncTimer);
    this.pollTimer = undefined;
    this.resyncTimer = undefined;
  }

  /** The cheap, frequent read: node flags only; a change is handed over at once, placement follows. */
  private async pollNodeMap(): Promise<void> {
    const conn = this.conn;
    if (this.polling || !conn || conn.closed) return;
    this.polling = true;
    try {
      const nodes: CtdbNodeEntry[] = await readNodeMap(conn);
      this.counters.nodemapPolls++;
      const key = nodes.map((n) => `${n.pnn}:${n.flags}`).join(',');
      if (key === this.lastFlags) return;
      this.lastFlags = key;
      this.factEpoch++;
      this.snap = { ...this.snap, nodes };
      this.facts?.nodeFlags(this.snap);
      void this.resync('node flags changed');
    } catch (err) {
      this.log?.debug({ err: (err as Error).message }, 'ctdb: node map read failed');
    } finally {
      this.polling = false;
    }
  }
}

function flagKey(snap: CtdbSnapshot): string {
  return snap.nodes.map((n) => `${n.pnn}:${n.flags}`).join(',');
}
