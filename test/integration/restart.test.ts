/**
 * Crash and restart of a real witnessd process (scripts/bin/witnessd.js, temp config, 127.0.x.y, fixed
 * non-privileged ports): kill -9 while clients are registered; on restart every client's
 * AsyncNotify has failed cleanly and it re-registers within one keep-alive period. SIGTERM:
 * pending AsyncNotify calls are answered or faulted before the sockets close; exit within 5 s.
 */
import { readdirSync } from 'node:fs';
import { AdminClient } from '../../src/admin/client';
import { RpcClient, RpcFault, RpcConnectionClosed } from '../../src/client/rpc-client';
import { WITNESS_SYNTAX, witnessCalls } from '../../src/client/witness-calls';
import { WitnessClient } from '../../src/client/witness-client';
import { DaemonProcess, writeDaemonConfig, type DaemonConfig, disposeDaemon } from './restart-helpers';

const KEEP_ALIVE_S = 5;
const CLIENTS = 6;

async function registrations(cfg: DaemonConfig): Promise<{ id: string; clientName: string }[]> {
  const admin = new AdminClient({ url: `http://127.0.0.1:${cfg.adminPort}`, timeoutMs: 5000 });
  return (await admin.get<{ registrations: { id: string; clientName: string }[] }>('/v1/registrations')).registrations;
}

describe('witnessd process: kill -9 and restart', () => {
  let cfg: DaemonConfig;
  let d: DaemonProcess | undefined;
  const clients: WitnessClient[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop().catch(() => undefined)));
    await disposeDaemon(d, cfg);
  });

  it('every client fails its AsyncNotify cleanly and re-registers within one keep-alive period', async () => {
    cfg = await writeDaemonConfig(61, 11);
    d = await DaemonProcess.start(cfg);
    const failures = new Map<string, string[]>();
    for (let i = 0; i < CLIENTS; i++) {
      const name = `APP-${i}`;
      const c = new WitnessClient({
        server: cfg.lif1, netName: 'SOFS', clientName: name, version: 2, keepAliveTimeout: KEEP_ALIVE_S,
        witnessPort: cfg.witnessPort, retryDelayMs: 200, callTimeoutMs: 3000,
      });
      c.on('warning', (e: Error) => failures.set(name, [...(failures.get(name) ?? []), e.name]));
      clients.push(c);
    }
    const first = await Promise.all(clients.map((c) => c.start(20_000)));
    expect((await registrations(cfg)).length).toBe(CLIENTS);
    // Let every client get its AsyncNotify on the wire.
    await new Promise((r) => setTimeout(r, 300));

    d.kill('SIGKILL');
    expect(await d.waitExit(5000)).toBe(true);
    expect(d.exit?.signal).toBe('SIGKILL');
    const again = clients.map((c) => new Promise<number>((resolve) => c.once('registered', () => resolve(Date.now()))));
    // Every pending AsyncNotify ended with a clean error (connection closed), no hang.
    expect(await d.until(() => failures.size === CLIENTS, 5000)).toBe(true);
    for (const names of failures.values()) expect(names[0]).toBe('RpcConnectionClosed');

    d = await DaemonProcess.start(cfg);
    const ready = Date.now();
    const times = await Promise.all(again);
    const worst = Math.max(...times) - ready;
    process.stdout.write(`restart: ${CLIENTS} clients re-registered, the last ${worst} ms after witnessd was ready (keep-alive ${KEEP_ALIVE_S} s)\n`);
    expect(worst).toBeLessThan(KEEP_ALIVE_S * 1000);
    const regs = await registrations(cfg);
    expect(regs.length).toBe(CLIENTS);
    expect(new Set(regs.map((r) => r.clientName)).size).toBe(CLIENTS);
    // New handles: nothing of the killed process survived.
    const old = new Set(first.map((f) => f.handle));
    for (const r of regs) expect(old.has(r.id)).toBe(false);
    // Nothing half-written: witnessd keeps no state on disk, its directory holds the config only.
    expect(readdirSync(cfg.dir)).toEqual(['witnessd.yaml']);

    // Clients that stop unregister: the server's count goes back to zero.
    await Promise.all(clients.map((c) => c.stop()));
    let left = -1;
    for (let i = 0; i < 50 && left !== 0; i++) {
      left = (await registrations(cfg)).length;
      if (left !== 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(left).toBe(0);
    d.kill('SIGTERM');
    expect(await d.waitExit(6000)).toBe(true);
  }, 90_000);

  it('SIGTERM: pending AsyncNotify calls are answered or faulted before the sockets close; exit within 5 s', async () => {
    d = await DaemonProcess.start(cfg);
    const rpcs: RpcClient[] = [];
    const outcomes: Promise<string>[] = [];
    for (let i = 0; i < 4; i++) {
      const rpc = await RpcClient.connect({ host: cfg.lif2, port: cfg.witnessPort });
      await rpc.bind(WITNESS_SYNTAX);
      const r = await witnessCalls.register(rpc, { version: 0x10001, netName: 'SOFS', ipAddress: cfg.lif1, clientName: `TERM-${i}` });
      expect(r.result).toBe(0);
      rpcs.push(rpc);
      outcomes.push(witnessCalls.asyncNotify(rpc, r.handle!).then(
        (x) => `result 0x${x.result.toString(16)}`,
        (e) => (e instanceof RpcFault ? `fault 0x${e.status.toString(16)}` : e instanceof RpcConnectionClosed ? 'closed without an answer' : `error ${(e as Error).message}`),
      ));
    }
    await new Promise((r) => setTimeout(r, 300));
    expect((await registrations(cfg)).length).toBe(4);
    const t0 = Date.now();
    d.kill('SIGTERM');
    const got = await Promise.all(outcomes);
    expect(await d.waitExit(6000)).toBe(true);
    const took = d.exit!.at - t0;
    process.stdout.write(`SIGTERM: pending AsyncNotify outcomes ${JSON.stringify(got)}; exit code ${d.exit!.code} after ${took} ms\n`);
    for (const g of got) expect(g).not.toBe('closed without an answer');
    expect(took).toBeLessThan(5000);
    expect(d.exit!.code).toBe(0);
    await Promise.all(rpcs.map((r) => r.close()));
    d = undefined;
  }, 60_000);
});
