import { execFile } from 'node:child_process';
import { YamlSource } from '../../src/cluster/yaml-source';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AdminClient, AdminError } from '../../src/admin/client';
import { WitnessdMetrics, healthMetricsSink } from '../../src/admin/metrics';
import type { ForcedNotification, RegistrationFilter, RegistrationSummary, WitnessAdminPort } from '../../src/admin/port';
import { startAdminServer, type AdminServer } from '../../src/admin/server';
import { main, type CtlIO } from '../../src/cli/witnessctl';
import { DEMO_CONFIG_YAML, demoConfig, parseConfig } from '../../src/config';
import { HealthWatcher } from '../../src/cluster/health';
import { createClusterModel, type ClusterModel } from '../../src/cluster/model';
import type { ClusterEvent } from '../../src/cluster/types';

jest.setTimeout(20_000);

/** A stand-in for the Witness service: two registrations, records what the admin API asks. */
class FakeWitness implements WitnessAdminPort {
  told<T>(fn: () => T) {
    return { result: fn(), told: [] };
  }
  regs: RegistrationSummary[] = [
    { id: 'a1', version: 0x00010001, netName: 'SOFS', shareName: undefined, ipAddress: '127.0.0.12', clientName: 'hv01', lif: 'lif2', pendingAsyncNotify: 1 },
    { id: 'b2', version: 0x00020000, netName: 'sofs.demo.local', shareName: 'vmstore', ipAddress: '127.0.0.11', clientName: 'hv02', lif: 'lif1', pendingAsyncNotify: 0 },
  ];
  forced: Array<{ filter: RegistrationFilter; result: number; response?: ForcedNotification }> = [];
  private match(f: RegistrationFilter): RegistrationSummary[] {
    const eq = (a: string | undefined, b: string | undefined) => b === undefined || (a ?? '').toLowerCase() === b.toLowerCase();
    return this.regs.filter((r) => eq(r.id, f.id) && eq(r.netName, f.netName) && eq(r.shareName, f.shareName) && eq(r.ipAddress, f.ipAddress) && eq(r.clientName, f.clientName));
  }
  list(f: RegistrationFilter, limit = Infinity, offset = 0) {
    return this.match(f).slice(offset, offset + limit);
  }
  count(f: RegistrationFilter) {
    return this.match(f).length;
  }
  unregister(f: RegistrationFilter) {
    const gone = this.match(f);
    this.regs = this.regs.filter((r) => !gone.includes(r));
    return gone;
  }
  forceResponse(filter: RegistrationFilter, result: number, response?: ForcedNotification) {
    this.forced.push({ filter, result, response });
    return this.match(filter);
  }
  update(ids: readonly string[]) {
    return this.regs.filter((r) => ids.includes(r.id));
  }
  whenDelivered() {
    return Promise.resolve(0);
  }
  counts() {
    return { registrations: this.regs.length, registrationsV1: 1, registrationsV2: this.regs.length - 1, pendingAsyncNotify: 1, notificationsSent: { RESOURCE_CHANGE: 2 } };
  }
}

function capture(env: NodeJS.ProcessEnv = {}): CtlIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, env, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

describe('admin API and witnessctl against a running admin server', () => {
  let model: ClusterModel;
  let witness: FakeWitness;
  let metrics: WitnessdMetrics;
  let admin: AdminServer;
  let dir: string;
  let cfgPath: string;
  const events: ClusterEvent[] = [];

  async function ctl(...args: string[]) {
    const io = capture();
    const code = await main([...args, '--admin', admin.url], io);
    return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
  }

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'witnessd-admin-'));
    cfgPath = path.join(dir, 'witnessd.yaml');
    writeFileSync(cfgPath, DEMO_CONFIG_YAML);
    const config = parseConfig(DEMO_CONFIG_YAML, cfgPath);
    model = createClusterModel(config);
    events.length = 0;
    model.subscribe((e) => events.push(e));
    witness = new FakeWitness();
    metrics = new WitnessdMetrics();
    const watcher = new HealthWatcher({ model, config: config.watcher, metrics: healthMetricsSink(metrics) });
    admin = await startAdminServer({ model, witness, metrics, config, source: new YamlSource({ model, watcher, document: config }), configPath: cfgPath, address: '127.0.0.1:0' });
  });
  afterEach(async () => {
    await admin.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('status: human text and --json', async () => {
    const r = await ctl('status');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/node1\s+up\s+node2\s+127\.0\.0\.11:445\s+simulated/);
    expect(r.out).toMatch(/lif1\s+vs1\s+127\.0\.0\.11\s+node1\s+node1\s+available/);
    expect(r.out).toMatch(/vmstore\s+vs1\s+yes\s+node1/);
    expect(r.out).toContain('Registrations: 2 (V1 1, V2 1); AsyncNotify pending: 1; notifications sent: RESOURCE_CHANGE 2');
    expect(r.out).toContain('none: every rule of witness-assisted failover holds');
    const j = await ctl('status', '--json');
    const body = JSON.parse(j.out);
    expect(body.nodes).toHaveLength(2);
    expect(body.watcher.mode).toBe('simulated');
    expect(body.findings).toEqual([]);
  });

  it('node fail / recover drive the model through the watcher', async () => {
    const r = await ctl('node', 'fail', 'node1');
    expect(r).toEqual({ code: 0, err: '', out: 'node fail node1:\n  NodeDown node1: LIFs lif1 failed over to SFO partner node2\ntold no registration' });
    expect(model.node('node1')?.up).toBe(false);
    const again = await ctl('node', 'fail', 'node1');
    expect(again).toEqual({ code: 1, out: '', err: 'witnessctl: node node1 is already down' });
    const j = await ctl('node', 'recover', 'node1', '--json');
    expect(JSON.parse(j.out)).toEqual({ events: [{ type: 'NodeUp', node: 'node1', lifs: ['lif1'] }], notified: 0, queued: 0, told: [] });
    const status = (await new AdminClient({ url: admin.url }).status()) as { status?: unknown; watcher: { nodes: { node: string; health: string }[] } };
    expect(status.watcher.nodes[0]).toMatchObject({ node: 'node1', health: 'unknown' });
  });

  it('takeover, giveback, lif migrate, share move, client move', async () => {
    expect((await ctl('takeover', 'node2')).out).toBe(
      'takeover node2:\n  LifMoving lif2 (SVM vs1) node2 -> node1\n  LifMoved lif2 (SVM vs1) node2 -> node1 (planned)\ntold no registration',
    );
    expect((await ctl('giveback', 'node2')).code).toBe(0);
    expect((await ctl('lif', 'migrate', 'lif1', '--to', 'node2')).out).toContain('LifMoved lif1 (SVM vs1) node1 -> node2 (planned)');
    expect((await ctl('share', 'move', 'vmstore', '--to', 'node2', '--svm', 'vs1')).out).toBe('share move vmstore --to node2:\n  ShareMoved vmstore (SVM vs1) node1 -> node2\ntold no registration');
    // node1 serves no LIF now: a CLIENT_MOVE there would name no address, so it is refused (issue 22).
    expect(await ctl('client', 'move', '--client', 'hv01', '--to', 'node1')).toEqual({
      code: 1, out: '', err: 'witnessctl: node node1 serves no address now (no operational data LIF or public IP on it): a client cannot be moved there',
    });
    expect((await ctl('client', 'move', '--client', 'hv01', '--to', 'node2')).out).toContain('ClientMoveRequested hv01 -> node2');
    expect((await ctl('lif', 'down', 'lif2')).out).toContain('LifDown lif2');
    expect((await ctl('lif', 'address', 'lif2', '--ipv4', '127.0.0.22')).out).toContain('LifAddressChanged lif2 (SVM vs1) 127.0.0.12 -> 127.0.0.22');
    expect(events.map((e) => e.type)).toEqual([
      'LifMoving', 'LifMoved', 'LifMoving', 'LifMoved', 'NodeUp', 'LifMoving', 'LifMoved', 'ShareMoved', 'ClientMoveRequested', 'LifDown', 'LifAddressChanged',
    ]);
  });

  it('server-side refusals are one line and exit 1', async () => {
    expect(await ctl('node', 'fail', 'node9')).toEqual({ code: 1, out: '', err: 'witnessctl: no node node9 (nodes: node1, node2)' });
    expect(await ctl('lif', 'migrate', 'lif1', '--to', 'node1')).toEqual({ code: 1, out: '', err: 'witnessctl: LIF lif1 is already on node node1' });
    expect(await ctl('share', 'move', 'nope', '--to', 'node1')).toEqual({ code: 1, out: '', err: 'witnessctl: no share nope' });
  });

  it('usage errors exit 2 with one line', async () => {
    for (const args of [['frobnicate'], ['node', 'explode', 'node1'], ['lif', 'migrate', 'lif1'], ['unregister'], ['notify', '--client', 'x'], ['share', 'move', 'vmstore'], []]) {
      const r = await ctl(...args);
      expect(r.code).toBe(2);
      expect(r.err.split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/^witnessctl: /);
    }
  });

  it('--help prints usage and exits 0', async () => {
    const r = await ctl('--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('witnessctl <command>');
    expect(r.out).toContain('takeover <node>');
  });

  it('registrations list with filters', async () => {
    const all = await ctl('registrations', 'list');
    expect(all.out.split('\n')).toHaveLength(3);
    expect(all.out).toMatch(/a1\s+V1\s+hv01\s+SOFS\s+127\.0\.0\.12\s+-\s+lif2\s+1\s+/);
    expect(all.out.split('\n')[0]).toMatch(/WAITING\s+QUEUED$/);
    const one = await ctl('registrations', 'list', '--net-name', 'sofs.demo.local', '--share', 'vmstore', '--json');
    expect(JSON.parse(one.out).registrations.map((r: RegistrationSummary) => r.id)).toEqual(['b2']);
    const byIp = await ctl('registrations', 'list', '--ip', '127.0.0.12', '--client', 'HV01', '--json');
    expect(JSON.parse(byIp.out).registrations.map((r: RegistrationSummary) => r.id)).toEqual(['a1']);
    expect((await ctl('registrations', 'list', '--client', 'nobody')).out).toBe('(no registrations)');
  });

  it('unregister with a filter or --all', async () => {
    const r = await ctl('unregister', '--client', 'hv02');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^unregistered 1 registration\(s\); 0 waiting AsyncNotify call\(s\) answered ERROR_NOT_FOUND/);
    expect(witness.regs.map((x) => x.id)).toEqual(['a1']);
    expect((await ctl('unregister', '--all', '--client', 'x')).code).toBe(2);
    const all = await ctl('unregister', '--all', '--json');
    expect(JSON.parse(all.out).unregistered).toHaveLength(1);
    expect(witness.regs).toEqual([]);
    // The API itself refuses an empty selection.
    await expect(new AdminClient({ url: admin.url }).post('/v1/unregister', {})).rejects.toThrow(/at least one filter/);
  });

  it('notify converts the JSON response to a forced notification', async () => {
    let r = await ctl('notify', '--client', 'hv01', '--json-response', '{"type":"RESOURCE_CHANGE","changes":[{"changeType":"UNAVAILABLE","name":"SOFS"}]}');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^forced response queued for 1 registration\(s\)/);
    r = await ctl('notify', '--all', '--json-response', '{"type":"CLIENT_MOVE","addresses":[{"ipv4":"127.0.0.12"},{"ipv6":"FD00::1","online":false}]}');
    expect(r.code).toBe(0);
    r = await ctl('notify', '--id', 'b2', '--result', '0x490');
    expect(r.code).toBe(0);
    expect(witness.forced).toEqual([
      { filter: { clientName: 'hv01' }, result: 0, response: { type: 1, changes: [{ changeType: 0xff, name: 'SOFS' }] } },
      { filter: {}, result: 0, response: { type: 2, addresses: [{ flags: 0x9, ipv4: '127.0.0.12' }, { flags: 0x12, ipv6: 'fd00::1' }] } },
      { filter: { id: 'b2' }, result: 0x490, response: undefined },
    ]);
    r = await ctl('notify', '--all', '--json-response', '{"type":"CLIENT_MOVE","changes":[]}');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/take "addresses"/);
    expect((await ctl('notify', '--all', '--json-response', '{oops')).err).toBe('witnessctl: --json-response is not valid JSON (witnessctl --help)');
  });

  it('reload applies a changed file and keeps the running config when the file is bad', async () => {
    writeFileSync(cfgPath, DEMO_CONFIG_YAML.replace(/node: node1\n/, 'node: node2\n'));
    const ok = await ctl('reload');
    expect(ok.code).toBe(0);
    expect(ok.out).toBe(`reloaded ${cfgPath}; applied: svms\n  ShareMoved vmstore (SVM vs1) node1 -> node2`);
    writeFileSync(cfgPath, DEMO_CONFIG_YAML.replace('ipv4: 127.0.0.12', 'ipv4: 127.0.0.300'));
    const bad = await ctl('reload');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('witnessctl: configuration not reloaded (the running one stays):');
    expect(bad.err).toContain(`${cfgPath}:22:15: svms[0].lifs[1].ipv4: not an IPv4 address (dotted quad)`);
    expect(model.lif('lif2')?.ipv4).toBe('127.0.0.12');
    expect(model.share('vs1', 'vmstore')?.node).toBe('node2');
  });

  it('GET /metrics in Prometheus text format', async () => {
    await ctl('node', 'fail', 'node2');
    const text = await new AdminClient({ url: admin.url }).text('/metrics');
    expect(text).toContain('# TYPE witnessd_registrations gauge');
    expect(text).toContain('witnessd_registrations{version="1"} 1');
    expect(text).toContain('witnessd_pending_async_notify 1');
    expect(text).toContain('witnessd_cluster_events_total{type="NodeDown"} 1');
    expect(text).toContain('witnessd_node_state_changes_total{node="node2",to="down",by="operator"} 1');
    expect(text).toMatch(/witnessd_admin_requests_total\{route="node-fail",code="200"\} 1/);
  });

  it('HTTP-level errors: unknown route, wrong method, bad JSON, oversized body', async () => {
    const c = new AdminClient({ url: admin.url });
    await expect(c.get('/v1/nothing')).rejects.toMatchObject({ status: 404 });
    await expect(c.get('/v1/nodes/node1/fail')).rejects.toMatchObject({ status: 405 });
    await expect(c.post('/v1/lifs/lif1/migrate', { to: 'node2', extra: 1 })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/Unrecognized key/) });
    await expect(c.post('/v1/clients/move', { client: 'x'.repeat(70_000), to: 'node1' })).rejects.toMatchObject({ status: 413 });
    const res = await fetchRaw(admin.url + '/v1/reload', 'POST', '{not json');
    expect(res).toEqual({ status: 400, body: { error: 'request body is not valid JSON' } });
    await expect(c.get('/v1/registrations', { bogus: 'x' })).rejects.toThrow(/unknown filter bogus/);
  });
});

async function fetchRaw(url: string, method: string, body: string): Promise<{ status: number; body: unknown }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('admin API security and reachability', () => {
  it('a configured token is required on every route but /healthz', async () => {
    const config = parseConfig(`${DEMO_CONFIG_YAML}`.replace('address: 127.0.0.1:8135', 'address: 127.0.0.1:8135\n  token: sekrit-token-0123456789'), 't.yaml');
    const model = createClusterModel(config);
    const admin = await startAdminServer({ model, metrics: new WitnessdMetrics(), config, address: '127.0.0.1:0' });
    try {
      const io = capture();
      expect(await main(['status', '--admin', admin.url], io)).toBe(1);
      expect(io.stderr).toEqual(['witnessctl: missing or wrong admin token (Authorization: Bearer …)']);
      expect(await main(['status', '--admin', admin.url, '--token', 'wrong'], capture())).toBe(1);
      const ok = capture({ WITNESSCTL_TOKEN: 'sekrit-token-0123456789', WITNESSCTL_ADMIN: admin.url });
      expect(await main(['status'], ok)).toBe(0);
      await expect(new AdminClient({ url: admin.url }).text('/metrics')).rejects.toMatchObject({ status: 401 });
      expect(await new AdminClient({ url: admin.url }).get('/healthz')).toEqual({ ok: true });
      // No Witness service attached: registration routes answer 503.
      const r = capture({ WITNESSCTL_TOKEN: 'sekrit-token-0123456789' });
      expect(await main(['registrations', 'list', '--admin', admin.url], r)).toBe(1);
      expect(r.stderr).toEqual(['witnessctl: the Witness service is not running']);
    } finally {
      await admin.close();
    }
  });

  it('refuses a non-loopback bind without a token', async () => {
    const config = demoConfig();
    await expect(startAdminServer({ model: createClusterModel(config), metrics: new WitnessdMetrics(), config, address: '0.0.0.0:0' })).rejects.toThrow(
      /refusing to serve the admin API on non-loopback 0\.0\.0\.0 without admin\.token/,
    );
  });

  it('the embedded demo has no file to reload', async () => {
    const config = demoConfig();
    const admin = await startAdminServer({ model: createClusterModel(config), metrics: new WitnessdMetrics(), config, address: '127.0.0.1:0' });
    try {
      await expect(new AdminClient({ url: admin.url }).post('/v1/reload')).rejects.toMatchObject({ status: 409, message: expect.stringMatching(/embedded demo/) });
    } finally {
      await admin.close();
    }
  });

  it('witnessd not running: exit 3 and one line', async () => {
    const io = capture();
    expect(await main(['status', '--admin', 'http://127.0.0.1:1'], io)).toBe(3);
    expect(io.stderr).toEqual(['witnessctl: cannot reach the witnessd admin API at http://127.0.0.1:1: connection refused (is witnessd running?)']);
    expect(() => new AdminClient({ url: 'ftp://x' })).toThrow(AdminError);
  });

  it('scripts/bin/witnessctl.js works from a checkout', async () => {
    const config = demoConfig();
    const admin = await startAdminServer({ model: createClusterModel(config), metrics: new WitnessdMetrics(), config, address: '127.0.0.1:0' });
    try {
      const bin = path.join(__dirname, '..', '..', 'scripts', 'bin', 'witnessctl.js');
      const run = (args: string[]) =>
        new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
          execFile(process.execPath, [bin, ...args], { timeout: 15_000, env: { ...process.env, WITNESSCTL_ADMIN: admin.url } }, (err, stdout, stderr) =>
            resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
          );
        });
      const ok = await run(['node', 'fail', 'node1', '--json']);
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout).events[0]).toMatchObject({ type: 'NodeDown', node: 'node1' });
      const bad = await run(['node', 'fail', 'node1']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toBe('witnessctl: node node1 is already down\n');
    } finally {
      await admin.close();
    }
  });
});

// Compile-time check (tsc): the Witness service can be handed to the admin API as it is.
import type { WitnessService } from '../../src/witness/service';
export const witnessServiceIsAnAdminPort = (w: WitnessService): WitnessAdminPort => w;
