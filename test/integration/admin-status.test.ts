/**
 * The status page's routes on a real admin server: the event stream (events arrive, replay
 * after a reconnect, readers leave cleanly, at most maxClients), the token rules for scripts
 * and browsers, and a slow reader cut off at its buffer bound while a fast one carries on.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { StatusFeed } from '../../src/admin/status/feed';
import { StatusStream } from '../../src/admin/status/stream';
import { WitnessdMetrics } from '../../src/admin/metrics';
import { startAdminServer, type AdminServer } from '../../src/admin/server';
import { ADMIN_ROUTES } from '../../src/admin/routes';
import { STATUS_COOKIE } from '../../src/admin/token';
import { DEMO_CONFIG_YAML, parseConfig } from '../../src/config';
import { createClusterModel, type ClusterModel } from '../../src/cluster/model';

jest.setTimeout(20_000);

const TOKEN = 'status-page-token-0123456789';

interface SseEvent {
  readonly event: string;
  readonly id?: string;
  readonly data: unknown;
}

interface Stream {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly events: SseEvent[];
  /** The first event (from the start) that matches; waits up to timeoutMs. */
  next(pred: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  readonly ended: Promise<void>;
  close(): void;
}

function parseFrame(text: string): SseEvent | undefined {
  let event = 'message';
  let id: string | undefined;
  const data: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith(':') || line === '') continue;
    const i = line.indexOf(':');
    const k = i < 0 ? line : line.slice(0, i);
    const v = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
    if (k === 'event') event = v;
    else if (k === 'id') id = v;
    else if (k === 'data') data.push(v);
  }
  return data.length ? { event, id, data: JSON.parse(data.join('\n')) } : undefined;
}

function openStream(url: string, headers: Record<string, string> = {}): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      const events: SseEvent[] = [];
      let buf = '';
      const waiters: Array<() => void> = [];
      const ended = new Promise<void>((r) => res.on('close', () => r()));
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const e = parseFrame(buf.slice(0, i));
          buf = buf.slice(i + 2);
          if (e) events.push(e);
        }
        for (const w of waiters.splice(0)) w();
      });
      res.on('error', () => undefined);
      const next = (pred: (e: SseEvent) => boolean, timeoutMs = 5000) =>
        new Promise<SseEvent>((ok, fail) => {
          const deadline = setTimeout(() => fail(new Error(`no matching event within ${timeoutMs} ms; got ${events.map((e) => e.event).join(', ')}`)), timeoutMs);
          const check = () => {
            const found = events.find(pred);
            if (found) {
              clearTimeout(deadline);
              ok(found);
            } else waiters.push(check);
          };
          check();
        });
      resolve({ status: res.statusCode ?? 0, headers: res.headers, events, next, ended, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

function request(url: string, o: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: o.method ?? 'GET', headers: o.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const bearer = { authorization: `Bearer ${TOKEN}` };

describe('status page and its event stream on the admin server', () => {
  let model: ClusterModel;
  let feed: StatusFeed;
  let admin: AdminServer;

  beforeEach(async () => {
    const config = parseConfig(DEMO_CONFIG_YAML.replace('address: 127.0.0.1:8135', `address: 127.0.0.1:8135\n  token: ${TOKEN}`), 't.yaml');
    model = createClusterModel(config);
    feed = new StatusFeed();
    model.subscribe((e) => feed.clusterEvent(e));
    admin = await startAdminServer({ model, metrics: new WitnessdMetrics(), config, feed, address: '127.0.0.1:0', statusStream: { maxClients: 3 } });
  });
  afterEach(async () => {
    await admin.close();
    feed.close();
  });

  it('a failure arrives as a timeline entry and a snapshot with the node down', async () => {
    const s = await openStream(`${admin.url}/v1/events`, bearer);
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const hello = await s.next((e) => e.event === 'hello');
    expect(hello.data).toMatchObject({ lastSeq: 0, pingMs: 15_000 });
    const first = await s.next((e) => e.event === 'snapshot');
    expect((first.data as { nodes: Array<{ name: string; up: boolean }> }).nodes.map((n) => [n.name, n.up])).toEqual([['node1', true], ['node2', true]]);
    expect(first.data).toMatchObject({ counts: null, registrations: [], registrationsListed: 0 });

    const t0 = Date.now();
    const r = await request(`${admin.url}/v1/nodes/node1/fail`, { method: 'POST', headers: bearer });
    expect(r.status).toBe(200);
    const entry = await s.next((e) => e.event === 'timeline');
    expect(entry.id).toBe('1');
    expect(entry.data).toMatchObject({ seq: 1, kind: 'cluster', type: 'NodeDown', text: 'NodeDown node1: LIFs lif1 failed over to SFO partner node2' });
    const after = await s.next((e) => e.event === 'snapshot' && (e.data as { nodes: Array<{ up: boolean }> }).nodes[0].up === false);
    expect((after.data as { lifs: Array<{ name: string; currentNode: string; operational: boolean }> }).lifs[0]).toMatchObject({ name: 'lif1', currentNode: 'node2' });
    expect(Date.now() - t0).toBeLessThan(2000);
    s.close();
  });

  it('a reconnect with Last-Event-ID gets only what it missed', async () => {
    model.failNode('node1');
    feed.flush();
    model.recoverNode('node1');
    feed.flush();
    const s = await openStream(`${admin.url}/v1/events`, { ...bearer, 'last-event-id': '1' });
    await s.next((e) => e.event === 'snapshot');
    const replayed = s.events.filter((e) => e.event === 'timeline').map((e) => (e.data as { type: string }).type);
    expect(replayed).toEqual(model.recentEvents().slice(1).map((t) => t.event.type));
    expect(replayed[0]).not.toBe('NodeDown');
    expect(s.events.some((e) => e.event === 'gap')).toBe(false);
    s.close();
  });

  it('readers that leave are forgotten: the fourth of three allowed gets 503, and a place frees when one leaves', async () => {
    const readers = await Promise.all([1, 2, 3].map(() => openStream(`${admin.url}/v1/events`, bearer)));
    await Promise.all(readers.map((r) => r.next((e) => e.event === 'snapshot')));
    const refused = await request(`${admin.url}/v1/events`, { headers: bearer });
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body).error).toMatch(/maximum of 3 readers/);
    expect(refused.headers['retry-after']).toBe('10');
    readers[0].close();
    await readers[0].ended;
    let again: Stream | undefined;
    for (let i = 0; i < 50 && !again; i++) {
      const s = await openStream(`${admin.url}/v1/events`, bearer);
      if (s.status === 200) again = s;
      else await new Promise((r) => setTimeout(r, 20));
    }
    expect(again?.status).toBe(200);
    for (const r of [...readers.slice(1), again!]) r.close();
    // Closing the server ends whatever is still open without waiting for the readers.
    const extra = await openStream(`${admin.url}/v1/events`, bearer);
    await extra.next((e) => e.event === 'snapshot');
    await admin.close();
    await extra.ended;
  });

  it('token rules: bearer for scripts; a browser logs in with ?token= and gets a GET-only cookie', async () => {
    expect((await request(`${admin.url}/healthz`)).status).toBe(200);
    const noToken = await request(`${admin.url}/v1/events`);
    expect(noToken.status).toBe(401);
    expect(JSON.parse(noToken.body).error).toMatch(/status\?token=TOKEN/);
    const page = await request(`${admin.url}/status`);
    expect(page.status).toBe(401);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('/status?token=TOKEN');
    expect((await request(`${admin.url}/status/app.js`)).status).toBe(401);
    expect((await request(`${admin.url}/status?token=wrong-token-0123456789`)).status).toBe(401);

    const login = await request(`${admin.url}/status?token=${TOKEN}`);
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/status');
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(new RegExp(`^${STATUS_COOKIE}=[0-9a-f]{64}; Path=/; HttpOnly; SameSite=Strict$`));
    expect(setCookie).not.toContain(TOKEN);
    const cookie = { cookie: setCookie.split(';')[0] };

    const html = await request(`${admin.url}/status`, { headers: cookie });
    expect(html.status).toBe(200);
    expect(html.headers['content-security-policy']).toContain("script-src 'self'");
    expect(html.body).toContain('<script src="/status/app.js" defer></script>');
    for (const [file, type] of [['app.js', 'text/javascript'], ['style.css', 'text/css']]) {
      const a = await request(`${admin.url}/status/${file}`, { headers: cookie });
      expect(a.status).toBe(200);
      expect(a.headers['content-type']).toBe(`${type}; charset=utf-8`);
      expect(a.body.length).toBeGreaterThan(500);
    }
    expect((await request(`${admin.url}/v1/status`, { headers: cookie })).status).toBe(200);
    const s = await openStream(`${admin.url}/v1/events`, cookie);
    expect(s.status).toBe(200);
    s.close();
    // The cookie reads; it never changes anything.
    const post = await request(`${admin.url}/v1/nodes/node1/fail`, { method: 'POST', headers: cookie });
    expect(post.status).toBe(401);
    expect(model.node('node1')?.up).toBe(true);
    const forged = await request(`${admin.url}/v1/status`, { headers: { cookie: `${STATUS_COOKIE}=${TOKEN}` } });
    expect(forged.status).toBe(401);
    expect((await request(`${admin.url}/`, { headers: cookie })).headers.location).toBe('/status');
    expect((await request(`${admin.url}/status`, { method: 'POST', headers: bearer })).status).toBe(405);
    expect((await request(`${admin.url}/v1/events`, { method: 'HEAD', headers: bearer })).status).toBe(405);
    const head = await request(`${admin.url}/status`, { method: 'HEAD', headers: bearer });
    expect([head.status, head.body]).toEqual([200, '']);
  });

  it('GET /v1 lists the routes', async () => {
    const r = await request(`${admin.url}/v1`, { headers: bearer });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ routes: ADMIN_ROUTES.map((x) => ({ ...x })) });
    // Each listed route exists (a POST with a bogus body is refused as such, not as unknown).
    for (const route of ADMIN_ROUTES.filter((x) => x.path !== '/v1/events')) {
      const url = admin.url + route.path.replace('NODE', 'node1').replace('LIF', 'lif1').replace('SHARE', 'vmstore');
      const a = await new Promise<number>((resolve, reject) => {
        const req = http.request(url, { method: route.method, headers: { ...bearer, 'content-type': 'application/json' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end(route.method === 'POST' ? '{"bogus": 1}' : undefined);
      });
      expect([route.method, route.path, a]).toEqual([route.method, route.path, route.method === 'POST' ? 400 : route.path === '/v1/registrations' ? 503 : 200]);
    }
  });
});

describe('a reader that does not keep up', () => {
  it('is disconnected at its buffer bound; a reader that keeps up carries on', async () => {
    const feed = new StatusFeed();
    let n = 0;
    // A changing 64 KiB state, re-sent every 5 ms: 12 MiB/s for each reader.
    const blob = 'x'.repeat(64 * 1024);
    const stream = new StatusStream({ feed, snapshot: () => ({ n: n++, blob }), limits: { maxBufferedBytes: 256 * 1024, refreshMs: 5 } });
    const server = http.createServer((req, res) => stream.attach(req, res, undefined));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      // The slow one: a socket that stops reading once the answer began.
      const slow = net.connect(port, '127.0.0.1');
      slow.write('GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n');
      await new Promise<void>((r) => slow.once('data', () => r()));
      slow.pause();
      const slowClosed = new Promise<void>((r) => slow.once('close', () => r()));
      slow.on('error', () => undefined);

      const fast = await openStream(`http://127.0.0.1:${port}/v1/events`);
      const started = Date.now();
      while (stream.dropped === 0 && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 20));
      expect(stream.dropped).toBe(1);
      expect(stream.clients).toBe(1);
      const seen = fast.events.length;
      await fast.next((e) => e.event === 'snapshot' && fast.events.indexOf(e) > seen);
      slow.resume(); // let the socket see the close
      await slowClosed;
      fast.close();
      await fast.ended;
      const t = Date.now();
      while (stream.clients > 0 && Date.now() - t < 2000) await new Promise((r) => setTimeout(r, 10));
      expect(stream.clients).toBe(0);
    } finally {
      stream.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
