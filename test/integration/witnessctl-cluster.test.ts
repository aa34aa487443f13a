/**
 * witnessctl's cluster-wide view in CTDB mode (src/admin/cluster-view.ts), against three small
 * HTTP servers that answer like the admin API of three CTDB nodes (127.0.0.1–3, one port: on
 * Linux the whole 127/8 is local). The real daemons on a real CTDB cluster are in
 * test/interop/ctdb.test.ts; this pins the fan-out itself: the node asked names its peers,
 * every node is asked with the cluster token, answers are merged with the node holding each
 * registration, a node that does not answer is named, and --local keeps to one node.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { main } from '../../src/cli/witnessctl';
import { ctdbView, formatCtdb, nodeOk } from '../../src/admin/cluster-view';

const TOKEN = 'cluster-view-test-token';
const ADDRESSES = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];

interface Node {
  readonly server: http.Server;
  readonly seen: string[];
}

function ctdbStatus(pnn: number): unknown {
  return {
    config: '/etc/witnessd/witnessd.yaml',
    nodes: [],
    svms: [],
    lifs: [],
    shares: [],
    findings: [],
    source: {
      name: 'ctdb',
      health: { ok: true, detail: 'connected to ctdbd' },
      pnn,
      nodes: ADDRESSES.map((address, i) => ({ name: `pnn${i}`, pnn: i, address, flags: i === 2 ? ['DISCONNECTED', 'UNHEALTHY'] : ['OK'] })),
      ips: [
        { address: '10.0.0.31', node: 'pnn0' },
        { address: '10.0.0.32', node: 'pnn1' },
        { address: '10.0.0.33', node: undefined },
      ],
    },
  };
}

async function startNode(pnn: number, port: number): Promise<Node> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? '-'}`);
    const send = (code: number, body: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(401, { error: 'token' });
    if (req.url === '/v1/status') return send(200, ctdbStatus(pnn));
    if (req.url?.startsWith('/v1/registrations')) return send(200, { registrations: [{ id: `id-${pnn}`, clientName: `client-${pnn}`, ipAddress: '10.0.0.31' }] });
    if (req.url === '/v1/clients/move') {
      let text = '';
      req.on('data', (d) => (text += d));
      req.on('end', () => {
        const { client } = JSON.parse(text) as { client: string };
        if (client === `client-${pnn}`) send(200, { events: [{ type: 'ClientMoveRequested', client, to: 'pnn0' }] });
        else send(404, { error: `no registration of client ${client}` });
      });
      return;
    }
    return send(404, { error: 'no such route' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ADDRESSES[pnn], () => resolve());
  });
  return { server, seen };
}

async function ctl(args: string[], port: number): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['--admin', `http://127.0.0.1:${port}`, '--token', TOKEN, '--timeout', '2000', ...args], {
    out: (t) => (out += `${t}\n`),
    err: (t) => (err += `${t}\n`),
    env: {},
  });
  return { code, out, err };
}

describe('witnessctl cluster-wide view (CTDB mode) over every node\'s admin API', () => {
  const nodes: Node[] = [];
  let port = 0;

  beforeAll(async () => {
    // Node 0 picks a free port; node 1 uses the same one on its own address. Node 2 is
    // "DISCONNECTED" and not listening at all.
    nodes.push(await startNode(0, 0));
    port = (nodes[0].server.address() as AddressInfo).port;
    nodes.push(await startNode(1, port));
  });

  afterAll(async () => {
    await Promise.all(nodes.map((n) => new Promise((r) => n.server.close(r))));
  });

  test('registrations list merges every node, names the node holding each, and names the node that did not answer', async () => {
    const r = await ctl(['registrations', 'list', '--json'], port);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.out) as { registrations: Array<{ clientName: string; heldBy: string }>; unreachable: Array<{ node: string }> };
    expect(body.registrations.map((x) => [x.clientName, x.heldBy])).toEqual([['client-0', 'pnn0'], ['client-1', 'pnn1']]);
    expect(body.unreachable.map((u) => u.node)).toEqual(['pnn2']);
    expect(nodes[1].seen.some((l) => l.startsWith('GET /v1/registrations') && l.endsWith(`Bearer ${TOKEN}`))).toBe(true);
    const text = await ctl(['registrations', 'list'], port);
    expect(text.out).toMatch(/HELD BY/);
    expect(text.out).toMatch(/node pnn2 did not answer/);
  });

  test('--local asks only the node given', async () => {
    const before = nodes[1].seen.length;
    const r = await ctl(['registrations', 'list', '--local', '--json'], port);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as { registrations: unknown[] }).registrations).toHaveLength(1);
    expect(nodes[1].seen.length).toBe(before);
  });

  test('client move reaches the node that holds the client; it fails only when no node did it', async () => {
    const r = await ctl(['client', 'move', '--client', 'client-1', '--to', 'pnn0'], port);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/pnn1: .*client-1/);
    expect(nodes[1].seen.some((l) => l.startsWith('POST /v1/clients/move'))).toBe(true);
    const none = await ctl(['client', 'move', '--client', 'nobody', '--to', 'pnn0'], port);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/no node did it/);
    expect(none.err).toMatch(/pnn2: /);
  });

  test('status shows CTDB\'s node map and where each public IP is', async () => {
    const r = await ctl(['status'], port);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/CTDB node map \(this node: pnn0\)/);
    expect(r.out).toMatch(/pnn2\s+127\.0\.0\.3\s+DISCONNECTED,UNHEALTHY/);
    expect(r.out).toMatch(/10\.0\.0\.33\s+\(unhosted\)/);
  });

  test('ctdbView / nodeOk / formatCtdb on their own', () => {
    expect(ctdbView({ nodes: [] })).toBeUndefined();
    const v = ctdbView(ctdbStatus(1))!;
    expect(v.pnn).toBe(1);
    expect(v.nodes.map(nodeOk)).toEqual([true, true, false]);
    expect(formatCtdb(v).split('\n')[0]).toBe('CTDB node map (this node: pnn1):');
  });

  describe('takeover with the ctdb tool', () => {
    const saved = process.env.PATH;
    let dir = '';
    /** A `ctdb` on PATH that logs its arguments and fails the verbs given. */
    function fakeCtdb(failing: string[]): string {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-ctdb-'));
      const tool = path.join(dir, 'ctdb');
      fs.writeFileSync(tool, `#!/bin/sh\nprintf "%s\\n" "$*" >> ${dir}/calls\nfor v in ${failing.join(' ')}; do [ "$3" = "$v" ] && { echo "connect to ctdbd: No such file" >&2; exit 1; }; done\nexit 0\n`, { mode: 0o755 });
      process.env.PATH = `${dir}:${saved}`;
      return path.join(dir, 'calls');
    }
    afterEach(() => {
      process.env.PATH = saved;
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test('a ctdb tool that does not work here: refused before any CLIENT_MOVE', async () => {
      const calls = fakeCtdb(['status']);
      const moves = () => nodes.flatMap((n) => n.seen).filter((l) => l.startsWith('POST /v1/clients/move')).length;
      const before = moves();
      const r = await ctl(['takeover', 'pnn1', '--grace-ms', '0'], port);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/takeover pnn1: refused before telling any client: the ctdb tool does not work where witnessctl runs/);
      expect(moves()).toBe(before);
      expect(fs.readFileSync(calls, 'utf8').trim().split('\n')).toEqual(['-n 1 status']);
    });

    test('ctdb disable failing after CLIENT_MOVE went out: exit 1, and it says what was already sent', async () => {
      const calls = fakeCtdb(['disable']);
      const r = await ctl(['takeover', 'pnn0', '--grace-ms', '0'], port);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/takeover pnn0: CLIENT_MOVE to pnn1 was already sent to 2 registration\(s\), but ctdb -n 0 disable failed: .*the IPs did not move; run `ctdb -n 0 disable` now/);
      expect(fs.readFileSync(calls, 'utf8').trim().split('\n')).toEqual(['-n 0 status', '-n 0 disable']);
    });
  });
});
