/**
 * Kerberos on the clustered domain member (issue 21 item 5; helpers/ad-cluster.ts): the
 * three-node netns cluster joins the test AD DC once (`net ads join` on node 0, the secret in
 * CTDB's persistent secrets.tdb), witnessd on every node (Kerberos only, NTLM off) uses the
 * keytab Samba keeps for the machine account (`sync machine password to keytab`), and:
 * - every node's keytab holds SOFS$'s keys under host/, cifs/ and MSServerClusterMgmtAPI/ for
 *   SOFS and sofs.demo.local at the kvno AD has, and `net ads testjoin` passes on every node;
 * - smbtorture rpc.witness with `--use-kerberos=required`, run in the client namespace against
 *   sofs.demo.local named as each node's public IP in turn, passes all six subtests on every
 *   node: Register and RegisterEx look the share up over SMB (srvsvc, answered by that node's
 *   clustered AD-member smbd with Kerberos), AsyncNotify drives witnessd's clusapi (Kerberos,
 *   sealed, SPN MSServerClusterMgmtAPI/); the registrations in each node's witnessd log name
 *   DEMO\alice;
 * - `net ads changetrustpw` on node 1 changes the machine password: Samba rewrites the keytab
 *   on every node (kvno + 1, the old keys kept), and every node's witnessd, still the same
 *   process, serves tickets under the new key and still those issued before the change.
 * Cost: one cluster + DC bring-up (≈1.5-3 min on a loaded two-core machine), the quick
 * subtests on the three nodes at once (≈10-20 s), then AsyncNotify_timeouts on the three nodes
 * at once (0+1+10+100+120 s for each of the two other nodes' interfaces: ≈7.7 min), during
 * which the password change runs. About 10-11 minutes in all.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseKeytab } from '../../src/auth/krb5/keytab';
import { describeWithPeers, parseSubunit, type SubunitResult, type ToolResult } from './helpers';
import { CLUSTER_NAME, KEYTAB_SERVICES, startMemberCluster, type MemberCluster } from './helpers/ad-cluster';

const NET_NAME = 'SOFS';
const QUICK = ['GetInterfaceList', 'Register', 'UnRegister', 'RegisterEx', 'AsyncNotify'] as const;
/** Per valid interface 0+1+10+100+120 s; two per node (the other nodes' public IPs). */
const TIMEOUTS_MS = 12 * 60_000;

interface Torture {
  readonly tool: ToolResult;
  readonly results: SubunitResult[];
}

describeWithPeers('Kerberos on a clustered AD member: witnessd with the keytab Samba keeps, smbtorture rpc.witness --use-kerberos=required on every node',
  ['samba', 'ctdbd', 'ctdb', 'smbd', 'smbtorture', 'rpcclient', 'kinit', 'ip'], () => {
  let m: MemberCluster | undefined;
  let ccache = '';
  let scratch = '';
  const quick = new Map<number, Torture>();
  const timeouts = new Map<number, Promise<Torture>>();

  const member = (): MemberCluster => {
    if (!m) throw new Error('the member cluster did not start');
    return m;
  };

  /** smbtorture in the client namespace against sofs.demo.local = node `pnn`'s public IP, Kerberos only. */
  const torture = async (pnn: number, tests: readonly string[], cc: string, timeoutMs: number): Promise<Torture> => {
    const cwd = fs.mkdtempSync(path.join(scratch, `torture-${pnn}-`));
    const tool = await member().client(pnn, 'smbtorture', [
      '-s', '/dev/null', `ncacn_ip_tcp:${CLUSTER_NAME}[sign]`, '--use-kerberos=required', `--use-krb5-ccache=${cc}`,
      `--option=torture:net_name=${NET_NAME}`, ...tests.map((t) => `rpc.witness.witness.${t}`),
    ], { ccache: cc, timeoutMs, cwd });
    return { tool, results: parseSubunit(tool.stdout) };
  };
  const report = (pnn: number, t: Torture): string =>
    `$ ${t.tool.command}\nexit ${t.tool.code}\n${t.tool.stdout.slice(-4000)}\n${t.tool.stderr.slice(-2000)}\n${member().cluster.logTail(15)}`;
  const witnessdLog = (pnn: number): string => fs.readFileSync(path.join(member().cluster.node(pnn).dir, 'witnessd.log'), 'utf8');

  beforeAll(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'witnessd-adkrb-'));
    m = await startMemberCluster();
    process.stderr.write(`member cluster up: ${JSON.stringify(m.timings)} s\n`);
    ccache = await m.kinitAlice();
    const nodes = m.cluster.nodes.map((n) => n.pnn);
    const t = Date.now();
    for (const [pnn, run] of await Promise.all(nodes.map(async (p) => [p, await torture(p, QUICK, ccache, 180_000)] as const))) quick.set(pnn, run);
    process.stderr.write(`quick subtests on ${nodes.length} nodes at once: ${Math.round((Date.now() - t) / 1000)} s\n`);
    // The long one runs in the background, every node at once; the password change runs meanwhile.
    for (const p of nodes) {
      const run = torture(p, ['AsyncNotify_timeouts'], ccache, TIMEOUTS_MS);
      run.catch(() => undefined);
      timeouts.set(p, run);
    }
  }, 600_000);

  afterAll(async () => {
    await Promise.all([...timeouts.values()].map((r) => r.catch(() => undefined)));
    await m?.stop();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  }, 15 * 60_000);

  it('is joined once: every node passes `net ads testjoin` and has Samba\'s keytab (host/, cifs/, MSServerClusterMgmtAPI/ × SOFS, sofs.demo.local)', async () => {
    const mc = member();
    const want = KEYTAB_SERVICES.flatMap((s) => [`${s}/${NET_NAME}@DEMO.LOCAL`, `${s}/${CLUSTER_NAME}@DEMO.LOCAL`]).sort();
    for (const n of mc.cluster.nodes) {
      const j = await mc.net(n.pnn, ['ads', 'testjoin', '-P']);
      expect({ node: n.pnn, code: j.code, out: j.stdout.trim() }).toEqual({ node: n.pnn, code: 0, out: expect.stringMatching(/Join is OK/) });
      const entries = parseKeytab(fs.readFileSync(mc.keytab(n.pnn)));
      expect({ node: n.pnn, principals: [...new Set(entries.map((e) => e.principal))].sort() }).toEqual({ node: n.pnn, principals: want });
      expect(entries.map((e) => e.enctype)).toContain(18); // aes256, what the DC issues
    }
    // Every node holds the same keys (one machine account), at the kvno the DC issues tickets with.
    const kvno = await mc.dc.run('kvno', [`cifs/${CLUSTER_NAME}`], { env: mc.dc.env(ccache), timeoutMs: 30_000 });
    const current = Number(/kvno = (\d+)/.exec(kvno.stdout)?.[1]);
    for (const n of mc.cluster.nodes) expect({ node: n.pnn, kvnos: mc.keytabKvnos(n.pnn) }).toEqual({ node: n.pnn, kvnos: expect.arrayContaining([current]) });
  }, 120_000);

  for (const pnn of [0, 1, 2]) {
    for (const sub of QUICK) {
      it(`node ${pnn} (sofs.demo.local = its public IP): rpc.witness.witness.${sub} --use-kerberos=required`, () => {
        const run = quick.get(pnn);
        if (!run) throw new Error('smbtorture did not run');
        const r = run.results.find((x) => x.name.endsWith(`.${sub}`));
        if (r?.status !== 'success') throw new Error(`${sub}: ${r ? `${r.status}: ${r.reason}` : 'not reported'}\n${report(pnn, run)}`);
        expect(r.status).toBe('success');
      });
    }
    it(`node ${pnn}: its witnessd served them, to DEMO\\alice by Kerberos`, () => {
      const lines = witnessdLog(pnn).split('\n').filter((l) => l.includes('"event":"registered"'));
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) expect(JSON.parse(l).principal).toBe('DEMO\\alice');
    });
  }

  it('`net ads changetrustpw` on node 1: every node\'s keytab gets kvno+1, every witnessd (same PID) serves old and new tickets', async () => {
    const mc = member();
    const c = mc.cluster;
    // sofs.demo.local below is node N's public IP: check that N holds it (start-up placed them so).
    const placed = await c.ips(0);
    expect(c.nodes.map((n) => placed.get(n.publicIp))).toEqual(c.nodes.map((n) => n.pnn));
    const before = Math.max(...mc.keytabKvnos(0));
    const pids = c.nodes.map((n) => c.pids(n.pnn).witnessd);
    const change = await mc.net(1, ['ads', 'changetrustpw'], 120_000);
    if (change.code !== 0) throw new Error(`net ads changetrustpw: exit ${change.code}\n${change.stdout}\n${change.stderr}`);
    // `sync machine password script` rewrote every node's keytab before changetrustpw returned.
    for (const n of c.nodes) expect({ node: n.pnn, kvnos: mc.keytabKvnos(n.pnn) }).toEqual({ node: n.pnn, kvnos: expect.arrayContaining([before, before + 1]) });
    const fresh = await mc.kinitAlice();
    const kvno = await mc.dc.run('kvno', [`cifs/${CLUSTER_NAME}`], { env: mc.dc.env(fresh), timeoutMs: 30_000 });
    expect(kvno.stdout).toContain(`kvno = ${before + 1}`);
    const gil = (pnn: number, cc: string) => mc.client(pnn, 'rpcclient', ['-s', '/dev/null', '--use-kerberos=required', `--use-krb5-ccache=${cc}`, `ncacn_ip_tcp:${CLUSTER_NAME}[seal]`, '-c', 'GetInterfaceList'], { ccache: cc, timeoutMs: 60_000 });
    for (const n of c.nodes) {
      for (const [label, cc] of [['new ticket', fresh], ['ticket from before the change', ccache]] as const) {
        const r = await gil(n.pnn, cc);
        const served = c.nodes.every((x) => r.stdout.includes(` ${x.publicIp} `));
        if (!served) throw new Error(`node ${n.pnn}, ${label}: not served\n$ ${r.command}\n${r.stdout}${r.stderr}\n${c.logTail(15)}`);
      }
      const reread = witnessdLog(n.pnn).split('\n').filter((l) => l.includes('"msg":"keytab re-read"'));
      expect({ node: n.pnn, reread: reread.some((l) => (JSON.parse(l).kvnos as number[]).includes(before + 1)) }).toEqual({ node: n.pnn, reread: true });
    }
    expect(c.nodes.map((n) => c.pids(n.pnn).witnessd)).toEqual(pids);
  }, 300_000);

  for (const pnn of [0, 1, 2]) {
    it(`node ${pnn}: rpc.witness.witness.AsyncNotify_timeouts --use-kerberos=required (KeepAliveTimeout 0, 1, 10, 100, 120 s → WERR_TIMEOUT)`, async () => {
      const run = await timeouts.get(pnn);
      if (!run) throw new Error('smbtorture did not run');
      const r = run.results.find((x) => x.name.endsWith('.AsyncNotify_timeouts'));
      if (r?.status !== 'success' || run.tool.code !== 0) throw new Error(report(pnn, run));
      const tried = [...(run.tool.stdout + run.tool.stderr).matchAll(/Testing Async Notify with timeout of (\d+)/g)].map((x) => Number(x[1]));
      expect(tried).toEqual([0, 1, 10, 100, 120, 0, 1, 10, 100, 120]); // the two other nodes' interfaces
    }, TIMEOUTS_MS + 60_000);
  }
});
