/**
 * The live status page in a real browser (issue 13 item 8): the daemon (scripts/bin/witnessd.js
 * with a test config and an admin token), headless Chromium logged in with /status?token=,
 * the project's Witness client registered and waiting in AsyncNotify, then
 * `witnessctl node fail node1`: the page must show node1 down and the notification within a
 * second of the cluster event. A screenshot is kept in test-artifacts/.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WitnessClient } from '../../src/client/witness-client';
import { RESOURCE_CHANGE_NOTIFICATION, RESOURCE_STATE_UNAVAILABLE } from '../../src/gen/witness';
import { Chromium, type Page } from './helpers/chromium';
import { describeWithPeers, REPO_ROOT, runTool, startWitnessd, TEST_CLUSTER, type WitnessdInstance } from './helpers';

jest.setTimeout(120_000);

const TOKEN = 'status-page-interop-token-0123';
const CLIENT = 'status-page-client';
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');

describeWithPeers('the status page in headless Chromium', ['chromium'], () => {
  let d: WitnessdInstance;
  let browser: Chromium | undefined;
  let page: Page;
  let client: WitnessClient | undefined;
  let adminUrl: string;

  beforeAll(async () => {
    d = await startWitnessd({ logLevel: 'info', extra: { admin: { token: TOKEN } } });
    adminUrl = `http://127.0.0.1:${d.adminPort}`;
    browser = await Chromium.launch();
    page = await browser.newPage();
  }, 90_000);
  afterAll(async () => {
    await client?.stop();
    await browser?.close();
    await d?.stop();
  });

  const text = (sel: string) => `(document.querySelector(${JSON.stringify(sel)}) || {}).textContent || ''`;

  test('a waiting client, then `witnessctl node fail node1`: node1 down and the notification on the page within a second', async () => {
    // The login: ?token= sets the page's cookie and redirects to the bare /status.
    await page.navigate(`${adminUrl}/status?token=${TOKEN}`);
    await page.waitFor(`document.getElementById('connection') && document.getElementById('connection').dataset.state === 'live'`, 20_000);
    expect(await page.evaluate<string>('location.href')).toBe(`${adminUrl}/status`);
    await page.waitFor(`document.querySelector('.node[data-node="node1"][data-state="up"]')`);
    expect(await page.evaluate<string>(text('#pairs'))).toContain('SFO pair node1 ⇄ node2');

    client = new WitnessClient({ server: TEST_CLUSTER.node1.address, netName: TEST_CLUSTER.netbiosName, clientName: CLIENT, version: 1 });
    const reg = await client.start(20_000);
    // The page lists it as waiting in AsyncNotify (the periodic snapshot sees the parked call).
    await page.waitFor(`document.querySelector('#registrations tr[data-client="${CLIENT}"][data-state="waiting"]')`, 10_000);
    const row = await page.evaluate<string>(text(`#registrations tr[data-client="${CLIENT}"]`));
    expect(row).toContain(TEST_CLUSTER.node1.address);
    expect(row).toContain('SOFS');
    expect(row).toContain('V1');

    // Watch the page from before the command; the watchers resolve with the page's clock.
    const nodeDownSeen = page.waitFor(`document.querySelector('.node[data-node="node1"][data-state="down"]')`, 30_000);
    const notifiedSeen = page.waitFor(
      `[...document.querySelectorAll('#timeline li[data-kind="notifications"]')].some((li) => li.textContent.includes('${CLIENT}') && li.textContent.includes('RESOURCE_CHANGE'))`,
      30_000,
    );
    const ctl = await runTool(process.execPath, [path.join(REPO_ROOT, 'scripts', 'bin', 'witnessctl.js'), '--admin', adminUrl, '--token', TOKEN, 'node', 'fail', 'node1'], {
      timeoutMs: 60_000,
      cwd: REPO_ROOT,
    });
    expect({ code: ctl.code, stderr: ctl.stderr }).toEqual({ code: 0, stderr: '' });
    expect(ctl.stdout).toContain('NodeDown node1');

    // The client really got it.
    const n = await client.next(10_000);
    expect(n.handle).toBe(reg.handle);
    expect(n.notification).toEqual({ type: RESOURCE_CHANGE_NOTIFICATION, changes: [{ changeType: RESOURCE_STATE_UNAVAILABLE, name: 'SOFS' }] });

    const [downAt, notifiedAt] = await Promise.all([nodeDownSeen, notifiedSeen]);
    const status = await (await fetch(`${adminUrl}/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as { recentEvents: Array<{ at: string; event: { type: string } }> };
    const eventAt = Date.parse(status.recentEvents.filter((e) => e.event.type === 'NodeDown').pop()!.at);
    const figures = { nodeDownMs: downAt - eventAt, notificationMs: notifiedAt - eventAt };
    process.stderr.write(`status page: node down shown ${figures.nodeDownMs} ms, notification shown ${figures.notificationMs} ms after the cluster event\n`);
    expect(figures.nodeDownMs).toBeLessThan(1000);
    expect(figures.notificationMs).toBeLessThan(1000);

    // What a person reads.
    expect(await page.evaluate<string>(text('.node[data-node="node1"] .state-badge'))).toBe('DOWN — taken over by its partner');
    expect(await page.evaluate<string>(text('#lifs tr[data-lif="lif1"]'))).toMatch(/node2 \(moved from home\)/);
    const timeline = await page.evaluate<string>(text('#timeline'));
    expect(timeline).toContain('NodeDown node1: LIFs lif1 failed over to SFO partner node2');
    expect(timeline).toMatch(new RegExp(`1 notification sent: RESOURCE_CHANGE 1; latency [0-9.]+ (µs|ms)`));
    expect(timeline).toContain(`${CLIENT} (SOFS @ ${TEST_CLUSTER.node1.address}, V1): RESOURCE_CHANGE SOFS UNAVAILABLE in `);
    // The NodeDown entry sits below (before) the notifications it caused.
    const kinds = await page.evaluate<string[]>(`[...document.querySelectorAll('#timeline li')].map((li) => li.dataset.kind + ':' + (li.dataset.type || ''))`);
    expect(kinds.indexOf('notifications:')).toBeLessThan(kinds.indexOf('cluster:NodeDown'));

    // Markup a screen reader can follow: language, a live connection status, labelled
    // sections, column headers, and states in words (the colours only repeat them).
    const a11y = await page.evaluate<Record<string, unknown>>(`({
      lang: document.documentElement.lang,
      status: document.getElementById('connection').getAttribute('role'),
      unlabelled: [...document.querySelectorAll('section')].filter((s) => !document.getElementById(s.getAttribute('aria-labelledby') || '')).length,
      headersWithoutScope: [...document.querySelectorAll('thead th')].filter((th) => th.getAttribute('scope') !== 'col').length,
      silentBadges: [...document.querySelectorAll('.state-badge, .badge')].filter((b) => b.textContent.trim() === '').length,
    })`);
    expect(a11y).toEqual({ lang: 'en', status: 'status', unlabelled: 0, headersWithoutScope: 0, silentBadges: 0 });

    // Let the client re-arm so the screenshot shows it waiting again, then keep the picture.
    await page.waitFor(`document.querySelector('#registrations tr[data-client="${CLIENT}"][data-state="waiting"]')`, 10_000);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const shot = path.join(ARTIFACTS, 'status-page.png');
    fs.writeFileSync(shot, await page.screenshot());
    process.stderr.write(`status page screenshot: ${shot}\n`);
    expect(fs.statSync(shot).size).toBeGreaterThan(10_000);
  });

  test('when witnessd goes away the page says so instead of showing the old state as live', async () => {
    await client?.stop();
    client = undefined;
    await d.stop();
    await page.waitFor(`document.getElementById('connection').dataset.state === 'reconnecting'`, 10_000);
    expect(await page.evaluate<string>(text('#connection'))).toBe('Connection lost: reconnecting… (the state shown may be old)');
  });
});
