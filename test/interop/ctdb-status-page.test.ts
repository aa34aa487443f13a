/**
 * The status page in CTDB mode, as a new administrator reads it, on the real three-node CTDB
 * cluster with witnessd on every node (helpers/ctdb-cluster.ts, ctdb-witnessd.ts) and headless
 * Chromium on node 0's admin API (issue 22 item 6):
 * - a registration held by node 1 (a real rpcclient registered there) is listed on node 0's
 *   page, with the node holding it;
 * - no "no SFO partner" finding, no SFO pairs, no "health: simulated", no "moved from home":
 *   CTDB's nodes with CTDB's flags, and its public IPs with the nodes that may host them;
 * - node 0's ctdbd killed under its witnessd: the page says the source lost ctdbd (no stale
 *   "all OK"), and says it is healthy again once ctdbd is back.
 */
import { Chromium, type Page } from './helpers/chromium';
import { CtdbCluster, nodeAddress, publicIp } from './helpers/ctdb-cluster';
import { CTDB_ADMIN_TOKEN, CTDB_CREDENTIALS, CTDB_SERVER, adminUrl, killWitnessds, waitWitnessdUp, witnessdClusterOptions } from './helpers/ctdb-witnessd';
import { describeWithPeers, InteractiveRpcclient, onEmergencyExit, rpcclientTarget } from './helpers';

describeWithPeers('the status page on a three-node CTDB cluster, in headless Chromium', ['ctdbd', 'ctdb', 'rpcclient', 'ip', 'chromium'], () => {
  let cluster: CtdbCluster | undefined;
  let unregister: (() => void) | undefined;
  let browser: Chromium | undefined;
  let page: Page;
  let rc: InteractiveRpcclient | undefined;
  let handle = '';

  beforeAll(async () => {
    cluster = await CtdbCluster.start(witnessdClusterOptions());
    const c = cluster;
    unregister = onEmergencyExit(() => killWitnessds(c));
    await waitWitnessdUp(cluster);
    await cluster.waitAllOk(120_000);
    await cluster.placeIps(60_000);
    // A client registered at node 1 for node 2's public IP: node 0 holds no registration.
    const t = rpcclientTarget(nodeAddress(1), 'sign', CTDB_CREDENTIALS);
    rc = InteractiveRpcclient.start(t.binding, t.user, 10 * 60_000);
    handle = await rc.register(`-n ${CTDB_SERVER.netbiosName} -i ${publicIp(2)} -c page-client`, 15_000, 'Register');
    browser = await Chromium.launch();
    page = await browser.newPage();
  }, 300_000);

  afterAll(async () => {
    await rc?.stop();
    await browser?.close();
    if (cluster) {
      await cluster.stop();
      killWitnessds(cluster);
    }
    unregister?.();
  }, 60_000);

  const text = (sel: string) => `(document.querySelector(${JSON.stringify(sel)}) || {}).textContent || ''`;

  test('node 0\'s page lists the registration node 1 holds, and CTDB\'s nodes and IPs without SFO-pair warnings', async () => {
    expect(handle).toMatch(/:/);
    await page.navigate(`${adminUrl(0)}/status?token=${CTDB_ADMIN_TOKEN}`);
    await page.waitFor(`document.getElementById('connection') && document.getElementById('connection').dataset.state === 'live'`, 30_000);
    // The peers are read in the background: the row arrives with a following snapshot.
    await page.waitFor(`document.querySelector('#registrations tr[data-client="page-client"]')`, 30_000);
    const row = await page.evaluate<string[]>(`[...document.querySelector('#registrations tr[data-client="page-client"]').children].map((c) => c.textContent)`);
    expect(row[0]).toBe('page-client');
    expect(row[2]).toBe(publicIp(2));
    expect(row[7]).toBe('pnn1');
    expect(await page.evaluate<boolean>(`!document.getElementById('held-by').hidden`)).toBe(true);
    expect(await page.evaluate<string>(text('#reg-counts'))).toMatch(/0 registrations on this node.*Cluster-wide: 1 registration listed from 3 nodes of 3/);

    const findings = await page.evaluate<string>(text('#findings'));
    expect(findings).not.toMatch(/SFO/);
    const nodes = await page.evaluate<string>(text('#pairs'));
    expect(nodes).not.toMatch(/SFO|simulated/);
    expect(nodes).toMatch(/pnn0 \(CTDB pnn0, 127\.0\.0\.21\) · this node/);
    expect(nodes).toMatch(/CTDB: OK/);
    expect(await page.evaluate<string>(text('#h-nodes'))).toBe('CTDB nodes');
    const lifs = await page.evaluate<string>(text('#lifs'));
    expect(lifs).not.toMatch(/moved from home/);
    expect(lifs).toMatch(/May be hosted by/);
    expect(await page.evaluate<string>(text('#source-health'))).toMatch(/^Cluster source ctdb: connected to ctdbd at /);
  }, 120_000);

  test('node 0\'s ctdbd killed under its witnessd: the page says the source lost ctdbd, then that it is back', async () => {
    const c = cluster as CtdbCluster;
    await c.killNode(0);
    await page.waitFor(`document.getElementById('source-health').dataset.state === 'down'`, 30_000);
    expect(await page.evaluate<string>(text('#source-health'))).toMatch(/^Cluster source ctdb is NOT healthy: lost ctdbd at .*: reconnecting; the node states and IPs shown are from before/);
    await new Promise((r) => setTimeout(r, 1500)); // ctdb-eventd of the killed ctdbd exits about a second later
    await c.startNode(0);
    await page.waitFor(`document.getElementById('source-health').dataset.state === 'live'`, 90_000);
  }, 180_000);
});
