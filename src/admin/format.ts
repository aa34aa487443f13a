/** Human-readable text for admin API answers (witnessctl without --json, daemon start-up). */
import { versionName } from '../witness/constants';
import type { RegistrationSummary } from './port';
import type { ClusterEvent, DeploymentFinding, LifView, NodeView, ShareView } from '../cluster/types';
import { printable } from '../lib/printable';

/** Widest table cell: a client-chosen name cannot stretch a table past the terminal. */
const MAX_CELL = 64;

export function describeEvent(e: ClusterEvent): string {
  switch (e.type) {
    case 'NodeDown':
      return e.partner
        ? `NodeDown ${e.node}: LIFs ${list(e.lifs)} failed over to SFO partner ${e.partner}`
        : `NodeDown ${e.node}: LIFs ${list(e.lifs)} unavailable (no SFO partner up to take over)`;
    case 'NodeUp':
      return `NodeUp ${e.node}: LIFs ${list(e.lifs)} operational on it`;
    case 'LifDown':
      return `LifDown ${e.lif} (SVM ${e.svm})`;
    case 'LifUp':
      return `LifUp ${e.lif} (SVM ${e.svm})`;
    case 'LifMoving':
      return `LifMoving ${e.lif} (SVM ${e.svm}) ${e.from} -> ${e.to}`;
    case 'LifMoved':
      return `LifMoved ${e.lif} (SVM ${e.svm}) ${e.from} -> ${e.to}${e.planned ? ' (planned)' : ''}`;
    case 'LifAddressChanged':
      return `LifAddressChanged ${e.lif} (SVM ${e.svm}) ${addrText(e.old)} -> ${addrText(e.now)}`;
    case 'ShareMoved':
      return `ShareMoved ${e.share} (SVM ${e.svm}) ${e.from} -> ${e.to}`;
    case 'ClientMoveRequested':
      return `ClientMoveRequested ${e.client} -> ${e.to}`;
  }
}

function list(xs: readonly string[]): string {
  return xs.length ? xs.join(', ') : '(none)';
}
function addrText(a: { ipv4?: string; ipv6?: string }): string {
  return [a.ipv4, a.ipv6].filter((x) => x !== undefined).join(' ') || '(none)';
}

export interface StatusBody {
  config: string;
  nodes: NodeView[];
  lifs: LifView[];
  shares: ShareView[];
  svms: { name: string; netbiosName: string; dnsName: string; aliases: string[] }[];
  findings: DeploymentFinding[];
  counts: { registrations: number; registrationsV1: number; registrationsV2: number; pendingAsyncNotify: number; notificationsSent: Record<string, number> } | null;
  watcher: { mode: string; nodes: { node: string; target?: string; health: string; heldDownByOperator: boolean; lastProbe?: { ok: boolean; detail: string } }[] } | null;
  lastReload?: { at: string; ok: boolean; source: string; restartNeeded?: string[]; error?: string } | null;
  /** The cluster source and its own health (src/cluster/source.ts). */
  source?: { name: string; health: { ok: boolean; detail: string } } | null;
}

/** One line on the last reload (status), or undefined when there was none. */
export function describeReload(r: StatusBody['lastReload']): string | undefined {
  if (!r) return undefined;
  if (!r.ok) return `Last reload: FAILED at ${r.at} (${r.source}); the running configuration stays: ${r.error ?? ''}`;
  const restart = r.restartNeeded?.length ? `; needs a restart for: ${r.restartNeeded.join(', ')}` : '';
  return `Last reload: ok at ${r.at} (${r.source})${restart}`;
}

/** Columns padded to the widest cell; cells made printable (peer text) and cut to MAX_CELL. */
export function table(cells: string[][]): string[] {
  // The last column is not padded: it may run longer (a probe's detail) without stretching the others.
  const rows = cells.map((r) => r.map((c, i) => printable(c, i === r.length - 1 ? 4 * MAX_CELL : MAX_CELL)));
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd());
}

export function formatStatus(s: StatusBody): string {
  const out: string[] = [`config: ${s.config}`];
  if (s.source) out.push(`cluster source: ${s.source.name}: ${s.source.health.ok ? '' : 'NOT HEALTHY: '}${s.source.health.detail}`);
  out.push('', 'Nodes:');
  const health = new Map((s.watcher?.nodes ?? []).map((n) => [n.node, n]));
  // CTDB: its nodes have no SFO partner and its public IPs no home; CTDB's flags say the state.
  const ctdbNodes = s.source?.name === 'ctdb' ? (s.source as { nodes?: Array<{ name: string; flags: string[] }> }).nodes : undefined;
  if (ctdbNodes) {
    const flags = new Map(ctdbNodes.map((n) => [n.name, n.flags.join(',')]));
    out.push(...table([['  NODE', 'STATE', 'CTDB', 'SMB SERVER'], ...s.nodes.map((n) => [`  ${n.name}`, n.up ? 'up' : 'DOWN', flags.get(n.name) ?? '-', n.smbAddress ?? '-'])]));
  } else out.push(
    ...table([
      ['  NODE', 'STATE', 'SFO PARTNER', 'SMB SERVER', 'HEALTH'],
      ...s.nodes.map((n) => {
        const h = health.get(n.name);
        const state = n.up ? 'up' : n.takenOver ? 'DOWN (taken over)' : 'DOWN';
        const hv = !h ? '-' : s.watcher?.mode === 'simulated' ? 'simulated' : `${h.health}${h.heldDownByOperator ? ' (held down by operator)' : ''}${h.lastProbe ? `: ${h.lastProbe.detail}` : ''}`;
        return [`  ${n.name}`, state, n.partner ?? '(none)', n.smbAddress ?? '-', hv];
      }),
    ]),
  );
  out.push('', 'SVMs:');
  out.push(...table([['  SVM', 'NETBIOS', 'DNS NAME', 'ALIASES'], ...s.svms.map((v) => [`  ${v.name}`, v.netbiosName, v.dnsName, v.aliases.join(', ') || '-'])]));
  out.push('', ctdbNodes ? 'Public IPs:' : 'Data LIFs:');
  if (ctdbNodes) {
    out.push(...table([['  PUBLIC IP', 'NODE', 'STATE'], ...s.lifs.map((l) => [`  ${l.name}`, l.currentNode, l.operational ? 'available' : l.up ? 'UNAVAILABLE (node down)' : 'DOWN (hosted by no node)'])]));
  } else out.push(
    ...table([
      ['  LIF', 'SVM', 'ADDRESS', 'HOME', 'CURRENT', 'STATE'],
      ...s.lifs.map((l) => [`  ${l.name}`, l.svm, [l.ipv4, l.ipv6].filter(Boolean).join(' '), l.homeNode, l.currentNode, l.operational ? 'available' : l.up ? 'UNAVAILABLE (node down)' : 'DOWN']),
    ]),
  );
  out.push('', 'Shares:');
  out.push(...table([['  SHARE', 'SVM', 'CA', 'NODE'], ...s.shares.map((sh) => [`  ${sh.name}`, sh.svm, sh.continuouslyAvailable ? 'yes' : 'NO', sh.node])]));
  out.push('');
  if (s.counts) {
    const c = s.counts;
    const sent = Object.entries(c.notificationsSent).filter(([, n]) => n > 0).map(([t, n]) => `${t} ${n}`).join(', ');
    out.push(`Registrations: ${c.registrations} (V1 ${c.registrationsV1}, V2 ${c.registrationsV2}); AsyncNotify pending: ${c.pendingAsyncNotify}; notifications sent: ${sent || 'none'}`);
  } else {
    out.push('Registrations: (Witness service not attached)');
  }
  const reload = describeReload(s.lastReload);
  if (reload) out.push(reload);
  out.push('', 'Deployment findings:');
  if (s.findings.length === 0) out.push('  none: every rule of witness-assisted failover holds');
  for (const f of s.findings) out.push(`  ${f.severity}: ${f.message}`);
  return out.join('\n');
}

/** A registration as the admin API's JSON gives it; `heldBy` in the cluster-wide view (cluster-view.ts). */
export type RegistrationRow = RegistrationSummary & { readonly heldBy?: string };

export function formatRegistrations(regs: readonly RegistrationRow[]): string {
  if (regs.length === 0) return '(no registrations)';
  const v = (x: unknown) => (x === undefined || x === null || x === '' ? '-' : String(x));
  const ver = (x: unknown) => (typeof x === 'number' ? versionName(x) : v(x));
  // CTDB mode, cluster-wide list (cluster-view.ts): the node holding each registration.
  const held = regs.some((r) => r.heldBy !== undefined);
  return table([
    // WAITING = pendingAsyncNotify (calls held open), QUEUED = pendingNotifications (for the next call): the JSON's names.
    ['ID', 'VER', 'CLIENT', 'NETNAME', 'IP', 'SHARE', 'LIF', 'WAITING', 'QUEUED', ...(held ? ['HELD BY'] : [])],
    ...regs.map((r) => [v(r.id), ver(r.version), v(r.clientName), v(r.netName), v(r.ipAddress), v(r.shareName), v(r.lif), v(r.pendingAsyncNotify), v(r.pendingNotifications), ...(held ? [v(r.heldBy)] : [])]),
  ]).join('\n');
}
