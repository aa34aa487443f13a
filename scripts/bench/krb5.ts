/**
 * Kerberos benchmark (issue 16), in a private network namespace with a real Samba AD DC
 * (scripts/lib/ad-dc.ts):
 *
 * 1. connect + Kerberos bind (auth type 16, integrity: AP-REQ / AP-REP / the client's AP-REP
 *    in auth3) + one signed ept_map + close, per second, one connection after the other, the
 *    same client (lib/krb5-rate.ts) against witnessd's endpoint mapper (in a helper process,
 *    the daemon as configured, with the DC's keytab) and against the DC's own endpoint mapper
 *    (Samba 4.22's RPC server), in the same run. Target ≥ 1.5×.
 * 2. The cost of protecting one AsyncNotify response (one RESOURCE_CHANGE) and checking it on
 *    the client, sealed (RFC 4121 Wrap, aes256) and signed (MIC), against NTLMSSP's, in this
 *    process, on contexts established through each provider's real handshake (lib/per-message.ts).
 *
 *   unshare -n sh -c 'ip link set lo up; npx ts-node --transpile-only scripts/bench/krb5.ts [--quick]'
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEMO_REALM, startAdDc } from '../lib/ad-dc';
import { Child } from './lib/child';
import { serviceCredential } from './lib/krb5-initiator';
import { kerberosBindAndCall, kerberosRate, type KrbRate } from './lib/krb5-rate';
import { perMessageRows } from './lib/per-message';
import { cpuMsOfPid, cpuMsOfPids } from './lib/proc';
import { pairedRatio, summarize } from './lib/stats';
import type { BenchOptions, BenchRow } from './lib/types';
import { closeAll, logPath } from './lib/util';

const USER = { name: 'alice', password: 'Al1ce-Passw0rd!' };
const SERVICE = { name: 'witnessd', password: 'W1tnessd-Svc-Passw0rd!', spns: ['cifs/sofs.demo.local', 'host/sofs.demo.local', 'cifs/SOFS', 'host/SOFS'] };

/** Every process in samba's process group (the master forks its RPC, KDC and LDAP workers there). */
function groupPids(pgid: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

export async function run(opts: BenchOptions): Promise<BenchRow[]> {
  // In its network namespace helper (main.ts, netns) the options arrive without the log function.
  const o = { ...opts, log: typeof opts.log === 'function' ? opts.log : (m: string) => console.error(m) };
  const reps = Math.max(o.quick ? 1 : 3, o.reps);
  const durationMs = o.quick ? 500 : 4000;
  const warmupMs = o.quick ? 200 : 1000;
  const dc = await startAdDc({ users: [[USER.name, USER.password]], services: [SERVICE] });
  o.log(`  AD DC up: provision ${dc.timings.provision} s, accounts ${dc.timings.accounts} s, start ${dc.timings.start} s`);
  let server: Child | undefined;
  try {
    const cc = await dc.kinit(USER.name, USER.password);
    const dcSpn = `host/${DEMO_REALM.dcName}.${DEMO_REALM.dnsDomain}`;
    const kvno = await dc.run('kvno', [SERVICE.spns[0], dcSpn], { env: dc.env(cc) });
    if (kvno.code !== 0) throw new Error(`kvno: ${kvno.stderr}`);
    const ours = serviceCredential(cc, SERVICE.spns[0]);
    const samba = serviceCredential(cc, dcSpn);

    for (const a of ['127.0.0.11', '127.0.0.12']) await dc.run('ip', ['addr', 'add', `${a}/8`, 'dev', 'lo']);
    server = await Child.fork('krb5 witnessd', 'server-host.ts', { logFile: logPath(o.workDir, 'krb5-witnessd') });
    const info = await server.request<{ epmPort: number; addresses: string[]; pid: number }>('witnessd-start', {
      auth: { kerberos: { keytab: dc.keytab(SERVICE.name) } }, logLevel: 'info',
    });
    const targets = {
      witnessd: { host: info.addresses[0], port: info.epmPort, cred: ours, cpu: () => cpuMsOfPid(info.pid) },
      samba: { host: dc.dcAddress, port: 135, cred: samba, cpu: () => cpuMsOfPids(groupPids(dc.pid ?? -1)) },
    };
    for (const t of Object.values(targets)) {
      await kerberosBindAndCall(t.host, t.port, t.cred); // fails loudly if either side refuses
      await kerberosRate(t.host, t.port, t.cred, warmupMs);
    }
    const res: Record<keyof typeof targets, Array<KrbRate & { serverCpuPct: number }>> = { witnessd: [], samba: [] };
    for (let i = 0; i < reps; i++) {
      for (const [name, t] of Object.entries(targets) as [keyof typeof targets, (typeof targets)['samba']][]) {
        const c0 = t.cpu();
        const t0 = performance.now();
        const r = await kerberosRate(t.host, t.port, t.cred, durationMs);
        const serverCpuPct = ((t.cpu() - c0) / (performance.now() - t0)) * 100;
        res[name].push({ ...r, serverCpuPct });
        o.log(`  ${name} rep ${i + 1}: ${r.perSecond.toFixed(0)}/s (client CPU ${r.clientCpuPct.toFixed(0)} %, server ${serverCpuPct.toFixed(0)} %)`);
      }
    }
    const per = (n: keyof typeof targets) => res[n].map((r) => r.perSecond);
    const ratio = pairedRatio(per('witnessd'), per('samba'));
    const rateRow: BenchRow = {
      suite: 'krb5',
      name: 'connect + Kerberos bind (sign) + ept_map + close',
      unit: 'conn/s',
      better: 'higher',
      value: summarize(per('witnessd')),
      baseline: { name: 'Samba 4.22 AD DC endpoint mapper, same client, same run', value: summarize(per('samba')) },
      ratio,
      target: { text: '≥ 1.5× Samba', met: ratio.median >= 1.5 },
      cpu: {
        unit: '%',
        client: summarize(res.witnessd.map((r) => r.clientCpuPct)),
        server: summarize(res.witnessd.map((r) => r.serverCpuPct)),
        baselineClient: summarize(res.samba.map((r) => r.clientCpuPct)),
        baselineServer: summarize(res.samba.map((r) => r.serverCpuPct)),
      },
      notes: ['one connection at a time; Samba server CPU = every process in the samba master\'s process group'],
    };

    // 2. Protecting one AsyncNotify response, per mechanism.
    return [rateRow, ...perMessageRows(dc.keytab(SERVICE.name), ours, o)];
  } finally {
    await closeAll(server);
    await dc.stop();
  }
}

if (require.main === module) {
  const quick = process.argv.includes('--quick');
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'krb5-bench-'));
  run({ quick, reps: 3, workDir: dir, log: (m) => console.error(m) }).then(
    (rows) => console.log(JSON.stringify(rows, null, 2)),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
