/**
 * The Pacemaker alert agent (scripts/pacemaker/witnessd-alert.sh) against a running witnessd
 * with the demo cluster: run with the environment Pacemaker gives an alert agent, a node
 * alert "lost" tells the node's clients RESOURCE_CHANGE UNAVAILABLE, "member" AVAILABLE, and
 * an IPaddr2 resource started on another node (resource id = LIF name) CLIENT_MOVE to it;
 * repeats (every node's agent sends the same) are quiet, and junk changes nothing. The agent
 * always exits 0. Pacemaker itself is not installed here: the agent's input is its
 * documented CRM_alert_* environment.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { DEMO_CONFIG_YAML, parseConfig } from '../../src/config';
import { startWitnessd, type Witnessd } from '../../src/cli/daemon';
import { WitnessClient } from '../../src/client/witness-client';

jest.setTimeout(60_000);

const AGENT = path.resolve(__dirname, '../../scripts/pacemaker/witnessd-alert.sh');
const TOKEN = 'pacemaker-test-token-0123456789';

describe('Pacemaker alert agent → witnessd admin API', () => {
  let d: Witnessd;
  let dir: string;
  const clients: WitnessClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'witnessd-pcmk-'));
    writeFileSync(path.join(dir, 'token'), `${TOKEN}\n`);
    const yaml = DEMO_CONFIG_YAML.replace('admin:\n  address: 127.0.0.1:8135', `admin:\n  address: 127.0.0.1:8135\n  token: ${TOKEN}`);
    d = await startWitnessd(parseConfig(yaml, 'pcmk.yaml'), { logger: pino({ level: 'silent' }), epmPort: 0, witnessPort: 0, adminAddress: '127.0.0.1:0' });
  });
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.stop()));
    await d?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Run the agent as Pacemaker does: one process per alert, CRM_alert_* and the alert's options in the environment. */
  // Not spawnSync: witnessd runs in this process and must answer while the agent waits.
  function alert(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      execFile('/bin/sh', [AGENT], {
        encoding: 'utf8', timeout: 20_000,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CRM_alert_recipient: d.admin.url, witnessd_token_file: path.join(dir, 'token'), CRM_alert_version: '2.1.5', ...env },
      }, (err, _stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr }));
    });
  }

  it('node lost → UNAVAILABLE; again → quiet; member → AVAILABLE; IPaddr2 started elsewhere → CLIENT_MOVE; junk → nothing', async () => {
    // A client whose SMB session is on lif1 (node1), watching through node2's LIF.
    const c = new WitnessClient({ server: '127.0.0.12', ipAddress: '127.0.0.11', witnessAddress: '127.0.0.12', netName: 'SOFS', clientName: 'hv-pcmk', version: 1, epmPort: d.epmEndpoint?.port, retryDelayMs: 100 });
    clients.push(c);
    await c.start();

    const lost = await alert({ CRM_alert_kind: 'node', CRM_alert_node: 'node1', CRM_alert_nodeid: '1', CRM_alert_desc: 'lost' });
    expect(lost.code).toBe(0);
    expect(lost.stderr).toMatch(/POST \/v1\/nodes\/node1\/fail: done/);
    expect((await c.next(10_000)).notification).toEqual({ type: 1, changes: [{ changeType: 0xff, name: 'SOFS' }] });
    expect(d.model.node('node1')?.up).toBe(false);

    // The same alert from another node's agent: already so, nothing more sent.
    const again = await alert({ CRM_alert_kind: 'node', CRM_alert_node: 'node1', CRM_alert_desc: 'lost' });
    expect([again.code, again.stderr]).toEqual([0, expect.stringMatching(/already so \(409\)/)]);

    expect((await alert({ CRM_alert_kind: 'node', CRM_alert_node: 'node1', CRM_alert_desc: 'member' })).code).toBe(0);
    expect((await c.next(10_000)).notification).toEqual({ type: 1, changes: [{ changeType: 1, name: 'SOFS' }] });
    expect(d.model.node('node1')?.up).toBe(true);

    // Pacemaker started the lif1 address (IPaddr2 resource "lif1") on node2: clients move there.
    const moved = await alert({ CRM_alert_kind: 'resource', CRM_alert_node: 'node2', CRM_alert_rsc: 'lif1', CRM_alert_task: 'start', CRM_alert_rc: '0', CRM_alert_target_rc: '0', CRM_alert_interval: '0' });
    expect(moved.code).toBe(0);
    expect((await c.next(10_000)).notification).toMatchObject({ type: 2, addresses: [expect.objectContaining({ ipv4: '127.0.0.12' })] });
    expect(d.model.lif('lif1')?.currentNode).toBe('node2');

    // Junk and what the agent ignores: a monitor, a failed start, fencing, a name with a slash, no recipient.
    const before = d.model.recentEvents().length;
    for (const env of <Array<Record<string, string>>>[
      { CRM_alert_kind: 'resource', CRM_alert_node: 'node1', CRM_alert_rsc: 'lif1', CRM_alert_task: 'monitor', CRM_alert_rc: '0' },
      { CRM_alert_kind: 'resource', CRM_alert_node: 'node1', CRM_alert_rsc: 'lif1', CRM_alert_task: 'start', CRM_alert_rc: '1' },
      { CRM_alert_kind: 'fencing', CRM_alert_node: 'node2', CRM_alert_task: 'reboot', CRM_alert_rc: '0' },
      { CRM_alert_kind: 'node', CRM_alert_node: '../v1/reload', CRM_alert_desc: 'lost' },
      { CRM_alert_kind: 'node', CRM_alert_node: 'node2', CRM_alert_desc: 'lost', CRM_alert_recipient: '' },
    ]) expect((await alert(env)).code).toBe(0);
    expect(d.model.recentEvents().length).toBe(before);
    expect(d.model.node('node2')?.up).toBe(true);
  });

  it('an unreachable witnessd: the agent still exits 0, within its time limit, and says why', () => {
    const t0 = Date.now();
    const r = spawnSync('/bin/sh', [AGENT], {
      encoding: 'utf8', timeout: 20_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CRM_alert_recipient: 'http://127.0.0.1:9', CRM_alert_kind: 'node', CRM_alert_node: 'node1', CRM_alert_desc: 'lost', WITNESSD_ALERT_TIMEOUT: '2' },
    });
    expect(r.status).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(r.stderr).toMatch(/witnessd-alert: POST \/v1\/nodes\/node1\/fail: .*(refused|Couldn't connect|Failed to connect)/i);
  });
});
