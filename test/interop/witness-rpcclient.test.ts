/**
 * rpcclient (Samba 4.17) against the Witness service (INTEROP.md §1): the service, the
 * endpoint mapper on port 135 and the admin API assembled in-process on the demo cluster
 * (scripts/drill-witnessd.ts), inside the private network namespace `npm test` provides.
 *   - GetInterfaceList on node1's LIF lists the partner LIF (node2) with `*+`;
 *   - rpcclient driven through stdin: Register, AsyncNotify, then `witnessctl node fail node1`
 *     makes it print the resource as Unavailable;
 *   - RegisterEx with a keep-alive timeout: AsyncNotify ends with WERR_TIMEOUT.
 */
import * as path from 'node:path';
import { describeWithPeers, InteractiveRpcclient, runRpcclient, runTool } from './helpers';
import { startTestWitnessd, type TestWitnessd } from '../../scripts/drill-witnessd';

const ROOT = path.resolve(__dirname, '..', '..');
const NODE1 = '127.0.0.11';
const NODE2 = '127.0.0.12';

jest.setTimeout(60_000);

describeWithPeers('rpcclient against the Witness service (anonymous)', ['rpcclient'], () => {
  let d: TestWitnessd;
  let rc: InteractiveRpcclient | undefined;

  beforeAll(async () => {
    d = await startTestWitnessd({ epmPort: 135 });
  }, 30_000);
  afterEach(async () => {
    await rc?.stop();
    rc = undefined;
  });
  afterAll(async () => {
    await d?.close();
  });

  const why = (): string => `\n--- rpcclient stdout ---\n${rc?.stdout ?? ''}\n--- stderr ---\n${rc?.tool.stderr ?? ''}`;

  test('GetInterfaceList through the endpoint mapper lists the SFO partner LIF with *+', async () => {
    const r = await runRpcclient(`ncacn_ip_tcp:${NODE1}`, '%', ['GetInterfaceList'], 30_000);
    expect(r.timedOut).toBe(false);
    const lines = r.stdout.split('\n');
    expect(lines.find((l) => l.includes(NODE2))).toMatch(/^\*\+ node2 127\.0\.0\.12\b/);
    expect(lines.find((l) => l.includes(NODE1))).toMatch(/^ \+ node1 127\.0\.0\.11\b/);
  }, 40_000);

  test('Register, AsyncNotify, then `witnessctl node fail node1` → rpcclient prints Unavailable', async () => {
    rc = InteractiveRpcclient.start(`ncacn_ip_tcp:${NODE2}`, '%', 60_000);
    const handle = await rc.register(`--net SOFS --ip ${NODE1} --client rpcclient-it`);
    expect(d.witness.service.list({ clientName: 'rpcclient-it' })).toHaveLength(1);
    const from = rc.stdout.length;
    rc.send(`AsyncNotify ${handle}`);
    const end = Date.now() + 10_000;
    while (d.witness.service.counts().pendingAsyncNotify < 1) {
      if (Date.now() > end) throw new Error(`AsyncNotify never arrived${why()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const ctl = await runTool(process.execPath, [path.join(ROOT, 'node_modules/ts-node/dist/bin.js'), '--transpile-only', path.join(ROOT, 'src/cli/witnessctl.ts'), '--admin', d.adminUrl, 'node', 'fail', 'node1'], { timeoutMs: 30_000, cwd: ROOT });
    expect({ code: ctl.code, stderr: ctl.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    try {
      await rc.waitFor(/Resource change with 1 messages[\s\S]*SOFS -> Unavailable/, 10_000, 'the Unavailable notification', from);
    } catch (e) {
      throw new Error(`${(e as Error).message}${why()}`);
    } finally {
      d.model.recoverNode('node1');
    }
  }, 60_000);

  test('RegisterEx with a keep-alive timeout: AsyncNotify ends with WERR_TIMEOUT', async () => {
    rc = InteractiveRpcclient.start(`ncacn_ip_tcp:${NODE2}`, '%', 60_000);
    const handle = await rc.register(`--net SOFS --ip ${NODE1} --client rpcclient-to --timeout 1`, 15_000, 'RegisterEx');
    const from = rc.stdout.length;
    const t0 = Date.now();
    rc.send(`AsyncNotify ${handle}`);
    try {
      await rc.waitFor(/WERR_TIMEOUT/, 10_000, 'WERR_TIMEOUT', from);
    } catch (e) {
      throw new Error(`${(e as Error).message}${why()}`);
    }
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
  }, 60_000);
});
