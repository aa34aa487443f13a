/**
 * The operator's admin API: HTTP + JSON on loopback by default (node:http, no framework).
 * A non-loopback bind needs a bearer token; when a token is configured every route but
 * /healthz checks it. Storage operations go to the cluster model (node fail/recover through
 * the cluster source: the YAML model's watcher overrides its probes, CTDB refuses); the
 * source's own events (CTDB's event script) to the source; registration operations go to
 * the Witness service through WitnessAdminPort.
 *
 * Routes: ADMIN_ROUTES in routes.ts (also answered by GET /v1). The live status page and
 * its event stream are status/page.ts.
 *
 * The cluster routes (nodes, lifs, shares, clients) answer {events, notified, queued, told}:
 * which registrations their events reached, and whether a waiting AsyncNotify got it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { z } from 'zod';
import { addressKey, formatHostPort, isLoopbackHost, parseHostPort, type HostPort } from '../lib/address';
import { ConfigError, type WitnessdConfig } from '../config';
import { reloadConfigFile, ReloadRefused, type ReloadOutcome } from '../cluster/reload';
import { ModelError, type ClusterModel } from '../cluster/model';
import type { ClusterSource } from '../cluster/source';
import type { ClusterEvent } from '../cluster/types';
import { METRICS_CONTENT_TYPE, type WitnessdMetrics } from './metrics';
import { FILTER_FIELDS, type RegistrationFilter, type RegistrationUpdate, type ToldRegistration, type WitnessAdminPort } from './port';
import { forcedNotifySchema, toForcedNotification } from './notify';
import { ADMIN_ROUTES } from './routes';
import { ClusterRegistrations } from './cluster-registrations';
import { StatusFeed } from './status/feed';
import { StatusPage } from './status/page';
import { StatusStream, type StatusStreamLimits } from './status/stream';
import { AdminToken } from './token';
import { refuseForeign } from './guard';

/** Registrations a status snapshot lists (the counts cover all of them). */
const SNAPSHOT_REGISTRATIONS = 200;
/** Registrations one GET /v1/registrations answers by default, and at most (?limit=). */
export const REGISTRATIONS_PAGE = 1000;
export const MAX_REGISTRATIONS_PAGE = 10_000;

const MAX_BODY = 64 * 1024;

/** Who sent a request, for the log line of every state change. */
const remoteOf = (req: IncomingMessage): string => `${req.socket.remoteAddress}:${req.socket.remotePort}`;

export type { ReloadOutcome };

/** The last reload as `status` shows it: failed ones too, with why. */
export interface ReloadRecord {
  readonly at: string;
  readonly ok: boolean;
  readonly source: string;
  readonly applied?: readonly string[];
  readonly restartNeeded?: readonly string[];
  readonly error?: string;
}

export interface AdminServerOptions {
  readonly model: ClusterModel;
  /** Registration operations answer 503 while no Witness service is attached. */
  readonly witness?: WitnessAdminPort;
  readonly metrics: WitnessdMetrics;
  /** admin.address and admin.token come from here. */
  readonly config: WitnessdConfig;
  /** The cluster source: node fail/recover go through it (the watcher's override, or its refusal), its status and events. */
  readonly source?: ClusterSource;
  readonly logger?: Logger;
  /** The file `reload` reads again; without it (embedded demo) reload is refused. */
  readonly configPath?: string;
  /** Replaces the default reload (load configPath, applyConfig, reconfigure the watcher). */
  readonly reload?: () => Promise<ReloadOutcome>;
  /** The last reload's outcome, shown in /v1/status (the daemon keeps it). */
  readonly reloadStatus?: () => ReloadRecord | undefined;
  /** Overrides config.admin.address (tests bind 127.0.0.1:0). */
  readonly address?: string;
  /** The status page's timeline, fed by the rooms' hooks (the daemon binds them); default: an empty one. */
  readonly feed?: StatusFeed;
  readonly statusStream?: Partial<StatusStreamLimits>;
}

export interface AdminServer {
  readonly server: Server;
  readonly address: HostPort;
  /** Base URL, e.g. http://127.0.0.1:8135 */
  readonly url: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const MODEL_STATUS: Record<ModelError['code'], number> = { 'not-found': 404, 'invalid-state': 409, 'invalid-argument': 400 };

const filterSchema = z
  .object({
    id: z.string().min(1).optional(),
    netName: z.string().min(1).optional(),
    shareName: z.string().min(1).optional(),
    ipAddress: z.string().min(1).optional(),
    clientName: z.string().min(1).optional(),
    all: z.boolean().optional(),
  })
  .strict();
const unregisterSchema = filterSchema;
const notifySchema = filterSchema.extend(forcedNotifySchema.shape).strict();
const toSchema = z.object({ to: z.string().min(1) }).strict();
const shareMoveSchema = z.object({ to: z.string().min(1), svm: z.string().min(1).optional() }).strict();
const clientMoveSchema = z.object({ client: z.string().min(1), to: z.string().min(1) }).strict();
const addressSchema = z.object({ ipv4: z.string().nullable().optional(), ipv6: z.string().nullable().optional() }).strict();
const emptySchema = z.object({}).strict();
/** `net witness` updates by id (witnessctl net-witness; one request per node, ids that node holds). */
const moveTargetSchema = z.union([
  z.object({ node: z.string().min(1) }).strict(),
  z.object({ allNodes: z.literal(true) }).strict(),
  z.object({ ip: z.string().refine((s) => addressKey(s) !== undefined, 'not an IP address') }).strict(),
]);
const updateSchema = z
  .object({
    ids: z.array(z.string().min(1).max(64)).max(1000),
    update: z.discriminatedUnion('type', [
      z.object({ type: z.enum(['CLIENT_MOVE', 'SHARE_MOVE']), to: moveTargetSchema }).strict(),
      z.object({ type: z.literal('FORCE_UNREGISTER') }).strict(),
      z.object({ type: z.literal('FORCE_RESPONSE') }).extend(forcedNotifySchema.shape).strict(),
    ]),
  })
  .strict();

function zodMessage(e: z.ZodError): string {
  return e.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

function parse<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (!r.success) throw new HttpError(400, `bad request: ${zodMessage(r.error)}`);
  return r.data;
}

/** A filter with at least one field, or all: true (so that an empty body never hits everyone). */
function selection(body: z.infer<typeof filterSchema>, verb: string): RegistrationFilter {
  const filter: Record<string, string> = {};
  for (const f of FILTER_FIELDS) if (body[f] !== undefined) filter[f] = body[f] as string;
  const n = Object.keys(filter).length;
  if (body.all === true && n > 0) throw new HttpError(400, `${verb}: give filters or all, not both`);
  if (body.all !== true && n === 0) throw new HttpError(400, `${verb}: give at least one filter (netName, shareName, ipAddress, clientName, id) or all`);
  return filter;
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > MAX_BODY) {
        failed = true;
        reject(new HttpError(413, `request body over ${MAX_BODY} bytes`));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (failed) return;
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (text === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new HttpError(400, 'request body is not valid JSON'));
      }
    });
    req.on('error', (e) => {
      if (!failed) reject(e);
    });
  });
}

export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const { model, metrics, source } = opts;
  const watcher = source?.watcher;
  const log = opts.logger;
  const bind = parseHostPort(opts.address ?? opts.config.admin.address);
  const token = new AdminToken(opts.config.admin.token);
  if (!isLoopbackHost(bind.host) && !token.required) {
    throw new Error(`refusing to serve the admin API on non-loopback ${bind.host} without admin.token`);
  }

  const offEvents = model.subscribe((e) => metrics.clusterEvents.inc({ type: e.type }));
  const offCollector = metrics.registry.addCollector(() => {
    // From the model, so the gauge is right in every watcher mode (simulated: the operator decides).
    for (const n of model.nodes()) metrics.nodeHealthy.set({ node: n.name }, n.up ? 1 : 0);
    if (!opts.witness) return;
    const c = opts.witness.counts();
    metrics.registrations.set({ version: '1' }, c.registrationsV1);
    metrics.registrations.set({ version: '2' }, c.registrationsV2);
    metrics.pendingAsyncNotify.set({}, c.pendingAsyncNotify);
  });

  const needWitness = (): WitnessAdminPort => {
    if (!opts.witness) throw new HttpError(503, 'the Witness service is not running');
    return opts.witness;
  };
  /** A model command, and who its events told: notified now, or queued for the next AsyncNotify. */
  const modelOp = (req: IncomingMessage, what: string, fn: () => ClusterEvent[]): { events: ClusterEvent[]; notified: number; queued: number; told: ToldRegistration[] } => {
    const { result: events, told } = opts.witness ? opts.witness.told(fn) : { result: fn(), told: [] };
    const notified = told.filter((t) => t.delivery === 'notified').length;
    const queued = told.length - notified;
    // Every state change names who asked (the address the request came from).
    log?.info({ admin: what, remote: remoteOf(req), events, notified, queued, told: told.map((t) => `${t.clientName} ${t.type} ${t.delivery}`) }, `admin: ${what}`);
    return { events, notified, queued, told };
  };

  const defaultReload = async (): Promise<ReloadOutcome> => {
    if (opts.configPath === undefined) throw new HttpError(409, 'witnessd runs the embedded demo config; there is no file to reload');
    try {
      if (!source) throw new HttpError(409, 'no cluster source is attached: nothing to reload');
      return await reloadConfigFile(source, opts.configPath);
    } catch (e) {
      // The operator may not read the HTTP answer (a script, a cron job): the log says why too.
      if (e instanceof ConfigError || e instanceof ReloadRefused) log?.warn({ admin: 'reload', file: opts.configPath, problems: e.message }, 'reload refused; the running configuration stays');
      throw e;
    }
  };
  const reload = async (): Promise<ReloadOutcome> => {
    try {
      return await (opts.reload ?? defaultReload)();
    } catch (e) {
      if (e instanceof ConfigError) throw new HttpError(400, `configuration not reloaded (the running one stays):\n${e.message}`);
      if (e instanceof ReloadRefused) throw new HttpError(400, e.message);
      throw e;
    }
  };

  const status = () => ({
    config: model.currentConfig().source,
    nodes: model.nodes(),
    svms: model.svms(),
    lifs: model.lifs(),
    shares: model.shares(),
    findings: model.findings(),
    counts: opts.witness ? opts.witness.counts() : null,
    watcher: watcher ? { mode: watcher.mode, nodes: watcher.status() } : null,
    lastReload: opts.reloadStatus?.() ?? null,
    recentEvents: model.recentEvents(),
    source: source ? source.status() : null,
  });
  // A cluster of witnessd instances (CTDB): the page lists every node's registrations.
  let boundPort = 0;
  const members = source?.members;
  const clusterRegs = members
    ? new ClusterRegistrations({ members, port: () => boundPort, token: opts.config.admin.token, limit: SNAPSHOT_REGISTRATIONS, logger: log })
    : undefined;
  const stream = new StatusStream({
    feed: opts.feed ?? new StatusFeed(),
    logger: log,
    limits: opts.statusStream,
    snapshot: () => {
      const { recentEvents: _, ...s } = status();
      // The first ones only: a page open during a 200,000-client failover must not cost a list of all every 2 s.
      const local = opts.witness ? opts.witness.list({}, SNAPSHOT_REGISTRATIONS) : [];
      if (!clusterRegs) return { ...s, registrations: local, registrationsListed: local.length };
      const { registrations, unreachable } = clusterRegs.view(local);
      return { ...s, registrations, registrationsListed: registrations.length, clusterWide: { nodes: members!().nodes.length + 1, unreachable } };
    },
  });
  const page = new StatusPage({ stream, token });

  async function route(method: string, parts: string[], query: URLSearchParams, req: IncomingMessage): Promise<{ route: string; body: unknown }> {
    const get = method === 'GET';
    const post = method === 'POST';
    const p = parts;
    if (p[0] !== 'v1') throw new HttpError(404, `no such route /${p.join('/')}`);
    const want = (ok: boolean, allowed: string) => {
      if (!ok) throw new HttpError(405, `use ${allowed}`);
    };
    const body = post ? await readBody(req) : undefined;

    if (p.length === 1) {
      want(get, 'GET');
      return { route: 'index', body: { routes: ADMIN_ROUTES } };
    }
    if (p.length === 2 && p[1] === 'status') {
      want(get, 'GET');
      return { route: 'status', body: status() };
    }
    if (p.length === 2 && p[1] === 'registrations') {
      want(get, 'GET');
      const filter: Record<string, string> = {};
      let limit = REGISTRATIONS_PAGE;
      let offset = 0;
      for (const [k, v] of query) {
        if (k === 'limit' || k === 'offset') {
          const n = /^\d{1,9}$/.test(v) ? Number(v) : NaN;
          if (!(n >= (k === 'limit' ? 1 : 0)) || (k === 'limit' && n > MAX_REGISTRATIONS_PAGE)) throw new HttpError(400, `${k} must be a whole number${k === 'limit' ? ` from 1 to ${MAX_REGISTRATIONS_PAGE}` : ''}`);
          if (k === 'limit') limit = n;
          else offset = n;
          continue;
        }
        if (!(FILTER_FIELDS as readonly string[]).includes(k)) throw new HttpError(400, `unknown filter ${k} (use ${FILTER_FIELDS.join(', ')}, limit, offset)`);
        if (v !== '') filter[k] = v;
      }
      const w = needWitness();
      const registrations = w.list(filter, limit, offset);
      const total = w.count(filter);
      // One page at a time: 100,000 registrations are never one answer (nextOffset: ask again from there).
      const next = offset + registrations.length < total ? { nextOffset: offset + registrations.length } : {};
      return { route: 'registrations', body: { registrations, total, offset, ...next } };
    }
    if (p.length === 4 && p[1] === 'nodes') {
      want(post, 'POST');
      parse(emptySchema, body);
      const node = p[2];
      switch (p[3]) {
        case 'fail':
          return { route: 'node-fail', body: modelOp(req, `node fail ${node}`, () => (source ? source.operatorFail(node) : model.failNode(node))) };
        case 'recover':
          return { route: 'node-recover', body: modelOp(req, `node recover ${node}`, () => (source ? source.operatorRecover(node) : model.recoverNode(node))) };
        case 'takeover':
          return { route: 'takeover', body: modelOp(req, `takeover ${node}`, () => model.takeover(node)) };
        case 'giveback':
          return { route: 'giveback', body: modelOp(req, `giveback ${node}`, () => model.giveback(node)) };
      }
    }
    if (p.length === 4 && p[1] === 'lifs') {
      want(post, 'POST');
      const lif = p[2];
      switch (p[3]) {
        case 'migrate': {
          const { to } = parse(toSchema, body);
          return { route: 'lif-migrate', body: modelOp(req, `lif migrate ${lif} to ${to}`, () => model.migrateLif(lif, to)) };
        }
        case 'up':
          parse(emptySchema, body);
          return { route: 'lif-up', body: modelOp(req, `lif up ${lif}`, () => model.setLifUp(lif)) };
        case 'down':
          parse(emptySchema, body);
          return { route: 'lif-down', body: modelOp(req, `lif down ${lif}`, () => model.setLifDown(lif)) };
        case 'address': {
          const change = parse(addressSchema, body);
          return { route: 'lif-address', body: modelOp(req, `lif address ${lif}`, () => model.changeLifAddress(lif, change)) };
        }
      }
    }
    if (p.length === 4 && p[1] === 'shares' && p[3] === 'move') {
      want(post, 'POST');
      const { to, svm } = parse(shareMoveSchema, body);
      return { route: 'share-move', body: modelOp(req, `share move ${p[2]} to ${to}`, () => model.moveShare(p[2], to, svm)) };
    }
    if (p.length === 3 && p[1] === 'clients' && p[2] === 'move') {
      want(post, 'POST');
      const { client, to } = parse(clientMoveSchema, body);
      if (opts.witness && opts.witness.list({ clientName: client }).length === 0) throw new HttpError(404, `no registration has client name ${client}: nobody to move`);
      // A CLIENT_MOVE names the addresses the client should use on `to`: none, and it tells nobody anything.
      if (model.node(to) && !model.lifs().some((l) => l.currentNode === to && l.operational)) {
        throw new HttpError(409, `node ${to} serves no address now (no operational data LIF or public IP on it): a client cannot be moved there`);
      }
      return { route: 'client-move', body: modelOp(req, `client move ${client} to ${to}`, () => model.clientMove(client, to)) };
    }
    if (p.length === 2 && p[1] === 'unregister') {
      want(post, 'POST');
      const filter = selection(parse(unregisterSchema, body), 'unregister');
      const removed = needWitness().unregister(filter);
      // Their waiting AsyncNotify calls were answered ERROR_NOT_FOUND: those clients were told.
      const notified = removed.reduce((n, r) => n + (r.pendingAsyncNotify ?? 0), 0);
      log?.info({ admin: 'unregister', remote: remoteOf(req), filter, notified, removed: removed.map((r) => ({ registration: r.id, client: r.clientName })) }, `admin: unregister ${removed.length}`);
      return { route: 'unregister', body: { unregistered: removed, notified } };
    }
    if (p.length === 3 && p[1] === 'registrations' && p[2] === 'update') {
      want(post, 'POST');
      const { ids, update } = parse(updateSchema, body);
      let u: RegistrationUpdate = update.type === 'FORCE_UNREGISTER' || update.type === 'CLIENT_MOVE' || update.type === 'SHARE_MOVE' ? update : { type: 'FORCE_RESPONSE', result: 0 };
      if (update.type === 'FORCE_RESPONSE') {
        // Without result and response: an empty response with ERROR_SUCCESS (net witness force-response's default).
        const forced = update.result === undefined && (update.response ?? null) === null ? { result: 0, response: undefined } : toForcedNotification(update);
        u = { type: 'FORCE_RESPONSE', ...forced };
      }
      const updated = needWitness().update(ids, u);
      log?.info({ admin: 'registrations-update', update: u, asked: ids.length, registrations: updated.map((r) => r.id) }, `admin: ${u.type} for ${updated.length}`);
      return { route: 'registrations-update', body: { updated } };
    }
    if (p.length === 2 && p[1] === 'notify') {
      want(post, 'POST');
      const b = parse(notifySchema, body);
      const filter = selection(b, 'notify');
      let forced: ReturnType<typeof toForcedNotification>;
      try {
        forced = toForcedNotification(b);
      } catch (e) {
        throw new HttpError(400, (e as Error).message);
      }
      const selected = needWitness().forceResponse(filter, forced.result, forced.response);
      log?.info({ admin: 'notify', remote: remoteOf(req), filter, result: forced.result, response: forced.response, registrations: selected.map((r) => r.id) }, `admin: forced response for ${selected.length}`);
      return { route: 'notify', body: { notified: selected, result: forced.result, response: forced.response ?? null } };
    }
    if (p.length === 3 && p[2] === 'event') {
      // The cluster manager's own scripts (CTDB's event script: /v1/ctdb/event) reach their source.
      want(post, 'POST');
      if (!source?.event || source.name !== p[1]) throw new HttpError(503, `witnessd runs with the ${source?.name ?? 'no'} cluster source, which takes no events at /v1/${p[1]}/event`);
      return { route: `${p[1]}-event`, body: await source.event(body) };
    }
    if (p.length === 2 && p[1] === 'reload') {
      want(post, 'POST');
      parse(emptySchema, body);
      log?.info({ admin: 'reload', remote: remoteOf(req) }, 'admin: reload');
      const outcome = await reload();
      return { route: 'reload', body: outcome };
    }
    throw new HttpError(404, `no such route /${p.join('/')}`);
  }

  const send = (res: ServerResponse, status: number, body: unknown, contentType = 'application/json; charset=utf-8') => {
    const text = typeof body === 'string' ? body : JSON.stringify(body, null, 2) + '\n';
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
  };

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let routeName = 'unknown';
    let status = 200;
    try {
      const url = new URL(req.url ?? '/', 'http://admin');
      const parts = url.pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
      const method = req.method ?? 'GET';
      if (parts.length === 1 && parts[0] === 'healthz') {
        routeName = 'healthz';
        send(res, 200, { ok: true });
        return;
      }
      const foreign = refuseForeign(req, token.required);
      if (foreign) {
        log?.warn({ remote: remoteOf(req), method, url: req.url?.slice(0, 200), host: req.headers.host?.slice(0, 200), origin: req.headers.origin?.slice(0, 200), why: foreign.message }, 'admin API request refused');
        throw new HttpError(foreign.status, foreign.message);
      }
      if (page.handles(parts)) {
        routeName = page.serve(req, res, url, parts);
        return;
      }
      if (!token.allows(req)) throw new HttpError(401, 'missing or wrong admin token (Authorization: Bearer …)');
      if (parts.length === 1 && parts[0] === 'metrics') {
        routeName = 'metrics';
        if (method !== 'GET') throw new HttpError(405, 'use GET');
        send(res, 200, metrics.registry.render(), METRICS_CONTENT_TYPE);
        return;
      }
      const r = await route(method, parts, url.searchParams, req);
      routeName = r.route;
      send(res, 200, r.body);
    } catch (e) {
      if (e instanceof HttpError) status = e.status;
      else if (e instanceof ModelError) status = MODEL_STATUS[e.code];
      else if (e instanceof URIError) status = 400;
      else {
        status = 500;
        log?.error({ err: e, url: req.url }, 'admin API request failed');
      }
      if (!res.headersSent) send(res, status, { error: (e as Error).message });
      else res.destroy();
    } finally {
      metrics.adminRequests.inc({ route: routeName, code: res.statusCode || status });
    }
  };

  const server = createServer((req, res) => void handler(req, res));
  server.requestTimeout = 15_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(bind.port, bind.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  boundPort = a.port;
  const address = { host: a.address, port: a.port };
  const url = `http://${formatHostPort(address)}`;
  log?.info({ url, token: token.required, statusPage: `${url}/status` }, `admin API listening on ${url}`);
  return {
    server,
    address,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        offEvents();
        offCollector();
        stream.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
