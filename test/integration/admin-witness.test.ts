/**
 * The admin API and witnessctl wired to the real Witness service (as the daemon wires them):
 * registrations made through the service show up in `registrations list`, `node fail`
 * completes a pending AsyncNotify with RESOURCE_CHANGE UNAVAILABLE, `notify` forces a raw
 * response, `unregister` ends a pending AsyncNotify with ERROR_NOT_FOUND, /metrics counts.
 */
import { YamlSource } from '../../src/cluster/yaml-source';
import { TestCall, asyncNotify } from '../helpers/calls';
import pino from 'pino';
import { WitnessdMetrics, healthMetricsSink, countRegistrationEvents } from '../../src/admin/metrics';
import { startAdminServer, type AdminServer } from '../../src/admin/server';
import { main, type CtlIO } from '../../src/cli/witnessctl';
import { demoConfig } from '../../src/config';
import { HealthWatcher } from '../../src/cluster/health';
import { createClusterModel } from '../../src/cluster/model';
import type { CallContext } from '../../src/rpc/call-context';
import { AuthLevel } from '../../src/rpc/security';
import { WitnessService } from '../../src/witness/service';

jest.setTimeout(20_000);

function ctx(localAddress: string, groupId: number): TestCall {
  return new TestCall({ associationGroup: { id: groupId, onClose: () => () => undefined }, localAddress, remotePort: 50000 + groupId });
}

describe('admin API with the real Witness service', () => {
  let admin: AdminServer;
  let service: WitnessService;
  const aborts: TestCall[] = [];

  beforeEach(async () => {
    const config = demoConfig();
    const model = createClusterModel(config);
    const metrics = new WitnessdMetrics();
    service = new WitnessService({ model, logger: pino({ level: 'silent' }) });
    countRegistrationEvents(metrics, service.events);
    const watcher = new HealthWatcher({ model, config: config.watcher, metrics: healthMetricsSink(metrics) });
    admin = await startAdminServer({ model, witness: service, metrics, config, source: new YamlSource({ model, watcher, document: config }), address: '127.0.0.1:0' });
  });
  afterEach(async () => {
    for (const a of aborts.splice(0)) a.abort();
    service.close();
    await admin.close();
  });

  async function ctl(...args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const io: CtlIO = { out: (t) => out.push(t), err: (t) => err.push(t), env: {} };
    const code = await main([...args, '--admin', admin.url], io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  /** Register as an application server whose SMB session is on `ip`, via the witness on the partner node. */
  function register(client: string, ip: string, witnessAt: string, group: number, share?: string) {
    const r = service.register(
      ctx(witnessAt, group),
      share === undefined
        ? { version: 0x00010001, netName: 'SOFS', ipAddress: ip, clientName: client }
        : { version: 0x00020000, netName: 'sofs.demo.local', shareName: share, ipAddress: ip, clientName: client, flags: 0, keepAliveTimeout: 120 },
      share !== undefined,
    );
    expect(r.result).toBe(0);
    return r.handle as string;
  }
  function pending(handle: string, witnessAt: string, group: number) {
    const a = ctx(witnessAt, group);
    aborts.push(a);
    return asyncNotify(service, a, handle);
  }

  it('list, node fail → RESOURCE_CHANGE, notify, unregister, metrics', async () => {
    const h1 = register('hv01.demo.local', '127.0.0.11', '127.0.0.12', 1);
    const h2 = register('hv02.demo.local', '127.0.0.12', '127.0.0.11', 2, 'vmstore');

    const list = JSON.parse((await ctl('registrations', 'list', '--json')).out).registrations;
    expect(list.map((r: { id: string; clientName: string; lif: string }) => [r.id, r.clientName, r.lif])).toEqual([
      [h1, 'hv01.demo.local', 'lif1'],
      [h2, 'hv02.demo.local', 'lif2'],
    ]);
    expect((await ctl('registrations', 'list', '--share', 'VMSTORE')).out).toMatch(new RegExp(`^ID.*\\n${h2}\\s+V2\\s+hv02\\.demo\\.local`));

    // node1 fails: hv01 (connected to lif1 on node1) hears RESOURCE_CHANGE UNAVAILABLE.
    const n1 = pending(h1, '127.0.0.12', 1);
    expect((await ctl('node', 'fail', 'node1')).code).toBe(0);
    const r1 = await n1;
    expect(r1.result).toBe(0);
    expect(r1.response).toEqual({ type: 1, changes: [{ changeType: 0xff, name: 'SOFS' }] });

    // A forced raw response for testing clients.
    const n2 = pending(h2, '127.0.0.11', 2);
    const forced = await ctl('notify', '--client', 'hv02.demo.local', '--json-response', '{"type":"CLIENT_MOVE","addresses":[{"ipv4":"127.0.0.11"}]}');
    expect(forced.code).toBe(0);
    expect((await n2).response).toEqual({ type: 2, addresses: [{ flags: 0x9, ipv4: '127.0.0.11' }] });

    // Force unregister: the pending AsyncNotify ends with ERROR_NOT_FOUND.
    const n3 = pending(h2, '127.0.0.11', 2);
    const metricsBefore = await ctl('metrics');
    expect(metricsBefore.out).toContain('witnessd_registrations{version="1"} 1');
    expect(metricsBefore.out).toContain('witnessd_registrations{version="2"} 1');
    expect(metricsBefore.out).toContain('witnessd_pending_async_notify 1');
    expect(metricsBefore.out).toContain('witnessd_notifications_total{type="RESOURCE_CHANGE"} 1');
    const un = await ctl('unregister', '--id', h2);
    expect(un.out).toMatch(/^unregistered 1 registration\(s\)/);
    expect((await n3).result).toBe(0x490);

    const status = await ctl('status');
    expect(status.out).toContain('Registrations: 1 (V1 1, V2 0); AsyncNotify pending: 0');
    expect(status.out).toMatch(/node1\s+DOWN \(taken over\)\s+node2/);
    expect((await ctl('unregister', '--all', '--json')).code).toBe(0);
    expect(service.counts().registrations).toBe(0);
  });

  it('operator commands say who was told: notified now or queued, and which; an unknown client is an error; --json errors are JSON', async () => {
    const h1 = register('hv01.demo.local', '127.0.0.11', '127.0.0.12', 1);
    register('hv02.demo.local', '127.0.0.11', '127.0.0.12', 2);
    const waiting = pending(h1, '127.0.0.12', 1); // hv01 waits; hv02 has no AsyncNotify out

    const fail = await ctl('node', 'fail', 'node1');
    expect(fail.code).toBe(0);
    expect(fail.out).toContain('told 2 registration(s): 1 notified now, 1 queued for their next AsyncNotify');
    expect(fail.out).toMatch(/hv01\.demo\.local\s+SOFS\s+127\.0\.0\.11\s+RESOURCE_CHANGE UNAVAILABLE\s+notified/);
    expect(fail.out).toMatch(/hv02\.demo\.local\s+SOFS\s+127\.0\.0\.11\s+RESOURCE_CHANGE UNAVAILABLE\s+queued/);
    expect((await waiting).result).toBe(0);

    // The JSON says the same, and the list's QUEUED column agrees with pendingNotifications.
    const rec = JSON.parse((await ctl('node', 'recover', 'node1', '--json')).out);
    expect([rec.notified, rec.queued]).toEqual([0, 2]);
    expect(rec.told.map((t: { clientName: string; type: string; detail: string; delivery: string }) => `${t.clientName} ${t.type} ${t.detail} ${t.delivery}`).sort())
      .toEqual(['hv01.demo.local RESOURCE_CHANGE AVAILABLE queued', 'hv02.demo.local RESOURCE_CHANGE AVAILABLE queued']);
    const regs = JSON.parse((await ctl('registrations', 'list', '--json')).out).registrations as { clientName: string; pendingNotifications: number }[];
    const table = (await ctl('registrations', 'list')).out.split('\n');
    for (const r of regs) expect(table.find((l) => l.includes(r.clientName))).toMatch(new RegExp(`\\s${r.pendingNotifications}$`));

    const move = JSON.parse((await ctl('client', 'move', '--client', 'hv01.demo.local', '--to', 'node2', '--json')).out);
    expect(move.told).toEqual([expect.objectContaining({ clientName: 'hv01.demo.local', type: 'CLIENT_MOVE', delivery: 'queued' })]);

    const unknown = await ctl('client', 'move', '--client', 'nosuchhost', '--to', 'node2');
    expect(unknown).toEqual({ code: 1, out: '', err: 'witnessctl: no registration has client name nosuchhost: nobody to move' });
    const unknownJson = await ctl('client', 'move', '--client', 'nosuchhost', '--to', 'node2', '--json');
    expect(unknownJson.code).toBe(1);
    expect(JSON.parse(unknownJson.err)).toEqual({ error: 'no registration has client name nosuchhost: nobody to move', exitCode: 1, status: 404 });
    const usage = await ctl('lif', 'migrate', 'lif1', '--json');
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.err)).toMatchObject({ error: 'lif migrate needs --to NODE', exitCode: 2 });

    const un = JSON.parse((await ctl('unregister', '--all', '--json')).out);
    expect([un.unregistered.length, un.notified]).toEqual([2, 0]);
  });
});
