/**
 * The operator's views and commands tell the truth in CTDB mode (issue 22 item 6), against
 * witnessd with the CTDB source on a fake ctdbd:
 * - `witnessctl node fail` is refused (CTDB decides node states) and changes nothing;
 * - `client move` to a node that serves no public IP is refused (exit 1), and nobody is told;
 * - the findings hold no SFO-pair warning (CTDB nodes have no partners), and `witnessctl
 *   status` shows CTDB's nodes with CTDB's flags and public IPs without a home;
 * - a dead ctdbd shows in /v1/status and `witnessctl status` as the source's own health, not a
 *   stale "all OK";
 * - `--check-config` reports an unreachable ctdbd socket as an error and no "simulated
 *   watcher" warning (ctdbd judges the nodes in this mode).
 */
import pino from 'pino';
import { parseConfig } from '../../src/config';
import { CtdbSrvid } from '../../src/cluster/ctdb/protocol';
import { startWitnessd, type Witnessd } from '../../src/cli/daemon';
import { checkConfig } from '../../src/cli/check-config';
import { main as witnessctl } from '../../src/cli/witnessctl';
import { WitnessClient } from '../../src/client/witness-client';
import { FakeCtdbd } from '../unit/ctdb/fake-ctdbd';

jest.setTimeout(60_000);

const NET = '127.67.0';
const TOKEN = 'operator-token-0123456789abcdef';
const YAML = `
cluster:
  source: ctdb
  nodemapPollMs: 20
  controlTimeoutMs: 500
  reconnectMinMs: 50
  reconnectMaxMs: 200
  server: { netbiosName: SOFS, dnsName: sofs.ctdb.test }
  shares: [{ name: data }]
watcher: { mode: simulated }
auth: { allowAnonymous: true }
admin: { token: ${TOKEN} }
`;

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('operator views and commands in CTDB mode', () => {
  let fake: FakeCtdbd;
  let d: Witnessd;
  const clients: WitnessClient[] = [];

  beforeEach(async () => {
    fake = await FakeCtdbd.start(NET);
    d = await startWitnessd(parseConfig(YAML, 'ctdb.yaml'), {
      logger: pino({ level: 'silent' }), epmPort: 0, witnessPort: 0, ctdbSocket: fake.path, adminAddress: `${NET}.22:0`,
    });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.stop()));
    await d.close();
    await fake.dispose();
  });

  async function ctl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await witnessctl([...args, '--admin', d.admin.url, '--token', TOKEN], { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`), env: {} });
    return { code, out, err };
  }

  it('node fail / recover are refused: CTDB decides node states; nothing changes', async () => {
    const r = await ctl('node', 'fail', 'pnn0');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/CTDB decides node states: run `ctdb -n 0 stop`/);
    expect(d.model.node('pnn0')?.up).toBe(true);
    expect((await ctl('node', 'recover', 'pnn0')).err).toMatch(/CTDB decides node states/);
    expect(d.model.recentEvents()).toEqual([]);
  });

  it('client move to a node that serves no public IP is refused, and the client hears nothing', async () => {
    // CTDB puts node 2's IP on node 0: node 2 serves nothing now.
    fake.place(`${NET}.33`, 0);
    fake.message(CtdbSrvid.IPREALLOCATED);
    await waitFor(() => d.model.lif(`${NET}.33`)?.currentNode === 'pnn0');
    const c = new WitnessClient({ server: `${NET}.22`, ipAddress: `${NET}.32`, witnessAddress: `${NET}.22`, netName: 'SOFS', clientName: 'hv-move', version: 1, epmPort: d.epmEndpoint?.port, retryDelayMs: 100 });
    clients.push(c);
    await c.start();
    await waitFor(() => d.witness.admin.counts().pendingAsyncNotify === 1);

    const r = await ctl('client', 'move', '--client', 'hv-move', '--to', 'pnn2', '--local');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/node pnn2 serves no address now .*: a client cannot be moved there/);
    await expect(c.next(300)).rejects.toThrow(/no notification/);
    // To a node that serves one, it works and says so.
    const ok = await ctl('client', 'move', '--client', 'hv-move', '--to', 'pnn0', '--local');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/told 1 registration/);
    expect((await c.next(5000)).notification).toMatchObject({ type: 2 });
  });

  it('findings: no SFO-pair warning; status and witnessctl status show the source\'s health, and a dead ctdbd', async () => {
    expect(d.model.findings().filter((f) => /SFO/.test(f.message))).toEqual([]);
    const before = await ctl('status');
    expect(before.out).toMatch(/cluster source: ctdb: connected to ctdbd at /);
    expect(before.out).not.toMatch(/SFO|simulated|HOME/i);
    expect(before.out).toMatch(/NODE\s+STATE\s+CTDB\s+SMB SERVER\n\s+pnn0\s+up\s+OK\s+127\.67\.0\.21:445/);
    expect(before.out).toMatch(/Public IPs:\n\s+PUBLIC IP\s+NODE\s+STATE\n\s+127\.67\.0\.31\s+pnn0\s+available/);

    await fake.stop(); // ctdbd dies under a running witnessd
    const status = async () => (await (await fetch(`${d.admin.url}/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { source: { health: { ok: boolean; detail: string } } };
    await waitFor(async () => (await status()).source.health.ok === false);
    expect((await status()).source.health.detail).toMatch(/lost ctdbd at .* reconnecting; the node states and IPs shown are from before/);
    const after = await ctl('status');
    expect(after.out).toMatch(/cluster source: ctdb: NOT HEALTHY: lost ctdbd/);

    await fake.restart();
    await waitFor(async () => (await status()).source.health.ok === true);
  });

  it('--check-config: an unreachable ctdbd socket is an error; no "simulated watcher" warning in CTDB mode', async () => {
    const config = parseConfig(YAML, 'ctdb.yaml');
    const bad = await checkConfig(config, { ctdbSocket: `${fake.path}.missing`, testparm: '/nonexistent/testparm' });
    expect(bad.filter((f) => f.severity === 'error').map((f) => f.message)).toEqual([expect.stringMatching(/^ctdbd does not answer on .*\.missing \(ENOENT\)/)]);
    expect(bad.some((f) => /simulated/.test(f.message))).toBe(false);
    const good = await checkConfig(config, { ctdbSocket: fake.path, testparm: '/nonexistent/testparm' });
    expect(good.some((f) => /ctdbd/.test(f.message))).toBe(false);
  });
});
