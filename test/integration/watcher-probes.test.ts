/**
 * The health watcher with real probes against fake SMB servers on loopback: a server that
 * answers NEGOTIATE is healthy; stopping it (refused) or hanging it (timeouts) fails the node
 * over after failureThreshold probes; starting it again recovers the node.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { WitnessdMetrics, healthMetricsSink } from '../../src/admin/metrics';
import { DEMO_CONFIG_YAML, parseConfig } from '../../src/config';
import { HealthWatcher, type HealthStateChange } from '../../src/cluster/health';
import { createClusterModel } from '../../src/cluster/model';
import type { ClusterEvent } from '../../src/cluster/types';

jest.setTimeout(30_000);

type Mode = 'answer' | 'hang';

/** A fake SMB server: answers the first NEGOTIATE with a minimal valid response, or hangs. */
class FakeSmb {
  server: Server | undefined;
  mode: Mode = 'answer';
  readonly sockets = new Set<Socket>();
  constructor(public port = 0) {}
  async start(): Promise<void> {
    const srv = createServer((s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
      s.once('data', () => {
        if (this.mode === 'hang') return;
        const body = Buffer.alloc(64 + 65);
        body.writeUInt32BE(0xfe534d42, 0);
        body.writeUInt16LE(64, 4);
        body.writeUInt32LE(1, 16);
        body.writeUInt16LE(65, 64);
        body.writeUInt16LE(0x0311, 68);
        const nb = Buffer.alloc(4);
        nb.writeUInt32BE(body.length, 0);
        s.end(Buffer.concat([nb, body]));
      });
    });
    await new Promise<void>((r) => srv.listen(this.port, '127.0.0.1', r));
    this.port = (srv.address() as AddressInfo).port;
    this.server = srv;
  }
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const srv = this.server;
    this.server = undefined;
    if (srv) await new Promise<void>((r) => srv.close(() => r()));
  }
}

function waitFor<T>(what: string, poll: () => T | undefined, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const tick = () => {
      const v = poll();
      if (v !== undefined) return resolve(v);
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

describe.each(['smb2-negotiate', 'tcp-connect'] as const)('watcher in %s mode', (mode) => {
  const smb1 = new FakeSmb();
  const smb2 = new FakeSmb();
  let watcher: HealthWatcher;

  afterEach(async () => {
    await watcher?.stop();
    await smb1.stop();
    await smb2.stop();
  });

  it('a stopped SMB server fails its node over after the threshold; a restarted one recovers it', async () => {
    await smb1.start();
    await smb2.start();
    const config = parseConfig(
      DEMO_CONFIG_YAML.replace('mode: simulated', `mode: ${mode}`)
        .replace('smbAddress: 127.0.0.11:445', `smbAddress: 127.0.0.1:${smb1.port}`)
        .replace('smbAddress: 127.0.0.12:445', `smbAddress: 127.0.0.1:${smb2.port}`)
        // Faster than the defaults so the test is short; the logic is the same.
        .replace('intervalMs: 500', 'intervalMs: 100')
        .replace('timeoutMs: 400', 'timeoutMs: 80'),
      't.yaml',
    );
    const model = createClusterModel(config);
    const events: ClusterEvent[] = [];
    model.subscribe((e) => events.push(e));
    const metrics = new WitnessdMetrics();
    watcher = new HealthWatcher({ model, config: config.watcher, metrics: healthMetricsSink(metrics) });
    const changes: HealthStateChange[] = [];
    watcher.on('state', (c: HealthStateChange) => changes.push(c));
    watcher.start();
    await waitFor('both healthy', () => (watcher.status().every((s) => s.health === 'healthy') ? true : undefined), 5000);
    expect(events).toEqual([]);

    await smb1.stop();
    await waitFor('NodeDown', () => (events.length > 0 ? true : undefined), 5000);
    expect(events).toEqual([{ type: 'NodeDown', node: 'node1', partner: 'node2', lifs: ['lif1'] }]);
    // Exactly failureThreshold consecutive failed probes declared it down.
    expect(metrics.probeResults.get({ node: 'node1', result: 'fail' })).toBeGreaterThanOrEqual(3);
    expect(changes.find((c) => c.node === 'node1' && c.to === 'down')).toMatchObject({ by: 'probe', detail: 'connection refused' });
    expect(model.lif('lif1')).toMatchObject({ currentNode: 'node2', operational: true });

    await smb1.start();
    await waitFor('NodeUp', () => (events.length > 1 ? true : undefined), 5000);
    expect(events[1]).toEqual({ type: 'NodeUp', node: 'node1', lifs: ['lif1'] });
    expect(model.lif('lif1')?.currentNode).toBe('node1');
    expect(model.node('node2')?.up).toBe(true);
  });

  if (mode === 'smb2-negotiate') {
    it('a hung SMB server (accepts, never answers) is declared down by timeouts', async () => {
      await smb1.start();
      await smb2.start();
      const config = parseConfig(
        DEMO_CONFIG_YAML.replace('mode: simulated', 'mode: smb2-negotiate')
          .replace('smbAddress: 127.0.0.11:445', `smbAddress: 127.0.0.1:${smb1.port}`)
          .replace('smbAddress: 127.0.0.12:445', `smbAddress: 127.0.0.1:${smb2.port}`)
          .replace('intervalMs: 500', 'intervalMs: 100')
          .replace('timeoutMs: 400', 'timeoutMs: 80'),
        't.yaml',
      );
      const model = createClusterModel(config);
      const events: ClusterEvent[] = [];
      model.subscribe((e) => events.push(e));
      watcher = new HealthWatcher({ model, config: config.watcher });
      watcher.start();
      await waitFor('healthy', () => (watcher.status()[1].health === 'healthy' ? true : undefined), 5000);
      smb2.mode = 'hang';
      await waitFor('NodeDown', () => (events.length > 0 ? true : undefined), 5000);
      expect(events).toEqual([{ type: 'NodeDown', node: 'node2', partner: 'node1', lifs: ['lif2'] }]);
      expect(watcher.status()[1].lastProbe?.detail).toBe('no NEGOTIATE response within 80 ms');
    });
  }
});
