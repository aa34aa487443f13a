/**
 * Where the drill runs: a running witnessd reached through its admin API, or one assembled
 * in-process on the embedded demo (witness + endpoint mapper on dynamic ports of the LIF
 * addresses, admin API on a dynamic loopback port). Either way scenarios go through HTTP.
 */
import pino from 'pino';
import type { WitnessClientOptions } from '../src/client/witness-client';
import { DEMO_CONFIG_NAME } from '../src/config';
import type { RegistrationInfo } from '../src/witness/types';

export interface LifInfo {
  readonly name: string;
  readonly address: string;
  /** Node hosting it now, and that node's SFO partner. */
  readonly node: string;
  readonly partner: string | undefined;
}

export interface DrillTarget {
  readonly adminUrl: string;
  readonly netName: string;
  readonly share: string;
  lifs(): Promise<LifInfo[]>;
  /** Waiting AsyncNotify calls of the drill's own registrations (client names drill-…). */
  pendingAsyncNotify(): Promise<number>;
  /** The drill's own registrations still on the daemon: id, client and what is queued for it. */
  ownRegistrations(): Promise<Array<Pick<RegistrationInfo, 'id' | 'clientName' | 'pendingNotifications'>>>;
  /** Force-unregister one registration by id. */
  unregister(id: string): Promise<void>;
  /** Fire an admin action (node-fail, node-recover, takeover, giveback, lif-migrate, share-move). */
  admin(action: string, args: Record<string, string>): Promise<unknown>;
  clientOptions(lif: LifInfo): Omit<WitnessClientOptions, 'clientName'>;
  close(): Promise<void>;
}

interface StatusBody {
  nodes: Array<{ name: string; partner?: string }>;
  svms: Array<{ name: string; netbiosName: string; lifs: string[]; shares: string[] }>;
  lifs: Array<{ name: string; svm: string; ipv4?: string; ipv6?: string; currentNode: string; homeNode: string }>;
  shares: Array<{ name: string; svm: string; continuouslyAvailable: boolean }>;
  counts: { pendingAsyncNotify: number } | null;
  /** Where the running configuration came from (DEMO_CONFIG_NAME for the embedded demo). */
  config: string;
}

/** Every client the drill registers is named so: the drill touches no other registration. */
export const DRILL_CLIENT_PREFIX = 'drill-';

async function http(base: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(new URL(path, base), {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${typeof json === 'object' && json && 'error' in json ? (json as { error: string }).error : text}`);
  return json;
}

function actionRoute(action: string, a: Record<string, string>): { path: string; body?: unknown } {
  const e = encodeURIComponent;
  switch (action) {
    case 'node-fail':
      return { path: `/v1/nodes/${e(a.node)}/fail` };
    case 'node-recover':
      return { path: `/v1/nodes/${e(a.node)}/recover` };
    case 'takeover':
      return { path: `/v1/nodes/${e(a.node)}/takeover` };
    case 'giveback':
      return { path: `/v1/nodes/${e(a.node)}/giveback` };
    case 'lif-migrate':
      return { path: `/v1/lifs/${e(a.lif)}/migrate`, body: { to: a.to } };
    case 'share-move':
      return { path: `/v1/shares/${e(a.share)}/move`, body: { to: a.to } };
    default:
      throw new Error(`unknown admin action ${action}`);
  }
}

/** A target speaking to the admin API at `adminUrl`; the first SVM with two LIFs is used. */
export async function remoteTarget(adminUrl: string, clientBase: Partial<WitnessClientOptions>, onClose: () => Promise<void> = async () => undefined, force = false): Promise<DrillTarget> {
  const status = (): Promise<StatusBody> => http(adminUrl, 'GET', '/v1/status') as Promise<StatusBody>;
  const first = await status();
  // The drill fails nodes and moves LIFs: against a production daemon that is a real outage.
  if (first.config !== DEMO_CONFIG_NAME && !force) {
    throw new Error(`witnessd at ${adminUrl} runs ${first.config}, not the embedded demo: the drill fails nodes and moves LIFs there, and its clients would be told; pass --force to drill it anyway`);
  }
  const own = async () => ((await http(adminUrl, 'GET', '/v1/registrations?limit=10000')) as { registrations: Array<Pick<RegistrationInfo, 'id' | 'clientName' | 'pendingAsyncNotify' | 'pendingNotifications'>> })
    .registrations.filter((r) => r.clientName.startsWith(DRILL_CLIENT_PREFIX));
  const svm = first.svms.find((s) => s.lifs.length >= 2);
  if (!svm) throw new Error('no SVM with two data LIFs in the running witnessd');
  const share = first.shares.find((s) => s.svm === svm.name && s.continuouslyAvailable) ?? first.shares.find((s) => s.svm === svm.name);
  if (!share) throw new Error(`SVM ${svm.name} has no share`);
  return {
    adminUrl,
    netName: svm.netbiosName,
    share: share.name,
    async lifs() {
      const s = await status();
      const partner = new Map(s.nodes.map((n) => [n.name, n.partner]));
      return s.lifs
        .filter((l) => l.svm === svm.name && (l.ipv4 || l.ipv6))
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((l) => ({ name: l.name, address: (l.ipv4 ?? l.ipv6) as string, node: l.currentNode, partner: partner.get(l.currentNode) }));
    },
    async pendingAsyncNotify() {
      return (await own()).reduce((n, r) => n + r.pendingAsyncNotify, 0);
    },
    async ownRegistrations() {
      return (await own()).map(({ id, clientName, pendingNotifications }) => ({ id, clientName, pendingNotifications }));
    },
    async unregister(id) {
      await http(adminUrl, 'POST', '/v1/unregister', { id });
    },
    async admin(action, args) {
      const r = actionRoute(action, args);
      return http(adminUrl, 'POST', r.path, r.body ?? {});
    },
    clientOptions(lif) {
      return {
        server: lif.address,
        ipAddress: lif.address,
        netName: svm.netbiosName,
        shareName: share.name,
        version: 2,
        keepAliveTimeout: 120,
        ...clientBase,
      };
    },
    close: onClose,
  };
}

/** witnessd assembled in-process on the embedded demo. */
export async function inProcessTarget(): Promise<DrillTarget> {
  const { startTestWitnessd } = await import('./drill-witnessd');
  const d = await startTestWitnessd({ logger: pino({ level: process.env.DRILL_LOG ?? 'silent' }) });
  return remoteTarget(d.adminUrl, d.clientBase, () => d.close());
}

export async function drillTarget(opts: { admin?: string; epmPort?: number; force?: boolean }): Promise<DrillTarget> {
  if (opts.admin) return remoteTarget(opts.admin, { epmPort: opts.epmPort ?? 135 }, undefined, opts.force);
  return inProcessTarget();
}
