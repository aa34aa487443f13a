/**
 * The peer watch's rules on three real processes (test/integration/peers/peer-node.ts): real
 * UDP heartbeats, real SMB2 NEGOTIATE probes of stand-in SMB servers, hangs by SIGSTOP. Each
 * README rule (R1–R6, "Faster than CTDB: hangs and partitions") is one case here or in the
 * unit tests. Timings are scaled down (silence 1.5 s); bounds are generous for a loaded
 * machine, and every case asserts what happened and to whom, never how fast.
 * Cost: ~3 s to start the three processes, ~30 s of cases.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import * as path from 'node:path';

const SILENCE = 1500;
const CONFIG = { heartbeatMs: 100, probeIntervalMs: 150, probeTimeoutMs: 500, silenceMs: SILENCE, refusedThreshold: 2, recoveryThreshold: 2 };
const NAMES = ['pnn0', 'pnn1', 'pnn2'];
const BASE = 20_000 + (process.pid % 10_000);
const NODES = NAMES.map((name, i) => ({ name, host: `127.0.0.${71 + i}` }));
const TARPIT = { host: '127.0.0.79', port: BASE + 2 };

interface Msg { type: string; node?: string; detail?: string; at?: number; id?: number; reply?: unknown }

class Node {
  readonly events: Msg[] = [];
  private nextId = 1;
  private readonly waiting = new Map<number, (v: unknown) => void>();
  constructor(readonly name: string, readonly child: ChildProcess) {
    child.on('message', (m: Msg) => {
      if (m.type === 'reply') this.waiting.get(m.id as number)?.(m.reply);
      else this.events.push(m);
    });
  }
  ask<T = unknown>(cmd: string, extra: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve as (v: unknown) => void);
      this.child.send({ cmd, id, ...extra });
    });
  }
  said(type: 'fail' | 'recover', node: string): Msg[] {
    return this.events.filter((e) => e.type === type && e.node === node);
  }
  clear(): void {
    this.events.length = 0;
  }
}

let nodes: Node[] = [];
let tarpit: Server;
const tarpitSockets = new Set<Socket>();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Every node hears every other and sees every SMB server (before each case). */
async function settled(): Promise<void> {
  const end = Date.now() + 15_000;
  for (;;) {
    // (A node that started late was failed by the others meanwhile: wait for its recovery too.)
    const st = await Promise.all(nodes.map((n) => n.ask<{ quorate: boolean; nodes: Array<{ smb: string; heard: boolean; downByPeerWatch: boolean }> }>('status')));
    if (st.every((s) => s.quorate && s.nodes.every((x) => x.smb === 'serving' && x.heard && !x.downByPeerWatch))) break;
    if (Date.now() > end) throw new Error(`cluster did not settle: ${JSON.stringify(st)}`);
    await sleep(100);
  }
  for (const n of nodes) n.clear();
}

beforeAll(async () => {
  // A tarpit: accepts TCP, never answers (what a cut link looks like to a probe with its timeout).
  tarpit = createServer((s) => void tarpitSockets.add(s.on('error', () => undefined)));
  await new Promise<void>((r) => tarpit.listen(TARPIT.port, TARPIT.host, r));
  nodes = NAMES.map((name) => {
    const child = fork(path.join(__dirname, 'peer-node.ts'), [JSON.stringify({ self: name, nodes: NODES, smbPort: BASE, tarpit: TARPIT, config: { ...CONFIG, port: BASE + 1 } })], {
      execArgv: ['-r', require.resolve('ts-node/register/transpile-only')],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Node(name, child);
  });
  await Promise.all(nodes.map((n) => new Promise<void>((resolve) => n.child.on('message', (m: Msg) => m.type === 'ready' && resolve()))));
}, 60_000);

afterAll(() => {
  for (const n of nodes) {
    n.child.kill('SIGCONT');
    n.child.kill('SIGKILL');
  }
  for (const s of tarpitSockets) s.destroy();
  tarpit.close();
});

describe('peer watch on three processes', () => {
  it('R1/R3/R4: a node hung (SIGSTOP) longer than silenceMs is failed by both others, then recovered when it resumes; it tells nothing itself', async () => {
    await settled();
    const [hung, a, b] = nodes;
    const t0 = Date.now();
    hung.child.kill('SIGSTOP');
    await until('both others fail pnn0', () => a.said('fail', 'pnn0').length === 1 && b.said('fail', 'pnn0').length === 1);
    const failedAfter = Math.max(...[a, b].map((n) => (n.said('fail', 'pnn0')[0].at as number) - t0));
    expect(failedAfter).toBeGreaterThanOrEqual(SILENCE - 200); // not before the silence (a slow node is tolerated)
    await sleep(1000);
    hung.child.kill('SIGCONT');
    await until('both others recover pnn0', () => a.said('recover', 'pnn0').length === 1 && b.said('recover', 'pnn0').length === 1);
    await sleep(SILENCE + 500);
    // The resumed node judged afresh (its own stall) and failed no one; nothing twice.
    expect(hung.events.filter((e) => e.type === 'fail')).toEqual([]);
    for (const n of [a, b]) expect(n.events.filter((e) => e.type === 'fail' || e.type === 'recover').map((e) => `${e.type} ${e.node}`)).toEqual(['fail pnn0', 'recover pnn0']);
  }, 60_000);

  it('R1: a slow node (stalls shorter than silenceMs, again and again) is failed by no one', async () => {
    await settled();
    const [slow] = nodes;
    for (let i = 0; i < 5; i++) {
      slow.child.kill('SIGSTOP');
      await sleep(SILENCE / 3);
      slow.child.kill('SIGCONT');
      await sleep(SILENCE / 2);
    }
    await sleep(SILENCE);
    for (const n of nodes) expect(n.events.filter((e) => e.type === 'fail')).toEqual([]);
  }, 60_000);

  it('R1/R3: a dead smbd on a live node (connection refused) is failed without waiting for silence, and recovered when it restarts', async () => {
    await settled();
    const [dead, a, b] = nodes;
    const t0 = Date.now();
    await dead.ask('smbd-stop');
    await until('every node fails pnn0', () => nodes.every((n) => n.said('fail', 'pnn0').length === 1));
    // Refusals need no silence: every verdict came before silenceMs (and the node itself agreed).
    expect(Math.max(...nodes.map((n) => (n.said('fail', 'pnn0')[0].at as number) - t0))).toBeLessThan(SILENCE);
    await dead.ask('smbd-start');
    await until('every node recovers pnn0', () => nodes.every((n) => n.said('recover', 'pnn0').length === 1));
    for (const n of [a, b]) expect(n.events.filter((e) => e.type === 'fail').map((e) => e.node)).toEqual(['pnn0']);
  }, 60_000);

  it('R2/R5: a node cut off tells nothing about the others and holds back CTDB\'s word; the majority fails it and recovers it when the link returns', async () => {
    await settled();
    const [island, a, b] = nodes;
    await Promise.all(nodes.map((n) => n.ask('cut', { nodes: ['pnn0'] })));
    await until('the majority fails pnn0', () => a.said('fail', 'pnn0').length === 1 && b.said('fail', 'pnn0').length === 1);
    await sleep(SILENCE);
    // Its own ctdbd would call pnn1 and pnn2 gone: held back (it hears no majority).
    expect(await island.ask('hold', { node: 'pnn1' })).toMatch(/fewer than a majority/);
    // Every fact of its ctdbd's about the others waits, however fresh; the majority's do not.
    const rejoined = { unreached: [], placementAgreed: true };
    expect(await island.ask('cut-off', { view: rejoined })).toMatch(/fewer than a majority/);
    expect(await a.ask('cut-off', { view: { unreached: ['pnn0'], placementAgreed: true } })).toBeNull();
    expect(island.events.filter((e) => e.type === 'fail')).toEqual([]);
    await Promise.all(nodes.map((n) => n.ask('cut', { nodes: [] })));
    await until('the majority recovers pnn0', () => a.said('recover', 'pnn0').length === 1 && b.said('recover', 'pnn0').length === 1);
    await sleep(SILENCE);
    expect(island.events.filter((e) => e.type === 'fail' || e.type === 'recover')).toEqual([]);
    // Back in a majority: they wait until a fresh read shows its ctdbd rejoined, then are followed for good.
    expect(island.events.some((e) => e.type === 'majority-again')).toBe(true);
    expect(await island.ask('cut-off')).toMatch(/fresh read/);
    expect(await island.ask('cut-off', { view: { unreached: ['pnn1', 'pnn2'], placementAgreed: true } })).toMatch(/not rejoined/);
    expect(await island.ask('cut-off', { view: { unreached: [], placementAgreed: false } })).toMatch(/disagree/);
    expect(await island.ask('cut-off', { view: rejoined })).toBeNull();
    expect(await island.ask('cut-off')).toBeNull();
  }, 60_000);

  it('R4: a node back before CTDB rejoined it waits while CTDB calls it inactive, and is recovered by the watch once CTDB no longer does', async () => {
    await settled();
    const [, a, b] = nodes;
    await Promise.all(nodes.map((n) => n.ask('cut', { nodes: ['pnn0'] })));
    await until('the majority fails pnn0', () => a.said('fail', 'pnn0').length === 1 && b.said('fail', 'pnn0').length === 1);
    // CTDB's keepalive gives up on pnn0 (the watch spoke first); the link returns before its ctdbd does.
    await a.ask('inactive', { nodes: ['pnn0'] });
    await Promise.all(nodes.map((n) => n.ask('cut', { nodes: [] })));
    await until('pnn2 recovers pnn0', () => b.said('recover', 'pnn0').length === 1);
    await sleep(SILENCE);
    expect(a.said('recover', 'pnn0')).toEqual([]);
    await a.ask('inactive', { nodes: [] });
    await until('pnn1 recovers pnn0 once CTDB no longer calls it inactive', () => a.said('recover', 'pnn0').length === 1);
  }, 60_000);

  it('R3: a one-sided problem (only one node cannot reach pnn0) fails no one', async () => {
    await settled();
    const [, a] = nodes;
    // pnn1 alone maps pnn0 to the tarpit: it finds pnn0 silent and stops hearing it; pnn2 does not.
    await a.ask('cut', { nodes: ['pnn0'] });
    await sleep(SILENCE * 2);
    await a.ask('cut', { nodes: [] });
    await sleep(500);
    for (const n of nodes) expect(n.events.filter((e) => e.type === 'fail')).toEqual([]);
  }, 60_000);

  it('R6: CTDB\'s "inactive" for a node still heard and answering waits; one failed probe lifts the hold', async () => {
    await settled();
    const [target, a] = nodes;
    expect(await a.ask('hold', { node: 'pnn0' })).toMatch(/still heard/);
    await target.ask('smbd-stop');
    await until('the hold on pnn0 lifts', () => a.events.some((e) => e.type === 'hold-lifted' && e.node === 'pnn0'));
    expect(await a.ask('hold', { node: 'pnn0' })).toBeNull();
    await target.ask('smbd-start');
    await until('pnn0 recovered everywhere it was failed', () => nodes.every((n) => n.said('fail', 'pnn0').length === n.said('recover', 'pnn0').length));
  }, 60_000);
});
