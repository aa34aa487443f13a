/**
 * Kerberos configuration against a real Samba AD DC (helpers/kerberos.ts), one witnessd per
 * case: with `auth.ntlm: false` a client that offers only Kerberos succeeds and NTLM is
 * refused; a valid user outside `allowedPrincipals` is refused; a keytab of the wrong account
 * is refused with a log line that says why; a key rollover (the service account's password
 * changes, the keytab file is replaced) is picked up without a restart. `--check-config` reads
 * the real keytab: silent for the right one, a warning per served SPN for the wrong one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  describeWithPeers, KRB_HOST, KRB_USERS, kerberosAuth, REALM, REPO_ROOT, runKrbRpcclient, runRpcclient, runTool, SERVICE_ACCOUNT,
  startTestRealm, startWitnessd, TEST_CREDENTIALS, type TestRealm, type WitnessdInstance,
} from './helpers';

const WITNESS_LINE = /^\*\+ node2 127\.0\.0\.12 V2$/m;

describeWithPeers('Kerberos: NTLM off, the allow-list, a wrong keytab, a key rollover (real AD DC)', ['samba', 'kinit', 'rpcclient'], () => {
  let realm: TestRealm | undefined;
  let daemon: WitnessdInstance | undefined;

  beforeAll(async () => {
    realm = await startTestRealm();
  }, 300_000);

  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
  }, 30_000);

  afterAll(async () => {
    await realm?.stop();
  }, 60_000);

  /** `witnessd --check-config` on the running daemon's configuration file. */
  const checkConfig = () =>
    runTool(process.execPath, [path.join(REPO_ROOT, 'scripts/bin/witnessd.js'), '--config', daemon!.configPath, '--check-config'], { timeoutMs: 60_000 });
  const gil = (ccache: string, flags: string) => runKrbRpcclient(realm!, ccache, `ncacn_ip_tcp:${KRB_HOST}[${flags}]`, ['GetInterfaceList']);
  const report = (r: { command: string; code: number | null; stdout: string; stderr: string }) =>
    `$ ${r.command}\nexit ${r.code}\n${r.stdout}${r.stderr}\n${daemon?.output(30) ?? ''}`;
  /** The daemon's log lines (JSON) that match `re`, waited for briefly (logging is asynchronous). */
  const logLines = async (re: RegExp): Promise<string[]> => {
    for (let i = 0; i < 20; i++) {
      const lines = daemon!.tool.stdout.split('\n').filter((l) => re.test(l));
      if (lines.length > 0) return lines;
      await new Promise((r) => setTimeout(r, 100));
    }
    return [];
  };

  it('auth.ntlm false: Kerberos-only SPNEGO and raw krb5 succeed; NTLMSSP and SPNEGO/NTLM are refused', async () => {
    daemon = await startWitnessd({ extra: kerberosAuth(realm!.keytab, { ntlm: false }) });
    for (const flags of ['spnego,seal', 'seal']) {
      const r = await gil(realm!.ccache.alice, flags);
      if (!WITNESS_LINE.test(r.stdout)) throw new Error(`Kerberos [${flags}] failed\n${report(r)}`);
    }
    for (const flags of ['ntlm,seal', 'spnego,ntlm,seal']) {
      const r = await runRpcclient(`ncacn_ip_tcp:127.0.0.11[${flags}]`, TEST_CREDENTIALS, ['GetInterfaceList']);
      expect(r.stdout).not.toMatch(WITNESS_LINE);
      expect(`${r.stdout}${r.stderr}`).toMatch(/NT_STATUS_(NETWORK_)?ACCESS_DENIED|NT_STATUS_LOGON_FAILURE|bind failed/);
    }
  }, 120_000);

  it('a user outside auth.kerberos.allowedPrincipals (bob) is refused, alice is served; the log names bob', async () => {
    daemon = await startWitnessd({ extra: kerberosAuth(realm!.keytab, { allowedPrincipals: [`${KRB_USERS.alice.name}@${REALM}`] }) });
    const check = await checkConfig();
    expect({ code: check.code, kerberos: check.stdout.split('\n').filter((l) => /kerberos|clients that ask/i.test(l)) }).toEqual({ code: 0, kerberos: [] });
    const ok = await gil(realm!.ccache.alice, 'spnego,sign');
    if (!WITNESS_LINE.test(ok.stdout)) throw new Error(`alice was not served\n${report(ok)}`);
    for (const flags of ['spnego,sign', 'sign']) {
      const r = await gil(realm!.ccache.bob, flags);
      expect(r.stdout).not.toMatch(WITNESS_LINE);
      expect(`${r.stdout}${r.stderr}`).toMatch(/NT_STATUS_(NETWORK_)?ACCESS_DENIED/);
    }
    const refused = await logLines(/"msg":"Kerberos authentication refused"/);
    expect(refused.join('\n')).toMatch(/"principal":"bob@DEMO\.LOCAL".*not in allowedPrincipals/);
  }, 120_000);

  it('a keytab of another account: the bind is refused and the log says the ticket does not decrypt with it', async () => {
    daemon = await startWitnessd({ extra: kerberosAuth(realm!.wrongKeytab) });
    // --check-config already says so: no key for any SPN the configuration serves.
    const check = await checkConfig();
    expect(check.stdout.split('\n').filter((l) => /^warning: clients that ask for (cifs|host)\/(SOFS|sofs\.demo\.local) are refused: .*no key/.test(l))).toHaveLength(4);
    const r = await gil(realm!.ccache.alice, 'spnego,seal');
    expect(r.stdout).not.toMatch(WITNESS_LINE);
    expect(`${r.stdout}${r.stderr}`).toMatch(/NT_STATUS_(NETWORK_)?ACCESS_DENIED|NT_STATUS_LOGON_FAILURE/);
    // A clear refusal names the client's address, the ticket's service and what is wrong with the keytab.
    const lines = await logLines(/"msg":"Kerberos authentication refused"/);
    if (lines.length === 0) throw new Error(`no log line explains the refusal\n${report(r)}`);
    expect(lines[0]).toMatch(/"client":"127\.0\.0\.1:\d+".*ticket to cifs\/sofs\.demo\.local@DEMO\.LOCAL does not decrypt with the keytab's key \(kvno 2\): wrong keytab/);
  }, 120_000);

  it('key rollover: the service password changes, the keytab is replaced, new tickets are accepted without a restart', async () => {
    const keytab = path.join(realm!.dc.dir, 'rollover.keytab');
    fs.copyFileSync(realm!.keytab, keytab);
    daemon = await startWitnessd({ extra: kerberosAuth(keytab) });
    const before = await gil(realm!.ccache.alice, 'spnego,seal');
    if (!WITNESS_LINE.test(before.stdout)) throw new Error(`not served before the rollover\n${report(before)}`);

    const pw = await realm!.dc.sambaTool(['user', 'setpassword', SERVICE_ACCOUNT.name, '--newpassword=R0lled-0ver-Passw0rd!']);
    expect(pw.code).toBe(0);
    const fresh = path.join(realm!.dc.dir, 'rollover.keytab.new');
    for (const spn of SERVICE_ACCOUNT.spns) {
      const ex = await realm!.dc.sambaTool(['domain', 'exportkeytab', fresh, `--principal=${spn}`]);
      expect({ spn, code: ex.code, err: ex.stderr }).toEqual({ spn, code: 0, err: expect.any(String) });
    }
    fs.renameSync(fresh, keytab); // as an operator's script would: never a half-written file
    // A new TGT and so a new service ticket, under the new key (kvno 3).
    const cc = await realm!.dc.kinit(KRB_USERS.alice.name, KRB_USERS.alice.password);
    const after = await gil(cc, 'spnego,seal');
    if (!WITNESS_LINE.test(after.stdout)) throw new Error(`not served after the rollover\n${report(after)}`);
    const reread = await logLines(/"msg":"keytab re-read"/);
    expect(reread.join('\n')).toMatch(/"kvnos":\[[^\]]*\b3\b/);
  }, 150_000);
});
