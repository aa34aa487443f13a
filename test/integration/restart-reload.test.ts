/**
 * Configuration reload under load: a bad reload (admin API or SIGHUP) keeps the running
 * configuration and logs why; a good reload applies and keeps the registrations whose LIFs
 * still exist (their AsyncNotify calls keep waiting and are still answered).
 */
import { rmSync, writeFileSync } from 'node:fs';
import pino from 'pino';
import { AdminClient, AdminError } from '../../src/admin/client';
import { loadConfig } from '../../src/config';
import { startWitnessd, type Witnessd } from '../../src/cli/daemon';
import { RpcClient } from '../../src/client/rpc-client';
import { WITNESS_SYNTAX, witnessCalls, type ContextHandle } from '../../src/client/witness-calls';
import { DaemonProcess, writeDaemonConfig, type DaemonConfig, disposeDaemon } from './restart-helpers';

async function registerAt(address: string, port: number, ip: string, name: string): Promise<{ rpc: RpcClient; handle: ContextHandle }> {
  const rpc = await RpcClient.connect({ host: address, port });
  await rpc.bind(WITNESS_SYNTAX);
  const r = await witnessCalls.register(rpc, { version: 0x10001, netName: 'SOFS', ipAddress: ip, clientName: name });
  expect(r.result).toBe(0);
  return { rpc, handle: r.handle! };
}

const BROKEN = [
  ['YAML syntax', (y: string) => `${y}\nnodes: [\n`],
  ['unknown field', (y: string) => y.replace('watcher:', 'watcher:\n  color: blue')],
  ['duplicate LIF address', (y: string) => y.replace(/ipv4: (127\.0\.\d+\.\d+)\n(\s+homeNode: node2)/, (_m, _a, rest) => `ipv4: ${y.match(/ipv4: (127\.0\.\d+\.\d+)/)![1]}\n${rest}`)],
  ['unresolved alias', (y: string) => y.replace('level: info', 'level: *nothing')],
] as const;

describe('reload through the admin API (in-process witnessd)', () => {
  let cfg: DaemonConfig;
  let d: Witnessd;
  const logs: string[] = [];

  beforeAll(async () => {
    cfg = await writeDaemonConfig(62, 11);
    const logger = pino({ level: 'info' }, { write: (l: string) => { logs.push(l); } });
    d = await startWitnessd(loadConfig(cfg.file), { configPath: cfg.file, witnessPort: 0, adminAddress: '127.0.0.1:0', logger });
  });
  afterAll(async () => {
    await d.close();
    rmSync(cfg.dir, { recursive: true, force: true });
  });

  it('bad reloads keep the running configuration and say why; a good one keeps the registrations of surviving LIFs', async () => {
    const port = d.witnessEndpoint.port;
    const admin = new AdminClient({ url: d.admin.url });
    const a = await registerAt(cfg.lif2, port, cfg.lif1, 'KEEPER');
    const b = await registerAt(cfg.lif1, port, cfg.lif2, 'ON-LIF2');
    const pendingA = witnessCalls.asyncNotify(a.rpc, a.handle);
    pendingA.catch(() => undefined); // answered below; a shutdown fault after the test is fine
    const lifsBefore = JSON.stringify(d.model.lifs());

    for (const [what, edit] of BROKEN) {
      writeFileSync(cfg.file, edit(cfg.yaml));
      const err = await admin.post('/v1/reload').then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(AdminError);
      expect((err as AdminError).status).toBe(400);
      expect((err as Error).message).toMatch(/not reloaded/);
      expect(JSON.stringify(d.model.lifs())).toBe(lifsBefore);
      expect(d.witness.service.counts().registrations).toBe(2);
      const line = logs.reverse().find((l) => l.includes('reload refused'));
      logs.reverse();
      expect(line).toBeDefined(); // logged, with the file's problems
      expect(line).toContain('witnessd.yaml');
      logs.length = 0;
      void what;
    }

    // Good reload: lif2 goes away, a watcher setting changes.
    const good = cfg.yaml
      .replace(/      - name: lif2\n(        .*\n)+?(?=    shares:)/, '')
      .replace('intervalMs: 500', 'intervalMs: 700');
    expect(good).not.toContain('lif2');
    writeFileSync(cfg.file, good);
    const out = await admin.post<{ events: unknown[] }>('/v1/reload');
    expect(Array.isArray(out.events)).toBe(true);
    expect(d.model.lifs().map((l) => l.name)).toEqual(['lif1']);
    const regs = d.witness.service.list();
    expect(regs.find((r) => r.clientName === 'KEEPER')).toBeDefined();
    // The survivor's pending AsyncNotify is still served: a forced notification reaches it.
    await admin.post('/v1/notify', { clientName: 'KEEPER', result: 0x5b4 });
    const ans = await Promise.race([pendingA, new Promise<undefined>((r) => setTimeout(() => r(undefined), 3000))]);
    expect(ans?.result).toBe(0x5b4);
    process.stdout.write(`reload: registrations after removing lif2: ${JSON.stringify(regs.map((r) => ({ client: r.clientName, lif: (r as { lif?: string }).lif })))}\n`);
    await a.rpc.close();
    await b.rpc.close();
  }, 30_000);
});

describe('reload by SIGHUP (witnessd process)', () => {
  let cfg: DaemonConfig;
  let p: DaemonProcess | undefined;
  afterAll(async () => {
    await disposeDaemon(p, cfg);
  });

  it('a bad file is refused and logged, the daemon keeps serving; a good file is applied', async () => {
    cfg = await writeDaemonConfig(63, 11);
    p = await DaemonProcess.start(cfg);
    // Under --config the banner is one summary line (the try-it recipe is the demo's).
    expect(p.stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^witnessd is serving ${cfg.file}: Witness on .* port ${cfg.witnessPort}, admin API http://127\\.0\\.0\\.1:${cfg.adminPort}, 2 node\\(s\\), watcher simulated, anonymous ON, minimum auth level integrity$`))]);
    const a = await registerAt(cfg.lif2, cfg.witnessPort, cfg.lif1, 'HUP-CLIENT');
    writeFileSync(cfg.file, `${cfg.yaml}\nnodes: [\n`);
    p.kill('SIGHUP');
    expect(await p.until(() => p!.logs.some((l) => l.includes('reload refused')), 10_000)).toBe(true);
    const refused = p.entries().find((e) => String(e.msg).includes('reload refused'))!;
    expect(String(refused.problems)).toMatch(/witnessd\.yaml:\d+/); // names the file and the line
    // Still serving, registration intact.
    const admin = new AdminClient({ url: `http://127.0.0.1:${cfg.adminPort}` });
    expect((await admin.get<{ registrations: unknown[] }>('/v1/registrations')).registrations.length).toBe(1);
    const gl = await witnessCalls.getInterfaceList(a.rpc);
    expect(gl.result).toBe(0);

    writeFileSync(cfg.file, cfg.yaml.replace('intervalMs: 500', 'intervalMs: 600'));
    p.kill('SIGHUP');
    expect(await p.until(() => p!.logs.some((l) => l.includes('configuration reloaded')), 10_000)).toBe(true);
    expect((await admin.get<{ registrations: unknown[] }>('/v1/registrations')).registrations.length).toBe(1);
    // SIGHUP's outcome is the one witnessctl reload gives: in status and in the reload counter.
    const st = await admin.get<{ lastReload: { ok: boolean; applied: string[] } }>('/v1/status');
    expect(st.lastReload).toMatchObject({ ok: true, applied: ['watcher.intervalMs'] });
    const metrics = await admin.text('/metrics');
    expect(metrics).toContain('witnessd_config_reloads_total{result="failed"} 1');
    expect(metrics).toContain('witnessd_config_reloads_total{result="ok"} 1');
    await a.rpc.close();
    p.kill('SIGTERM');
    expect(await p.waitExit(6000)).toBe(true);
    expect(p.exit?.code).toBe(0);
    p = undefined;
  }, 60_000);
});

describe('a truthful reload (in-process witnessd)', () => {
  let cfg: DaemonConfig;
  let d: Witnessd;
  const logs: string[] = [];

  beforeAll(async () => {
    cfg = await writeDaemonConfig(64, 11);
    const logger = pino({ level: 'info' }, { write: (l: string) => { logs.push(l); } });
    d = await startWitnessd(loadConfig(cfg.file), { configPath: cfg.file, witnessPort: 0, adminAddress: '127.0.0.1:0', logger });
  });
  afterAll(async () => {
    await d.close();
    rmSync(cfg.dir, { recursive: true, force: true });
  });

  it('applies auth and the log level at once, names each setting that needs a restart, and refuses a file whose findings hold an error', async () => {
    const admin = new AdminClient({ url: d.admin.url });
    const anon = await RpcClient.connect({ host: cfg.lif1, port: d.witnessEndpoint.port });
    await anon.bind(WITNESS_SYNTAX);
    expect((await witnessCalls.getInterfaceList(anon)).result).toBe(0); // the demo allows anonymous

    const next = cfg.yaml
      .replace('allowAnonymous: true  #', 'allowAnonymous: false  #')
      .replace('level: info', 'level: warn')
      .replace('maxPendingCallsPerConnection: 64', 'maxPendingCallsPerConnection: 32')
      .replace('unusedRegistrationSeconds: 30', 'unusedRegistrationSeconds: 45');
    writeFileSync(cfg.file, next);
    const out = await admin.post<{ applied: string[]; restartNeeded: string[] }>('/v1/reload');
    expect(out.applied.sort()).toEqual(['auth.allowAnonymous', 'logging.level']);
    expect(out.restartNeeded.sort()).toEqual(['limits.maxPendingCallsPerConnection', 'timeouts.unusedRegistrationSeconds']);
    expect(logs.some((l) => l.includes('until a restart') && l.includes('timeouts.unusedRegistrationSeconds'))).toBe(true);
    // Anonymous is off now: the next call on the same connection is refused.
    await expect(witnessCalls.getInterfaceList(anon)).rejects.toThrow("DCE/RPC fault 0x00000005");
    await anon.close();
    const infoBefore = logs.length;
    d.model.failNode('node1'); // logged at info by the cluster room: silent at warn
    d.model.recoverNode('node1');
    expect(logs.slice(infoBefore).filter((l) => JSON.parse(l).level < 40)).toEqual([]);

    // A node that names itself as its partner is a deployment error: refused, nothing applied.
    writeFileSync(cfg.file, next.replace(/partner: node2/, 'partner: node1'));
    const err = await admin.post('/v1/reload').then(() => undefined, (e: unknown) => e);
    expect((err as AdminError).status).toBe(400);
    expect((err as Error).message).toMatch(/not reloaded.*names itself as its SFO partner/);
    expect(d.model.node('node1')?.partner).toBe('node2');
    const st = await admin.get<{ lastReload: { ok: boolean; error: string } }>('/v1/status');
    expect(st.lastReload.ok).toBe(false);
    expect(st.lastReload.error).toMatch(/names itself/);
    expect(await admin.text('/metrics')).toContain('witnessd_config_reloads_total{result="failed"} 1');
  }, 30_000);
});
