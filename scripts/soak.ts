/**
 * Soak: a real witnessd process (scripts/bin/witnessd.js, temp config on 127.0.71.x) and a crowd of
 * Witness clients in this process, for N minutes, in cycles of
 *   churn   — some clients unregister, some drop their connection without unregistering,
 *             new ones register (V1 Register, each client its own association);
 *   settle  — the admin API's registration count must equal the clients' own count;
 *   event   — a node fails or recovers (admin API); every notification the server sent must
 *             reach a client (server's per-type totals = what the clients received);
 *   sample  — the daemon's resident memory (/proc/PID/status VmRSS).
 * At the end it prints the figures; exit status 1 when a check failed.
 *
 *   npm run soak -- --minutes 10 [--clients 300] [--seed 1]
 */
import { readFileSync, rmSync } from 'node:fs';
import yargs from 'yargs';
import { AdminClient } from '../src/admin/client';
import { RpcClient } from '../src/client/rpc-client';
import { WITNESS_SYNTAX, witnessCalls, type ContextHandle } from '../src/client/witness-calls';
import { DaemonProcess, writeDaemonConfig } from '../test/integration/restart-helpers';
import { rng, int } from '../test/unit/fuzz/engine';

interface Figures {
  cycles: number;
  registered: number;
  unregistered: number;
  dropped: number;
  refused: number;
  events: number;
  notificationsSent: number;
  notificationsReceived: number;
  countMismatches: string[];
  notificationMismatches: string[];
  errors: string[];
}

class SoakClient {
  rpc: RpcClient | undefined;
  handle: ContextHandle | undefined;
  received = 0;
  private loop: Promise<void> | undefined;
  constructor(readonly name: string, readonly witnessAddress: string, readonly port: number, readonly ip: string, private readonly f: Figures) {}

  get registered(): boolean {
    return this.handle !== undefined;
  }

  async register(): Promise<void> {
    const rpc = await RpcClient.connect({ host: this.witnessAddress, port: this.port });
    await rpc.bind(WITNESS_SYNTAX);
    const r = await witnessCalls.register(rpc, { version: 0x10001, netName: 'SOFS', ipAddress: this.ip, clientName: this.name }, { timeoutMs: 10_000 });
    if (r.result !== 0 || !r.handle) {
      this.f.refused++;
      await rpc.close();
      return;
    }
    this.rpc = rpc;
    this.handle = r.handle;
    this.f.registered++;
    this.loop = this.notifyLoop(rpc, r.handle);
  }

  private async notifyLoop(rpc: RpcClient, handle: ContextHandle): Promise<void> {
    while (this.rpc === rpc) {
      try {
        const r = await witnessCalls.asyncNotify(rpc, handle);
        if (r.result === 0) this.received++;
        else if (r.result === 0x490) return; // unregistered (ours or the server's)
        else this.f.errors.push(`${this.name}: AsyncNotify returned 0x${r.result.toString(16)}`);
      } catch (e) {
        if (this.rpc === rpc) this.f.errors.push(`${this.name}: AsyncNotify failed: ${(e as Error).message}`);
        return;
      }
    }
  }

  /** Graceful: UnRegister (the pending AsyncNotify ends with ERROR_NOT_FOUND), then close. */
  async unregister(): Promise<void> {
    const rpc = this.rpc!;
    const r = await witnessCalls.unRegister(rpc, this.handle!, { timeoutMs: 10_000 });
    if (r !== 0) this.f.errors.push(`${this.name}: UnRegister returned 0x${r.toString(16)}`);
    await this.loop;
    this.rpc = undefined;
    this.handle = undefined;
    await rpc.close();
    this.f.unregistered++;
  }

  /** Rude: the connection goes away with the registration and a pending AsyncNotify. */
  drop(): void {
    const rpc = this.rpc!;
    this.rpc = undefined;
    this.handle = undefined;
    rpc.destroy();
    this.f.dropped++;
  }
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function poll(pred: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await pred()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main(): Promise<void> {
  const args = await yargs(process.argv.slice(2))
    .option('minutes', { type: 'number', default: 2 })
    .option('clients', { type: 'number', default: 200, describe: 'clients alive at once (about)' })
    .option('seed', { type: 'number', default: 1 })
    .option('pace', { type: 'number', default: 200, describe: 'ms between cycles' })
    .strict().help().parseAsync();
  const r = rng(args.seed);
  const cfg = await writeDaemonConfig(71, 11, (y) => y.replace('level: info', 'level: warn').replace('unusedRegistrationSeconds: 30', 'unusedRegistrationSeconds: 3600'));
  const d = await DaemonProcess.start(cfg);
  const admin = new AdminClient({ url: `http://127.0.0.1:${cfg.adminPort}`, timeoutMs: 10_000 });
  const f: Figures = { cycles: 0, registered: 0, unregistered: 0, dropped: 0, refused: 0, events: 0, notificationsSent: 0, notificationsReceived: 0, countMismatches: [], notificationMismatches: [], errors: [] };
  const rss: { at: number; kib: number }[] = [];
  const alive: SoakClient[] = [];
  let retired = 0; // notifications received by clients that are gone
  let nextId = 0;
  let nodeDown = false;
  let lastReport = Date.now();
  const t0 = Date.now();
  const end = t0 + args.minutes * 60_000;
  const serverSent = async (): Promise<number> => {
    const s = await admin.status() as { counts?: { notificationsSent?: Record<string, number> } };
    return Object.values(s.counts?.notificationsSent ?? {}).reduce((a, b) => a + b, 0);
  };
  const serverCount = async (): Promise<number> => (await admin.get<{ total: number }>('/v1/registrations', { limit: '1' })).total;
  const received = () => retired + alive.reduce((n, c) => n + c.received, 0);

  process.stderr.write(`soak: witnessd pid ${d.pid} on ${cfg.lif1}/${cfg.lif2}:${cfg.witnessPort}, ${args.minutes} min, ~${args.clients} clients\n`);
  try {
    while (Date.now() < end) {
      f.cycles++;
      // churn: about a fifth of the clients leave (half politely), the crowd refills.
      const leaving = alive.filter(() => r() < 0.2);
      await Promise.all(leaving.map(async (c) => {
        alive.splice(alive.indexOf(c), 1);
        if (r() < 0.5) await c.unregister().catch((e) => f.errors.push(`unregister: ${(e as Error).message}`));
        else c.drop();
        retired += c.received;
      }));
      const joining: SoakClient[] = [];
      while (alive.length + joining.length < args.clients) {
        const id = nextId++;
        const [addr, ip] = r() < 0.5 ? [cfg.lif2, cfg.lif1] : [cfg.lif1, cfg.lif2];
        joining.push(new SoakClient(`SOAK-${id}`, addr, cfg.witnessPort, ip, f));
      }
      for (let i = 0; i < joining.length; i += 50) {
        await Promise.all(joining.slice(i, i + 50).map((c) => c.register().catch((e) => f.errors.push(`register: ${(e as Error).message}`))));
      }
      for (const c of joining) if (c.registered) alive.push(c);

      // settle: the server's count equals the clients' own.
      const own = alive.length;
      if (!(await poll(async () => (await serverCount()) === own, 5000))) f.countMismatches.push(`cycle ${f.cycles}: admin API ${await serverCount()} vs clients ${own}`);

      // event: a node fails or recovers; every notification sent reaches its client.
      await (nodeDown ? admin.nodeRecover('node1') : admin.nodeFail('node1'));
      nodeDown = !nodeDown;
      f.events++;
      const ok = await poll(async () => (await serverSent()) === received(), 5000);
      if (!ok) f.notificationMismatches.push(`cycle ${f.cycles}: server sent ${await serverSent()}, clients received ${received()}`);

      rss.push({ at: Date.now() - t0, kib: rssKiB(d.pid) });
      await new Promise((res) => setTimeout(res, args.pace));
      if (Date.now() - lastReport > 15_000) {
        lastReport = Date.now();
        process.stderr.write(`  ${((Date.now() - t0) / 60_000).toFixed(1)} min: cycle ${f.cycles}, ${f.registered} registered, ${f.dropped} dropped, RSS ${rss[rss.length - 1].kib} KiB\n`);
      }
    }
    // Final: everyone leaves politely; the server must hold nothing.
    await Promise.all(alive.splice(0).map(async (c) => { await c.unregister().catch((e) => f.errors.push(`final unregister: ${(e as Error).message}`)); retired += c.received; }));
    if (!(await poll(async () => (await serverCount()) === 0, 5000))) f.countMismatches.push(`end: admin API still lists ${await serverCount()} registrations`);
    f.notificationsSent = await serverSent();
    f.notificationsReceived = received();
  } finally {
    d.kill('SIGTERM');
    await d.waitExit(6000);
    rmSync(cfg.dir, { recursive: true, force: true });
  }

  // Resident memory moves with the garbage collector: compare medians of the first and last
  // thirds of the samples taken after warm-up (the first quarter of the run).
  const median = (xs: number[]): number => { const v = [...xs].sort((x, y) => x - y); return v[v.length >> 1] ?? 0; };
  const warm = rss.filter((s) => s.at >= (args.minutes * 60_000) / 4).map((s) => s.kib);
  const third = Math.max(1, Math.floor(warm.length / 3));
  const startKiB = median(warm.slice(0, third));
  const endKiB = median(warm.slice(-third));
  const maxKiB = Math.max(...rss.map((s) => s.kib));
  const growth = startKiB ? (endKiB - startKiB) / startKiB : 0;
  const flat = growth < 0.15;
  const lines = [
    `soak figures (${args.minutes} min, seed ${args.seed}):`,
    `  cycles ${f.cycles}, node events ${f.events}`,
    `  registrations churned: ${f.registered} registered, ${f.unregistered} unregistered, ${f.dropped} dropped without unregistering, ${f.refused} refused`,
    `  notifications: server sent ${f.notificationsSent}, clients received ${f.notificationsReceived}`,
    `  admin count = clients' own count: ${f.countMismatches.length === 0 ? 'every cycle' : f.countMismatches.join('; ')}`,
    `  notification mismatches: ${f.notificationMismatches.length === 0 ? 'none' : f.notificationMismatches.join('; ')}`,
    `  witnessd RSS: first ${rss[0]?.kib ?? 0} KiB, median after warm-up ${startKiB} KiB, median at the end ${endKiB} KiB, max ${maxKiB} KiB (${(growth * 100).toFixed(1)}%: ${flat ? 'flat' : 'GROWING'})`,
    `  client errors: ${f.errors.length === 0 ? 'none' : `${f.errors.length}: ${f.errors.slice(0, 5).join('; ')}`}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const failed = f.countMismatches.length > 0 || f.notificationMismatches.length > 0 || f.errors.length > 0 || !flat || f.notificationsSent !== f.notificationsReceived;
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  process.stderr.write(`soak: ${(err as Error).stack ?? err}\n`);
  process.exit(2);
});
