/**
 * witnessctl in CTDB mode: commands that reach every node (cluster-view.ts carries them over
 * each node's admin API) and the planned drain. `takeover NODE` tells every client registered
 * for NODE's public IPs to move (CLIENT_MOVE, wherever the registration is held), waits a
 * grace period for them to go, then runs `ctdb -n PNN disable` so CTDB moves the IPs;
 * `giveback NODE` runs `ctdb -n PNN enable`. The ctdb tool runs where witnessctl runs (any
 * node of the cluster), bounded in time; takeover asks it first (`ctdb -n PNN status`) and
 * refuses before any CLIENT_MOVE when it does not work, and says what was already sent when
 * the disable itself fails.
 */
import { execFile } from 'node:child_process';
import { AdminError } from '../admin/client';
import { nodeOk, type ClusterView } from '../admin/cluster-view';
import { describeEvent } from '../admin/format';
import type { ClusterEvent } from '../cluster/types';

const CTDB_TOOL_TIMEOUT_MS = 30_000;

interface Result {
  json: unknown;
  text: string;
}

/** The same POST on every node; fine when at least one node did it (the others hold no such registration). */
export async function ctdbFanOut(view: ClusterView, title: string, path: string, body: unknown): Promise<Result> {
  const answers = await view.all((c) => c.post<{ events: ClusterEvent[]; notified?: number; queued?: number }>(path, body));
  const done = answers.filter((a) => a.ok);
  const told = (a: { notified?: number; queued?: number }): string => `told ${a.notified ?? 0} now, ${a.queued ?? 0} queued`;
  const lines = answers.map((a) =>
    a.ok ? `  ${a.node}: ${a.body.events.length ? a.body.events.map(describeEvent).join('; ') : '(no events)'}; ${told(a.body)}` : `  ${a.node}: ${a.error}`,
  );
  if (done.length === 0) throw new AdminError(`${title}: no node did it:\n${lines.join('\n')}`, 404);
  const notified = done.reduce((n, a) => n + (a.ok ? a.body.notified ?? 0 : 0), 0);
  const queued = done.reduce((n, a) => n + (a.ok ? a.body.queued ?? 0 : 0), 0);
  return { json: { nodes: answers, notified, queued }, text: [`${title} (cluster-wide): ${told({ notified, queued })}`, ...lines].join('\n') };
}

function runCtdb(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ctdb', [...args], { timeout: CTDB_TOOL_TIMEOUT_MS, env: process.env }, (err, stdout, stderr) => {
      if (err) reject(new AdminError(`ctdb ${args.join(' ')} failed: ${(stderr || stdout || err.message).trim()}`, 1));
      else resolve(stdout);
    });
  });
}

export async function ctdbDrain(view: ClusterView, nodeArg: string, what: 'takeover' | 'giveback', graceMs: number): Promise<Result> {
  const node = view.nodes.find((n) => n.name === nodeArg || String(n.pnn) === nodeArg);
  if (!node) throw new AdminError(`no CTDB node ${nodeArg} (nodes: ${view.nodes.map((n) => n.name).join(', ')})`, 404);
  if (what === 'giveback') {
    await runCtdb(['-n', String(node.pnn), 'enable']);
    return { json: { node: node.name, enabled: true }, text: `giveback ${node.name}: ctdb enable done; CTDB moves public IPs back at its next takeover run` };
  }
  const dest = view.nodes.find((n) => n.pnn !== node.pnn && nodeOk(n));
  if (!dest) throw new AdminError(`takeover ${node.name}: no other healthy CTDB node to move clients to`, 409);
  // The ctdb tool runs here: ask it first, so that a takeover it cannot finish tells no client to move.
  try {
    await runCtdb(['-n', String(node.pnn), 'status']);
  } catch (e) {
    throw new AdminError(`takeover ${node.name}: refused before telling any client: the ctdb tool does not work where witnessctl runs (${(e as Error).message}); run witnessctl takeover on a CTDB node, as root`, 1);
  }
  const ips = new Set(view.ctdb.ips.filter((ip) => ip.node === node.name).map((ip) => ip.address));
  const { registrations, unreachable } = await view.registrations({});
  const moving = registrations.filter((r) => ips.has(String(r.ipAddress)));
  const moved: Array<{ client: string; heldBy: string; ok: boolean; error?: string }> = [];
  for (const r of moving) {
    const held = String(r.heldBy);
    const client = String(r.clientName);
    try {
      await view.client(held)?.post('/v1/clients/move', { client, to: dest.name });
      moved.push({ client, heldBy: held, ok: true });
    } catch (e) {
      moved.push({ client, heldBy: held, ok: false, error: (e as Error).message });
    }
  }
  if (moving.length > 0 && graceMs > 0) await new Promise((r) => setTimeout(r, graceMs));
  try {
    await runCtdb(['-n', String(node.pnn), 'disable']);
  } catch (e) {
    const told = moved.filter((m) => m.ok).length;
    throw new AdminError(`takeover ${node.name}: CLIENT_MOVE to ${dest.name} was already sent to ${told} registration(s), but ${(e as Error).message}: the IPs did not move; run \`ctdb -n ${node.pnn} disable\` now, or those clients have moved for nothing`, 1);
  }
  const lines = [
    `takeover ${node.name}: CLIENT_MOVE to ${dest.name} for ${moved.filter((m) => m.ok).length} of ${moving.length} registration(s) on ${[...ips].join(', ') || '(no public IPs)'}`,
    ...moved.filter((m) => !m.ok).map((m) => `  ${m.client} (held by ${m.heldBy}): ${m.error}`),
    ...unreachable.map((u) => `  node ${u.node} did not answer: ${u.error}`),
    `  waited ${moving.length > 0 ? graceMs : 0} ms, then ctdb disable of ${node.name}: CTDB moves its public IPs at its next takeover run`,
  ];
  return { json: { node: node.name, destination: dest.name, ips: [...ips], moved, unreachable, disabled: true }, text: lines.join('\n') };
}
