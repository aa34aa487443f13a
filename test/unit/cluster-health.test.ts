import { WitnessdMetrics, healthMetricsSink } from '../../src/admin/metrics';
import { demoConfig, parseConfig, DEMO_CONFIG_YAML } from '../../src/config';
import { HealthWatcher, type HealthStateChange } from '../../src/cluster/health';
import { createClusterModel, type ClusterModel } from '../../src/cluster/model';
import type { ProbeResult, ProbeTarget } from '../../src/cluster/probes/probe';
import type { ClusterEvent } from '../../src/cluster/types';

const probingConfig = () => parseConfig(DEMO_CONFIG_YAML.replace('mode: simulated', 'mode: tcp-connect'), 't.yaml');

/** A probe whose answer per node is set by the test. */
function scripted() {
  const healthy = new Map<string, boolean>([['127.0.0.11', true], ['127.0.0.12', true]]);
  const calls: ProbeTarget[] = [];
  const probe = async (t: ProbeTarget): Promise<ProbeResult> => {
    calls.push(t);
    return healthy.get(t.host) ? { ok: true, detail: 'ok' } : { ok: false, detail: 'connection refused' };
  };
  return { healthy, calls, probe };
}

function setup() {
  const model = createClusterModel(probingConfig());
  const events: ClusterEvent[] = [];
  model.subscribe((e) => events.push(e));
  const s = scripted();
  const metrics = new WitnessdMetrics();
  const cfg = { ...probingConfig().watcher, failureThreshold: 3, recoveryThreshold: 2 };
  const watcher = new HealthWatcher({ model, config: cfg, probe: s.probe, metrics: healthMetricsSink(metrics) });
  const changes: HealthStateChange[] = [];
  watcher.on('state', (c: HealthStateChange) => changes.push(c));
  return { model, events, watcher, changes, metrics, ...s };
}

async function rounds(w: HealthWatcher, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await w.probeAll();
}

describe('hysteresis', () => {
  it('probes every node at its smbAddress; first good probe makes it healthy', async () => {
    const { watcher, calls, changes, events } = setup();
    await rounds(watcher, 1);
    expect(calls).toEqual([{ host: '127.0.0.11', port: 445 }, { host: '127.0.0.12', port: 445 }]);
    expect(watcher.status().map((s) => s.health)).toEqual(['healthy', 'healthy']);
    expect(changes.map((c) => `${c.node}:${c.from}->${c.to}`)).toEqual(['node1:unknown->healthy', 'node2:unknown->healthy']);
    expect(events).toEqual([]);
  });

  it('one or two lost probes never fail a node over; the third does', async () => {
    const { watcher, healthy, events, model } = setup();
    await rounds(watcher, 1);
    healthy.set('127.0.0.11', false);
    await rounds(watcher, 2);
    expect(events).toEqual([]);
    healthy.set('127.0.0.11', true); // a good probe resets the count
    await rounds(watcher, 1);
    healthy.set('127.0.0.11', false);
    await rounds(watcher, 2);
    expect(events).toEqual([]);
    await rounds(watcher, 1);
    expect(events).toEqual([{ type: 'NodeDown', node: 'node1', partner: 'node2', lifs: ['lif1'] }]);
    expect(model.node('node1')?.up).toBe(false);
    await rounds(watcher, 3);
    expect(events).toHaveLength(1); // down stays down without repeating
  });

  it('recovery needs recoveryThreshold good probes, then the node is recovered in the model', async () => {
    const { watcher, healthy, events, model, metrics } = setup();
    await rounds(watcher, 1);
    healthy.set('127.0.0.12', false);
    await rounds(watcher, 3);
    healthy.set('127.0.0.12', true);
    await rounds(watcher, 1);
    expect(model.node('node2')?.up).toBe(false);
    await rounds(watcher, 1);
    expect(model.node('node2')?.up).toBe(true);
    expect(events.map((e) => e.type)).toEqual(['NodeDown', 'NodeUp']);
    expect(metrics.probeResults.get({ node: 'node2', result: 'fail' })).toBe(3);
    expect(metrics.probeResults.get({ node: 'node2', result: 'ok' })).toBe(3);
    expect(metrics.nodeStateChanges.get({ node: 'node2', to: 'down', by: 'probe' })).toBe(1);
  });

  it('a node dead from the start is failed over after the threshold', async () => {
    const { watcher, healthy, events } = setup();
    healthy.set('127.0.0.11', false);
    await rounds(watcher, 3);
    expect(events).toEqual([{ type: 'NodeDown', node: 'node1', partner: 'node2', lifs: ['lif1'] }]);
  });
});

describe('operator overrides', () => {
  it('node fail holds the node down whatever the probes say, node recover hands it back to the probes', async () => {
    const { watcher, healthy, events, model, changes } = setup();
    await rounds(watcher, 1);
    watcher.operatorFail('node1');
    expect(model.node('node1')?.up).toBe(false);
    await rounds(watcher, 5); // probes are good but the operator holds it down
    expect(model.node('node1')?.up).toBe(false);
    expect(watcher.status()[0]).toMatchObject({ health: 'down', heldDownByOperator: true });
    watcher.operatorRecover('node1');
    expect(model.node('node1')?.up).toBe(true);
    expect(events.map((e) => e.type)).toEqual(['NodeDown', 'NodeUp']);
    // Its SMB server really is dead: the probes fail it again after the threshold.
    healthy.set('127.0.0.11', false);
    await rounds(watcher, 3);
    expect(events.map((e) => e.type)).toEqual(['NodeDown', 'NodeUp', 'NodeDown']);
    expect(changes.filter((c) => c.node === 'node1').map((c) => `${c.to}/${c.by}`)).toEqual([
      'healthy/probe', 'down/operator', 'unknown/operator', 'down/probe',
    ]);
  });

  it('operator commands on a bad node throw and change nothing', async () => {
    const { watcher, model } = setup();
    expect(() => watcher.operatorFail('node9')).toThrow(/no node node9/);
    expect(() => watcher.operatorRecover('node1')).toThrow(/already up/);
    expect(model.nodes().every((n) => n.up)).toBe(true);
  });

  it('a probe-driven recovery does not undo a planned takeover', async () => {
    const { watcher, model, events } = setup();
    await rounds(watcher, 1);
    model.takeover('node1');
    await rounds(watcher, 4);
    expect(model.node('node1')).toMatchObject({ up: false, takenOver: true });
    expect(events.map((e) => e.type)).toEqual(['LifMoving', 'LifMoved']);
  });
});

describe('modes and lifecycle', () => {
  it('simulated mode never probes', async () => {
    const model: ClusterModel = createClusterModel(demoConfig());
    const s = scripted();
    const w = new HealthWatcher({ model, config: demoConfig().watcher, probe: s.probe });
    w.start();
    await w.probeAll();
    await w.stop();
    expect(s.calls).toEqual([]);
    expect(w.status().map((x) => x.target)).toEqual([undefined, undefined]);
    w.operatorFail('node2');
    expect(model.node('node2')?.up).toBe(false);
  });

  it('start probes on its interval, stop ends it', async () => {
    const { watcher, calls } = setup();
    await watcher.reconfigure({ ...probingConfig().watcher, intervalMs: 50, timeoutMs: 40 });
    watcher.start();
    await new Promise((r) => setTimeout(r, 180));
    await watcher.stop();
    const n = calls.length;
    expect(n).toBeGreaterThanOrEqual(4); // first round at once, then every 50 ms, two nodes each
    await new Promise((r) => setTimeout(r, 120));
    expect(calls.length).toBe(n);
  });

  it('a probe that throws counts as a failure', async () => {
    const model = createClusterModel(probingConfig());
    const w = new HealthWatcher({ model, config: { ...probingConfig().watcher, failureThreshold: 1 }, probe: async () => { throw new Error('kaput'); } });
    await w.probeAll();
    expect(w.status()[0].lastProbe).toMatchObject({ ok: false, detail: 'probe error: kaput' });
    expect(model.node('node1')?.up).toBe(false);
  });
});

describe('logging', () => {
  it('one JSON line per probe-result change, per state change and per cluster event', async () => {
    const pino = (await import('pino')).default;
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
    const model = createClusterModel(probingConfig(), { logger });
    const s = scripted();
    const w = new HealthWatcher({ model, config: { ...probingConfig().watcher, failureThreshold: 2 }, probe: s.probe, logger });
    await w.probeAll();
    s.healthy.set('127.0.0.11', false);
    await w.probeAll();
    await w.probeAll(); // same result again: logged at debug only
    const msgs = lines.map((l) => l.msg);
    expect(msgs).toEqual([
      'probe node1: ok',
      'node node1 unknown -> healthy (probe: ok)',
      'probe node2: ok',
      'node node2 unknown -> healthy (probe: ok)',
      'probe node1: connection refused',
      'node node1 healthy -> down (probe: connection refused)',
      'cluster event NodeDown',
    ]);
    expect(lines[5]).toMatchObject({ level: 40, node: 'node1', from: 'healthy', to: 'down', by: 'probe' });
    expect(lines[6]).toMatchObject({ event: { type: 'NodeDown', node: 'node1', partner: 'node2', lifs: ['lif1'] } });
  });
});
