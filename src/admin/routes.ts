/**
 * The admin API's routes, listed once: `GET /v1` answers this list, the README's table shows
 * it (a unit test keeps them equal), and src/admin/server.ts and status/page.ts serve them.
 * Errors are {"error": "..."} with 400/401/404/405/409/413/500/503. Every route but /healthz
 * needs the admin token when one is configured (src/admin/token.ts).
 */
export interface AdminRoute {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly what: string;
}

export const ADMIN_ROUTES: readonly AdminRoute[] = [
  { method: 'GET', path: '/healthz', what: 'liveness; no token needed' },
  { method: 'GET', path: '/metrics', what: 'Prometheus text format' },
  { method: 'GET', path: '/status', what: 'the live status page (HTML); /status?token=T logs a browser in' },
  { method: 'GET', path: '/v1', what: 'this list' },
  { method: 'GET', path: '/v1/status', what: 'nodes, SVMs, LIFs, shares, findings, counts, watcher, recent events' },
  { method: 'GET', path: '/v1/events', what: 'server-sent events: timeline entries, state snapshots, keep-alive pings' },
  { method: 'GET', path: '/v1/registrations', what: 'registrations, a page at a time (?limit=&offset=; total, nextOffset); filters ?netName=&shareName=&ipAddress=&clientName=&id=' },
  { method: 'POST', path: '/v1/nodes/NODE/fail', what: 'unplanned failure (overrides the probes)' },
  { method: 'POST', path: '/v1/nodes/NODE/recover', what: 'recovery (overrides the probes)' },
  { method: 'POST', path: '/v1/nodes/NODE/takeover', what: 'planned takeover: CLIENT_MOVE before the move' },
  { method: 'POST', path: '/v1/nodes/NODE/giveback', what: 'planned giveback' },
  { method: 'POST', path: '/v1/lifs/LIF/migrate', what: '{to}: LIF migration' },
  { method: 'POST', path: '/v1/lifs/LIF/up', what: 'LIF administratively up' },
  { method: 'POST', path: '/v1/lifs/LIF/down', what: 'LIF administratively down' },
  { method: 'POST', path: '/v1/lifs/LIF/address', what: '{ipv4?, ipv6?} (null removes one): IP_CHANGE' },
  { method: 'POST', path: '/v1/shares/SHARE/move', what: '{to, svm?}: volume move, SHARE_MOVE' },
  { method: 'POST', path: '/v1/clients/move', what: '{client, to}: CLIENT_MOVE for one client' },
  { method: 'POST', path: '/v1/unregister', what: '{filter fields… | all: true}: force unregister' },
  { method: 'POST', path: '/v1/registrations/update', what: '{ids, update: {type: CLIENT_MOVE|SHARE_MOVE, to} | FORCE_UNREGISTER | FORCE_RESPONSE}: net witness updates' },
  { method: 'POST', path: '/v1/notify', what: '{filter fields… | all: true, result?, response?}: force an AsyncNotify response' },
  { method: 'POST', path: '/v1/reload', what: 'read the configuration file again' },
];
