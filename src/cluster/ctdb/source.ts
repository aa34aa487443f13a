/**
 * The CTDB cluster source: one connection to the local ctdbd, kept up (reconnect with
 * backoff, full re-read after), feeding the cluster model (sync.ts) and telling the daemon
 * which addresses this node serves now (node address + the public IPs it hosts).
 *
 * Where each fact comes from, and how soon:
 *  - node flags: GET_NODEMAP on the local ctdbd every nodemapPollMs. CTDB sends its clients
 *    no message when a peer disconnects or is banned/stopped, and the recovery daemon itself
 *    polls; a local control costs ~0.1 ms, so polling it is how the earliest fact is seen.
 *  - IP placement: CTDB's messages TAKE_IP / RELEASE_IP (this node took / released an IP),
 *    IPREALLOCATED (a takeover run ended, on every node) and RECONFIGURE trigger a full
 *    re-read (GET_PUBLIC_IPS from every reachable node); a re-read also runs every resyncMs.
 *  - planned moves: the event script's releaseip hook (hook.ts) asks before the IP goes.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { addressKey } from '../../lib/address';
import { ConfigError, loadConfig, type WitnessdConfig, type CtdbSettings } from '../config';
import type { HealthWatcher } from '../health';
import { splitChanges, type LiveSettings, type ReloadOutcome } from '../reload';
import type { ClusterModel } from '../model';
import { CtdbConnection } from './client';
import { ctdbNodeName, pnnOfNodeName } from './config';
import { CTDB_HOOK_DEFAULT_WAIT_MS, CTDB_HOOK_MAX_WAIT_MS, type CtdbHookReply, type CtdbHookRequest } from './hook';
import { CTDB_UNKNOWN_PNN, CtdbSrvid, CtdbControl, messageText, nodeFlagNames } from './protocol';
import { readNodeMap, readPublicIps, readSnapshot, reachable, type CtdbSnapshot } from './snapshot';
import { configFromSnapshot, newSyncState, placeLif, syncModel, syncNodes, syncPlacement, type SyncState } from './sync';

/** A connection that lasted this long resets the reconnect backoff to its minimum. */
const STABLE_CONNECTION_MS = 10_000;

/** Re-reads in a row for one request (newer facts keep arriving during a message storm). */
const MAX_RESYNC_ROUNDS = 5;

/** Every message id CtdbSrvid names is registered. */
const SRVIDS = Object.entries(CtdbSrvid);

/** Registrations on one LIF and how many still have a notification waiting to be written. */
export interface DeliveryState {
  readonly total: number;
  readonly undelivered: number;
}

export interface CtdbSourceOptions {
  readonly settings: CtdbSettings;
  /** --ctdb-socket or settings.socket or CTDB's default. */
  readonly socketPath: string;
  readonly logger?: Logger;
  /** Give up starting when ctdbd has not answered for this long (default settings.startTimeoutMs). */
  readonly startTimeoutMs?: number;
}

export interface CtdbSourceStatus {
  readonly socket: string;
  readonly connected: boolean;
  readonly pnn: number;
  readonly nodeAddress: string;
  readonly reconnects: number;
  readonly lastResync: string | undefined;
  readonly resyncs: number;
  readonly nodemapPolls: number;
  readonly nodes: ReadonlyArray<{ readonly name: string; readonly pnn: number; readonly address: string; readonly flags: readonly string[] }>;
  readonly ips: ReadonlyArray<{ readonly address: string; readonly node: string | undefined; readonly possible: readonly string[] }>;
  readonly localAddresses: readonly string[];
}

/** Events: 'addresses' (string[]: node address + hosted public IPs, whenever that set changes). */
export class CtdbSource extends EventEmitter {
  private conn: CtdbConnection | undefined;
  private snap: CtdbSnapshot;
  private model: ClusterModel | undefined;
  private base: WitnessdConfig | undefined;
  private readonly state: SyncState = newSyncState();
  private localIps = new Set<string>();
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
  private readonly log: Logger | undefined;

  private constructor(
    private readonly opts: CtdbSourceOptions,
    conn: CtdbConnection,
    snap: CtdbSnapshot,
  ) {
    super();
    this.log = opts.logger;
    this.conn = conn;
    this.snap = snap;
    this.backoffMs = opts.settings.reconnectMinMs;
    this.localIps = hostedBy(snap);
  }

  /** Connect and read everything once; retries with backoff until startTimeoutMs. */
  static async start(opts: CtdbSourceOptions): Promise<CtdbSource> {
    const deadline = Date.now() + (opts.startTimeoutMs ?? opts.settings.startTimeoutMs);
    let wait = opts.settings.reconnectMinMs;
    let holder: CtdbSource | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        const { conn, snap } = await CtdbSource.open(opts, (srvid, data) => holder?.onMessage(srvid, data), (reason) => holder?.onClose(reason));
        holder = new CtdbSource(opts, conn, snap);
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
    opts: CtdbSourceOptions,
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

  get pnn(): number {
    return this.snap.pnn;
  }
  get nodeName(): string {
    return ctdbNodeName(this.snap.pnn);
  }
  get nodeAddress(): string {
    const me = this.snap.nodes.find((n) => n.pnn === this.snap.pnn);
    if (!me) throw new Error(`ctdb: node ${this.snap.pnn} is not in its own node map`);
    return me.address;
  }
  snapshot(): CtdbSnapshot {
    return this.snap;
  }
  /** The addresses this node serves now: its node address, then the public IPs it hosts. */
  localAddresses(): string[] {
    return [this.nodeAddress, ...[...this.localIps].sort()];
  }

  /** Start feeding the model (built from configFromSnapshot(base, snapshot())). */
  attach(model: ClusterModel, base: WitnessdConfig): void {
    this.model = model;
    this.base = base;
    syncModel(model, this.snap, base, this.opts.settings.smbPort, this.state, this.log);
    this.lastFlags = flagKey(this.snap);
    this.startTimers();
  }

  /**
   * Reload in CTDB mode: the file's names, shares and watcher settings apply; nodes and IPs
   * stay CTDB's. Switching the cluster source needs a restart.
   */
  /**
   * Reload in CTDB mode: the YAML's part of the model (CIFS names, shares) and the watcher are
   * applied, nodes and IPs stay CTDB's; the CTDB settings themselves need a restart (named in
   * restartNeeded), as does anything the caller's live settings do not cover.
   */
  async reload(path: string, watcher: HealthWatcher | undefined, live?: LiveSettings): Promise<ReloadOutcome> {
    const next = loadConfig(path);
    if (!next.ctdb) {
      throw new ConfigError([{ file: path, line: 0, column: 0, field: 'cluster.source', message: 'witnessd runs with the CTDB source; switching sources needs a restart' }]);
    }
    const model = this.model;
    if (!model) throw new Error('the CTDB source is not attached to a model yet');
    const { applied, restartNeeded } = splitChanges(this.base ?? next, next, live, ['svms', 'watcher']);
    this.base = next;
    const events = [...model.applyConfig(configFromSnapshot(next, this.snap, next.ctdb.smbPort, model))];
    events.push(...syncNodes(model, this.snap, this.state, this.log), ...syncPlacement(model, this.snap, this.state, this.log));
    await watcher?.reconfigure(next.watcher);
    live?.apply(next);
    return { source: next.source, events, findings: model.findings(), applied, restartNeeded };
  }

  status(): CtdbSourceStatus {
    return {
      socket: this.opts.socketPath,
      connected: this.conn !== undefined && !this.conn.closed,
      pnn: this.snap.pnn,
      nodeAddress: this.nodeAddress,
      ...this.counters,
      lastResync: this.lastResync,
      nodes: this.snap.nodes.map((n) => ({ name: ctdbNodeName(n.pnn), pnn: n.pnn, address: n.address, flags: nodeFlagNames(n.flags) })),
      ips: this.snap.ips.map((ip) => ({ address: ip.address, node: ip.host === undefined ? undefined : ctdbNodeName(ip.host), possible: ip.possible.map(ctdbNodeName) })),
      localAddresses: this.localAddresses(),
    };
  }

  /** Read everything again and bring the model to it (serialized; a request during one runs after it). */
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
          this.apply(snap, reason);
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

  /** The event script's hook (hook.ts). Never throws; bounded by waitMs. */
  async hook(req: CtdbHookRequest): Promise<CtdbHookReply> {
    const started = Date.now();
    const waitMs = Math.min(Math.max(req.waitMs ?? CTDB_HOOK_DEFAULT_WAIT_MS, 0), CTDB_HOOK_MAX_WAIT_MS);
    const deadline = started + waitMs;
    const reply = (notified = 0, delivered = 0, destination?: string): CtdbHookReply => ({
      ok: true, event: req.event, notified, delivered, ...(destination ? { destination } : {}), waitedMs: Date.now() - started,
    });
    if (req.event === 'takeip' || req.event === 'ipreallocated') {
      await bounded(this.resync(`event script ${req.event}`), deadline);
      return reply();
    }
    if (req.event !== 'releaseip' || req.ip === undefined || !this.model) return reply();
    const model = this.model;
    const lif = model.lifByAddress(req.ip);
    if (!lif) {
      this.log?.warn({ ip: req.ip }, 'ctdb: releaseip for an address that is not a public IP in the model');
      return reply();
    }
    if (req.pnn !== undefined && ctdbNodeName(req.pnn) !== lif.currentNode) {
      this.log?.debug({ ip: req.ip, asker: req.pnn, holder: lif.currentNode }, 'ctdb: releaseip from a node that does not hold the IP: nothing moves');
      return reply();
    }
    // The event script asks every node's witnessd (clients registered for the IP may sit on
    // any node); only the holder runs releaseip itself.
    const found = await bounded(this.findDestination(lif.ipv4 ?? (lif.ipv6 as string), pnnOfNodeName(lif.currentNode)), Math.min(deadline, started + Math.max(50, waitMs / 2)));
    const destination = found ?? this.fallbackDestination(lif.currentNode);
    if (destination === undefined || destination === lif.currentNode) {
      this.log?.warn({ ip: req.ip }, 'ctdb: releaseip: no other node to send clients to');
      return reply();
    }
    const before = this.delivery?.(lif.name) ?? { total: 0, undelivered: 0 };
    try {
      model.announceLifMove(lif.name, destination);
      this.state.announced.set(lif.name, destination);
    } catch (err) {
      this.log?.warn({ ip: req.ip, to: destination, err: (err as Error).message }, 'ctdb: releaseip: the move could not be announced');
      return reply();
    }
    const notified = before.total;
    let left = this.delivery?.(lif.name) ?? { total: 0, undelivered: 0 };
    // Checked at 5, 10, 20, 40, 50, 50... ms: each check lists the IP's registrations (thousands).
    for (let i = 0; left.undelivered > 0 && Date.now() < deadline; i++) {
      await new Promise((r) => setTimeout(r, Math.min(50, 5 << Math.min(i, 4), Math.max(1, deadline - Date.now()))));
      left = this.delivery?.(lif.name) ?? left;
    }
    this.log?.info(
      { ip: req.ip, to: destination, known: found !== undefined, notified, undelivered: left.undelivered, ms: Date.now() - started },
      `ctdb: releaseip ${req.ip}: CLIENT_MOVE to ${destination} for ${notified} registration(s)${found === undefined ? ' (destination guessed: CTDB had not placed the IP yet)' : ''}`,
    );
    return reply(notified, Math.max(0, notified - left.undelivered), destination);
  }

  /** The peer watch's gate on CTDB's node failures (sync.ts SyncState.holdDown). */
  holdNodeDown(gate: (node: string) => string | undefined): void {
    this.state.holdDown = gate;
  }

  /** Apply CTDB's node flags again (a held node failure may apply now). */
  reapplyNodeFlags(): void {
    if (this.model) syncNodes(this.model, this.snap, this.state, this.log);
  }

  /** CTDB calls the node (model name) inactive now. */
  saysInactive(node: string): boolean {
    return this.state.ctdbSaysDown.has(node);
  }

  /** Set by the daemon: registrations on a LIF and their undelivered notifications. */
  delivery: ((lif: string) => DeliveryState) | undefined;

  close(): void {
    this.closed = true;
    this.stopTimers();
    clearTimeout(this.reconnectTimer);
    this.conn?.close('witnessd is stopping');
    this.conn = undefined;
  }

  // ---- internals ---------------------------------------------------------------------

  private apply(snap: CtdbSnapshot, reason: string): void {
    if (snap.pnn !== this.snap.pnn) this.log?.error({ was: this.snap.pnn, now: snap.pnn }, 'ctdb: this node\'s PNN changed; keeping the model\'s names');
    this.snap = snap;
    this.counters.resyncs++;
    this.lastResync = new Date().toISOString();
    this.lastFlags = flagKey(snap);
    if (this.model && this.base) {
      const events = syncModel(this.model, snap, this.base, this.opts.settings.smbPort, this.state, this.log);
      this.log?.[events.length > 0 ? 'info' : 'debug']({ reason, events: events.length }, 'ctdb: re-read');
    }
    this.setLocalIps(hostedBy(snap));
  }

  private setLocalIps(next: Set<string>): void {
    const same = next.size === this.localIps.size && [...next].every((a) => this.localIps.has(a));
    this.localIps = next;
    if (!same) this.emit('addresses', this.localAddresses());
  }

  private onMessage(srvid: bigint, data: Buffer): void {
    // The model's spelling of the address (an IPv6 address has several).
    const text = messageText(data);
    const ip = addressKey(text) ?? text;
    if (srvid === CtdbSrvid.TAKE_IP || srvid === CtdbSrvid.RELEASE_IP) this.factEpoch++;
    if (srvid === CtdbSrvid.TAKE_IP) {
      this.log?.info({ ip }, `ctdb: this node took public IP ${ip}`);
      if (this.model && this.model.lif(ip)) placeLif(this.model, ip, this.nodeName, this.state, this.log);
      this.setLocalIps(new Set([...this.localIps, ip]));
    } else if (srvid === CtdbSrvid.RELEASE_IP) {
      this.log?.info({ ip }, `ctdb: this node released public IP ${ip}`);
      this.setLocalIps(new Set([...this.localIps].filter((a) => a !== ip)));
      void this.resync('RELEASE_IP');
    } else if (srvid === CtdbSrvid.IPREALLOCATED || srvid === CtdbSrvid.RECONFIGURE) {
      void this.resync(srvid === CtdbSrvid.IPREALLOCATED ? 'IPREALLOCATED' : 'RECONFIGURE');
    }
  }

  private onClose(reason: string): void {
    this.stopTimers();
    this.conn = undefined;
    if (this.closed) return;
    // A peer that accepts and then sends garbage must not get a reconnect every reconnectMinMs.
    if (Date.now() - this.connectedAt >= STABLE_CONNECTION_MS) this.backoffMs = this.opts.settings.reconnectMinMs;
    this.log?.warn({ reason, retryMs: this.backoffMs }, `ctdb: lost the connection to ctdbd (${reason}); reconnecting`);
    // Without its ctdbd this node is out of the cluster and the others take its IPs over
    // (Samba's smbd exits here): stop serving them until a re-read says otherwise.
    this.setLocalIps(new Set());
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
      const { conn, snap } = await CtdbSource.open(this.opts, (s, d) => this.onMessage(s, d), (r) => this.onClose(r));
      if (this.closed) {
        conn.close('witnessd is stopping');
        return;
      }
      this.conn = conn;
      this.counters.reconnects++;
      this.connectedAt = Date.now();
      this.log?.info({ socket: this.opts.socketPath, pnn: snap.pnn, reconnects: this.counters.reconnects }, 'ctdb: reconnected to ctdbd; model re-read in full');
      this.apply(snap, 'reconnect');
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

  /** The cheap, frequent read: node flags only; a change is applied at once, placement follows. */
  private async pollNodeMap(): Promise<void> {
    const conn = this.conn;
    if (this.polling || !conn || conn.closed || !this.model) return;
    this.polling = true;
    try {
      const nodes = await readNodeMap(conn);
      this.counters.nodemapPolls++;
      const key = nodes.map((n) => `${n.pnn}:${n.flags}`).join(',');
      if (key === this.lastFlags) return;
      this.lastFlags = key;
      this.factEpoch++;
      this.snap = { ...this.snap, nodes };
      syncNodes(this.model, this.snap, this.state, this.log);
      void this.resync('node flags changed');
    } catch (err) {
      this.log?.debug({ err: (err as Error).message }, 'ctdb: node map read failed');
    } finally {
      this.polling = false;
    }
  }

  /**
   * Where a released IP goes. A takeover run sends RELEASE_IP controls carrying the new PNN
   * to every node at once; nodes that do not hold the IP record it at once ("redundant
   * release"), so while the holder's releaseip script runs every other node already knows
   * (measured on ctdb 4.22: `ctdb moveip`, `ctdb disable`). The holder itself still says
   * "mine" until its release completes, so it is not asked.
   */
  private async findDestination(ip: string, holder: number | undefined): Promise<string | undefined> {
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
      if (e && e.pnn !== CTDB_UNKNOWN_PNN && e.pnn !== holder) return ctdbNodeName(e.pnn);
    }
    return undefined;
  }

  /** No node knows yet: the first other node that is up and hosts public IPs. */
  private fallbackDestination(from: string): string | undefined {
    const model = this.model;
    if (!model) return undefined;
    const up = model.nodes().filter((n) => n.up && n.name !== from);
    const hosting = up.find((n) => model.lifs().some((l) => l.currentNode === n.name && l.operational));
    return (hosting ?? up[0])?.name;
  }
}

function hostedBy(snap: CtdbSnapshot): Set<string> {
  return new Set(snap.ips.filter((ip) => ip.host === snap.pnn).map((ip) => ip.address));
}

function flagKey(snap: CtdbSnapshot): string {
  return snap.nodes.map((n) => `${n.pnn}:${n.flags}`).join(',');
}

/** The promise's value, or undefined once `deadline` (epoch ms) has passed. */
function bounded<T>(p: Promise<T>, deadline: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
    );
  });
}
