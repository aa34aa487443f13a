/**
 * The node-health watcher against a REAL Samba smbd (INTEROP.md "A real smbd beside
 * witnessd"): one smbd per node on the demo node addresses, our hand-written SMB2 NEGOTIATE
 * probe with the default watcher settings. smbd negotiates SMB 3.1.1 with our request;
 * stopping node1's smbd fails node1 over to node2 (NodeDown); starting it again recovers it.
 */
import { DEMO_CONFIG_YAML, parseConfig } from '../../src/config';
import { HealthWatcher, type HealthStateChange } from '../../src/cluster/health';
import { createClusterModel } from '../../src/cluster/model';
import { smb2NegotiateProbe } from '../../src/cluster/probes/smb2';
import { tcpConnectProbe } from '../../src/cluster/probes/tcp';
import type { ClusterEvent } from '../../src/cluster/types';
import { describeWithPeers, startSmbd, type SmbdInstance } from './helpers';

jest.setTimeout(90_000);

/** Scheduling slack on a shared 2-core machine; the requirement itself is 2 s. */
const SLACK_MS = 3000;

function waitFor<T>(what: string, poll: () => T | undefined, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const tick = () => {
      const v = poll();
      if (v !== undefined) return resolve(v);
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

describeWithPeers('health watcher probing a real smbd', ['smbd', 'ip'], () => {
  let smbd1: SmbdInstance | undefined;
  let smbd2: SmbdInstance | undefined;
  let watcher: HealthWatcher | undefined;

  beforeAll(async () => {
    smbd1 = await startSmbd({ addresses: ['127.0.0.11'], netbiosName: 'NODE1', lifetimeMs: 5 * 60_000 });
    smbd2 = await startSmbd({ addresses: ['127.0.0.12'], netbiosName: 'NODE2', lifetimeMs: 5 * 60_000 });
  });
  afterAll(async () => {
    await watcher?.stop();
    await smbd1?.dispose();
    await smbd2?.dispose();
  });

  it('smbd answers our SMB2 NEGOTIATE with SMB 3.1.1', async () => {
    const r = await smb2NegotiateProbe({ host: '127.0.0.11', port: 445 }, 2000);
    expect(r).toEqual({ ok: true, detail: 'SMB 3.1.1 negotiated', dialect: '3.1.1' });
    expect(await tcpConnectProbe({ host: '127.0.0.12', port: 445 }, 2000)).toEqual({ ok: true, detail: 'TCP connection accepted' });
  });

  it('stopping smbd on node1 fails node1 over (default settings), starting it recovers node1', async () => {
    const config = parseConfig(DEMO_CONFIG_YAML.replace('mode: simulated', 'mode: smb2-negotiate'), 'interop.yaml');
    expect(config.watcher).toEqual({ mode: 'smb2-negotiate', intervalMs: 500, timeoutMs: 400, failureThreshold: 3, recoveryThreshold: 2 });
    const model = createClusterModel(config);
    const events: ClusterEvent[] = [];
    const at: number[] = [];
    model.subscribe((e) => {
      events.push(e);
      at.push(Date.now());
    });
    watcher = new HealthWatcher({ model, config: config.watcher });
    const changes: HealthStateChange[] = [];
    watcher.on('state', (c: HealthStateChange) => changes.push(c));
    watcher.start();
    await waitFor('both nodes healthy', () => (watcher!.status().every((s) => s.health === 'healthy') ? true : undefined), 10_000);
    expect(watcher.status().map((s) => s.lastProbe?.detail)).toEqual(['SMB 3.1.1 negotiated', 'SMB 3.1.1 negotiated']);

    const stopAt = Date.now();
    await smbd1!.stop(); // returns once port 445 on 127.0.0.11 refuses
    const stoppedAt = Date.now();
    await waitFor('NodeDown', () => (events.length > 0 ? true : undefined), 2000 + SLACK_MS);
    expect(events).toEqual([{ type: 'NodeDown', node: 'node1', partner: 'node2', lifs: ['lif1'] }]);
    const detection = at[0] - stopAt;
    // Declared down within the 2 s requirement from the moment the port is known dead.
    expect(at[0] - stoppedAt).toBeLessThan(2000 + SLACK_MS);
    expect(changes.find((c) => c.node === 'node1' && c.to === 'down')?.by).toBe('probe');
    expect(model.node('node2')?.up).toBe(true);
    expect(model.lif('lif1')).toMatchObject({ currentNode: 'node2', operational: true });

    const startAt = Date.now();
    await smbd1!.restart();
    await waitFor('NodeUp', () => (events.length > 1 ? true : undefined), 30_000);
    expect(events[1]).toEqual({ type: 'NodeUp', node: 'node1', lifs: ['lif1'] });
    expect(model.lif('lif1')?.currentNode).toBe('node1');
    // For the record (not asserted as speed): stop → NodeDown includes smbd's own shutdown.
    process.stderr.write(`watcher-smbd: smbd stop begun -> NodeDown ${detection} ms (port closed -> NodeDown ${at[0] - stoppedAt} ms); smbd start -> NodeUp ${at[1] - startAt} ms\n`);
  });
});
