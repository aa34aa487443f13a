/**
 * RpcServer: TCP listeners (ncacn_ip_tcp), each serving a set of interfaces on one port over
 * one or more addresses; the security providers; association groups; limits; graceful close.
 * The endpoint mapper reads `endpoints()` to answer ept_map and ept_lookup.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import type { RpcInterface, SyntaxId } from '../ndr/dispatch';
import type { CallContext } from './call-context';
import { AuthLevel, type SecurityProvider } from './security';
import { AssociationGroupTable } from './association-group';
import { Connection, type ConnectionHost, type EndpointView, type ListenPoint } from './connection';
import { type ResolvedOptions, type RpcServerOptions, resolveOptions } from './options';
import { syntaxToString } from './wire';
import { createManagementInterface, type ManagementSource } from './mgmt/management';
import { newRpcStats, type RpcStats } from './stats';
import { monotonicMs } from '../lib/time';
import { limitedLog } from '../lib/log-limit';

/**
 * An interface registered with its own minimum auth level, over the server's default
 * (RpcServerOptions.minAuthLevel). The endpoint mapper is registered at None so that clients
 * can resolve a port anonymously before they authenticate to it, as Windows and Samba allow.
 */
export interface ServedInterface {
  readonly iface: RpcInterface<CallContext>;
  readonly minAuthLevel: AuthLevel;
}

/**
 * Connections kept for the other listeners (the endpoint mapper) when one listener is full:
 * 1/16 of the limit, at least 1 and at most 16 (an endpoint mapper lookup takes milliseconds).
 */
/** IPv4 clients of a dual-stack listener appear as ::ffff:a.b.c.d (PduStream's remoteAddress unmaps them too). */
const unmapped = (a: string): string => (a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a);

export function listenerReserve(maxConnections: number): number {
  return Math.max(1, Math.min(16, Math.floor(maxConnections / 16)));
}

export interface ListenOptions {
  /** One address or several (IPv4 and IPv6); default all IPv4 and IPv6 addresses ('::'). */
  readonly address?: string | readonly string[];
  /** 0 (default) picks a dynamic port, shared by every address of this listener. */
  readonly port?: number;
  /** The interfaces served on this port, each at the server's minimum auth level or its own. */
  readonly interfaces: readonly (RpcInterface<CallContext> | ServedInterface)[];
  /** For logs (e.g. 'epmapper', 'witness'). */
  readonly name?: string;
}

/** A port we listen on, and what it serves: what the endpoint mapper advertises. */
export interface RpcEndpoint {
  readonly name: string;
  readonly protocol: 'ncacn_ip_tcp';
  readonly port: number;
  readonly addresses: readonly string[];
  readonly interfaces: readonly SyntaxId[];
  /** Those of them served in NDR64 too (ept_map answers NDR64 towers for these). */
  readonly ndr64Interfaces: readonly SyntaxId[];
}

interface Listener {
  readonly endpoint: RpcEndpoint;
  /** servers[i] listens on addresses[i]; addresses is the endpoint's own (mutable) list. */
  readonly servers: net.Server[];
  readonly addresses: string[];
  readonly view: EndpointView;
}

export class RpcServer implements ConnectionHost, ManagementSource {
  readonly options: ResolvedOptions;
  readonly groups: AssociationGroupTable;
  private readonly log: Logger;
  /** Lines a flood of connections causes, rate-limited (with how many were left out). */
  private readonly peerLog: Logger;
  private readonly providers = new Map<number, SecurityProvider>();
  private readonly listeners: Listener[] = [];
  readonly stats: RpcStats = newRpcStats();
  /** The DCE management interface (C706 appendix Q), served on every listener. */
  private readonly management = createManagementInterface(this);
  private readonly connections = new Set<Connection>();
  /** Open connections per listener (its endpoint view). */
  private readonly perListener = new Map<EndpointView, number>();
  /** Per-interface minimum auth levels (ServedInterface, setMinAuthLevel); others use the default. */
  private readonly minLevels = new Map<RpcInterface<CallContext>, AuthLevel>();
  private defaultMinLevel: AuthLevel;
  private closing: Promise<void> | undefined;

  constructor(options: RpcServerOptions = {}) {
    this.options = resolveOptions(options);
    this.defaultMinLevel = this.options.minAuthLevel;
    // mgmt answers unauthenticated calls too: an old Witness client asks for the principal name
    // before it binds with Kerberos or NTLM (MS-SWN product note <11>; Windows serves RpcMgmt* to
    // anyone unless told otherwise); nothing in it changes state, and stop_server_listening is refused.
    this.minLevels.set(this.management, AuthLevel.None);
    this.log = this.options.logger;
    this.peerLog = limitedLog(this.log, this.options.logLimiter);
    this.groups = new AssociationGroupTable((err) => this.log.error({ err }, 'association group listener failed'));
    for (const p of options.securityProviders ?? []) this.addSecurityProvider(p);
  }

  /** Register a security provider for its auth_type (replaces an earlier one). */
  addSecurityProvider(p: SecurityProvider): void {
    this.providers.set(p.authType, p);
  }

  provider(authType: number): SecurityProvider | undefined {
    return this.providers.get(authType);
  }

  /** The minimum auth level of a call to `iface` (ConnectionHost). */
  minAuthLevel(iface: RpcInterface<CallContext>): AuthLevel {
    return this.minLevels.get(iface) ?? this.defaultMinLevel;
  }

  /**
   * Change the minimum auth level of one registered interface, or the default (no interface)
   * for every interface registered without its own; applies to the next call (config reload).
   */
  setMinAuthLevel(level: AuthLevel, iface?: RpcInterface<CallContext>): void {
    if (iface === undefined) this.defaultMinLevel = level;
    else this.minLevels.set(iface, level);
  }

  /** The interfaces served on a port, the management interface included (rpc__mgmt_inq_if_ids). */
  interfacesAt(port: number): readonly SyntaxId[] {
    const l = this.listeners.find((x) => x.endpoint.port === port);
    return l ? l.view.interfaces.map((i) => i.syntax) : [];
  }

  principalName(authnProto: number): string | undefined {
    return this.providers.get(authnProto)?.principalName;
  }

  /** Every port we listen on and what it serves. */
  endpoints(): readonly RpcEndpoint[] {
    return this.listeners.map((l) => l.endpoint);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Listen on one port over one or more addresses; resolves once every address is bound. */
  async listen(opts: ListenOptions): Promise<RpcEndpoint> {
    if (this.closing) throw new Error('RpcServer is closed');
    if (opts.interfaces.length === 0) throw new Error('listen() needs at least one interface');
    const addresses = opts.address === undefined ? ['::'] : typeof opts.address === 'string' ? [opts.address] : [...opts.address];
    if (addresses.length === 0) throw new Error('listen() needs at least one address');
    const interfaces = opts.interfaces.map((i) => ('iface' in i ? i.iface : i));
    const name = opts.name ?? interfaces[0].name;
    // Every endpoint also serves the management interface (C706 appendix Q), as Windows and
    // Samba do; the endpoint mapper advertises only the listener's own interfaces.
    const served = interfaces.some((i) => i.syntax.uuid === this.management.syntax.uuid) ? interfaces : [...interfaces, this.management];
    const view: { port: number; interfaces: readonly RpcInterface<CallContext>[] } = { port: opts.port ?? 0, interfaces: served };
    let servers: net.Server[] = [];
    let port = 0;
    // A dynamic port is picked on the first address and reused on the others; if another
    // address has it taken already, start over with a new one (a few times).
    for (let attempt = 0; ; attempt++) {
      try {
        ({ servers, port } = await this.bindAll(addresses, opts.port ?? 0, view));
        break;
      } catch (err) {
        const retry = (opts.port ?? 0) === 0 && addresses.length > 1 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 5;
        if (!retry) throw err;
      }
    }
    view.port = port;
    for (const i of opts.interfaces) if ('iface' in i) this.minLevels.set(i.iface, i.minAuthLevel);
    const endpoint: RpcEndpoint = {
      name, protocol: 'ncacn_ip_tcp', port, addresses,
      interfaces: interfaces.map((i) => i.syntax),
      ndr64Interfaces: interfaces.filter((i) => i.dispatchNdr64).map((i) => i.syntax),
    };
    this.listeners.push({ endpoint, servers, addresses, view });
    this.log.info({ name, addresses, port, interfaces: endpoint.interfaces.map(syntaxToString) }, 'listening');
    return endpoint;
  }

  /** Listen on every address with one port; on failure nothing stays open. */
  private async bindAll(addresses: readonly string[], wantedPort: number, view: { port: number } & EndpointView): Promise<{ servers: net.Server[]; port: number }> {
    const servers: net.Server[] = [];
    let port = wantedPort;
    try {
      for (const address of addresses) {
        const at: ListenPoint = { host: this, endpoint: view, address };
        const srv = net.createServer({ noDelay: true }, (s) => this.accept(s, at));
        await new Promise<void>((resolve, reject) => {
          srv.once('error', reject);
          // ipv6Only keeps '::' and '0.0.0.0' from colliding when both are given.
          srv.listen({ host: address, port, ipv6Only: address.includes(':') && addresses.length > 1 }, () => {
            srv.off('error', reject);
            resolve();
          });
        });
        srv.on('error', (err) => this.log.error({ err, address, port }, 'listener error'));
        servers.push(srv);
        port = (srv.address() as net.AddressInfo).port;
        view.port = port; // bind_ack's secondary address, for clients that connect already
      }
      return { servers, port };
    } catch (err) {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r(undefined)))));
      throw err;
    }
  }

  /**
   * Serve a listening endpoint on one more address, on its port (CTDB's takeip: the node
   * now hosts that public IP). The endpoint mapper advertises it from then on.
   */
  async addAddress(endpoint: RpcEndpoint, address: string): Promise<void> {
    const l = this.listenerOf(endpoint);
    if (l.addresses.includes(address)) return;
    const { servers } = await this.bindAll([address], l.endpoint.port, l.view);
    l.servers.push(servers[0]);
    l.addresses.push(address);
    this.log.info({ name: l.endpoint.name, address, port: l.endpoint.port }, 'listening on one more address');
  }

  /**
   * Stop serving an address and close the connections that came in on it (CTDB's releaseip:
   * the address is moving to another node, as Samba closes its clients). Returns how many
   * connections were closed.
   */
  async removeAddress(endpoint: RpcEndpoint, address: string): Promise<number> {
    const l = this.listenerOf(endpoint);
    const i = l.addresses.indexOf(address);
    if (i < 0) return 0;
    const [srv] = l.servers.splice(i, 1);
    l.addresses.splice(i, 1);
    const closing = new Promise<void>((r) => srv.close(() => r()));
    let closed = 0;
    for (const conn of this.connections) {
      if (conn.at.endpoint === l.view && conn.at.address === address) {
        conn.close(`address ${address} released`);
        closed++;
      }
    }
    await closing;
    this.log.info({ name: l.endpoint.name, address, port: l.endpoint.port, closedConnections: closed }, 'stopped listening on an address');
    return closed;
  }

  private listenerOf(endpoint: RpcEndpoint): Listener {
    const l = this.listeners.find((x) => x.endpoint === endpoint);
    if (!l) throw new Error(`endpoint ${endpoint.name} port ${endpoint.port} is not one of this server's`);
    if (this.closing) throw new Error('RpcServer is closed');
    return l;
  }

  private accept(socket: net.Socket, at: ListenPoint): void {
    const limit = this.options.limits.maxConnections;
    // One listener (the witness port) may not take the room kept for the others (the endpoint
    // mapper): a client must always be able to resolve the port, then get in by eviction.
    const share = this.listeners.length > 1 ? limit - listenerReserve(limit) : limit;
    const onListener = () => this.perListener.get(at.endpoint) ?? 0;
    const from = unmapped(socket.remoteAddress ?? '');
    if (!this.closing && this.connections.size >= limit) this.makeRoom(undefined, from);
    if (!this.closing && onListener() >= share) this.makeRoom(at.endpoint, from);
    if (this.closing || this.connections.size >= limit || onListener() >= share) {
      socket.destroy();
      this.peerLog.warn({ limit, listenerShare: share, remote: socket.remoteAddress, closing: !!this.closing }, 'connection refused');
      return;
    }
    const conn = new Connection(socket, at);
    this.connections.add(conn);
    this.perListener.set(at.endpoint, onListener() + 1);
  }

  /**
   * At the connection limit (of all, or of one listener's share), make room for a newcomer
   * from `from`, closing the first of:
   * 1. the oldest connection that never bound (10,000 sockets that only connect must not lock
   *    real clients out: hostile-connections test);
   * 2. the oldest bound one with no call in flight that sent nothing for idleEvictMs;
   * 3. when another address than the newcomer's holds the most connections (more than one):
   *    its least recently active one, even with calls in flight (a waiting AsyncNotify: its
   *    client sees the close; a V2 client reconnects and registers again). 300 connections each
   *    holding an AsyncNotify once locked every client out for as long as they stayed (issue
   *    23); now whoever holds the most pays first, so one host cannot hold the server;
   * 4. the least recently active connection, if it sent nothing for 5 x idleEvictMs (5 minutes
   *    by default), calls in flight or not: nothing holds a place forever by waiting.
   */
  private makeRoom(within: EndpointView | undefined, from: string): void {
    const now = monotonicMs();
    const idleBefore = now - this.options.limits.idleEvictMs;
    let idle: Connection | undefined;
    let stalest: Connection | undefined;
    const bySource = new Map<string, Connection[]>();
    let victim: Connection | undefined;
    for (const c of this.connections) {
      if (within !== undefined && c.at.endpoint !== within) continue;
      if (!c.isBound) {
        victim = c;
        break;
      }
      const last = c.stream.lastActive;
      if (!idle && c.pendingCalls === 0 && last <= idleBefore) idle = c;
      if (!stalest || last < stalest.stream.lastActive) stalest = c;
      const src = c.stream.remoteAddress;
      const list = bySource.get(src);
      if (list) list.push(c);
      else bySource.set(src, [c]);
    }
    victim ??= idle;
    if (!victim) {
      let top: Connection[] = [];
      for (const [src, list] of bySource) if (src !== from && list.length > top.length) top = list;
      if (top.length > 1) victim = top.reduce((a, b) => (b.stream.lastActive < a.stream.lastActive ? b : a));
    }
    if (!victim && stalest && stalest.stream.lastActive <= now - 5 * this.options.limits.idleEvictMs) victim = stalest;
    if (!victim) return;
    this.peerLog.warn(
      { limit: this.options.limits.maxConnections, remote: victim.stream.remoteAddress, bound: victim.isBound, pendingCalls: victim.pendingCalls },
      'connection limit: closing a connection to admit a new one',
    );
    victim.close(!victim.isBound ? 'evicted at the connection limit (never bound)' : victim.pendingCalls === 0 ? 'evicted at the connection limit (idle)' : 'evicted at the connection limit (its address holds the most, or it was silent longest)');
  }

  connectionClosed(conn: Connection): void {
    if (!this.connections.delete(conn)) return;
    const n = (this.perListener.get(conn.at.endpoint) ?? 1) - 1;
    if (n > 0) this.perListener.set(conn.at.endpoint, n);
    else this.perListener.delete(conn.at.endpoint);
  }

  /**
   * Stop listening, abort every pending call (ctx.onAbort, 'shutdown'): those whose server
   * listened are faulted, the others have the grace period to answer; then close every connection.
   */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const stopped = this.listeners.flatMap((l) => l.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    await Promise.all([...this.connections].map((c) => c.shutdown(this.options.shutdownGraceMs)));
    await Promise.all(stopped);
    this.log.info('RPC server closed');
  }
}
