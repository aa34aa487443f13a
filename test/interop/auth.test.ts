/**
 * Authentication against the real daemon (issue 5): rpcclient over SPNEGO (wrapping NTLMSSP)
 * at sign and seal runs every Witness command; wrong passwords fail on both the AUTH3 and
 * the alter_context path and are logged with user and client address but never the hash;
 * a context handle is usable only by the identity that created it, even from another auth
 * context on the same connection. (NTLMSSP [sign]/[seal], smbtorture with credentials and
 * the tshark decryption of a sealed capture are in rpcclient-all, smbtorture and tshark.)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ntHash } from '../../src/auth';
import {
  describeWithPeers, findExecutable, InteractiveRpcclient, rpcclientTarget, runRpcclient, runTool, sleep, startTool, startWitnessd, TEST_CLUSTER, TEST_CREDENTIALS,
  type RpcclientAuth, type WitnessdInstance,
} from './helpers';
import { encodeWideString } from './helpers/clusapi-client';
import {
  PT, RawConnection, authToken, buildAuth3, buildBindWithAuth, call, ntlmsspSession, type Session,
} from '../integration/auth/raw-auth-client';
import { TestNtlmClient } from '../unit/auth/ntlm-test-client';

jest.setTimeout(120_000);

const HOST = TEST_CLUSTER.node1.address;
const PARTNER_IP = TEST_CLUSTER.node2.address;
const NET = TEST_CLUSTER.netbiosName;
const WITNESS = { uuid: 'ccd8c074-d0e5-4a40-92b4-d074faa6ba28', major: 1, minor: 1 };
const BOB = { domain: 'DEMO', user: 'bob', password: 'Bob-Pa55word' };
const WITNESS_V1 = 0x00010001;
const WERR_OK = 0;

/** WitnessrRegister in-stub: Version, then three [string, unique] LPWSTRs (MS-SWN 3.1.4.2). */
function registerStub(netName: string, ip: string, client: string): Buffer {
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0].writeUInt32LE(WITNESS_V1);
  let ref = 0x20000;
  for (const s of [netName, ip, client]) {
    const p = Buffer.alloc(4);
    p.writeUInt32LE(ref);
    ref += 4;
    const str = encodeWideString(s);
    const pad = Buffer.alloc((4 - (str.length % 4)) % 4);
    parts.push(p, str, pad);
  }
  return Buffer.concat(parts);
}

/**
 * An smbpasswd file as `pdbedit -Lw` writes it, from a throw-away tdbsam (user root, which
 * always exists as a Unix user); without pdbedit the same line is written by hand.
 */
async function exportSmbpasswd(dir: string, password: string, file: string): Promise<string> {
  const pdbedit = findExecutable('pdbedit');
  if (!pdbedit) {
    const line = `root:0:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:${ntHash(password).toString('hex').toUpperCase()}:[U          ]:LCT-00000000:\n`;
    fs.writeFileSync(file, line);
    return 'hand-written';
  }
  const conf = path.join(dir, 'smb.conf');
  if (!fs.existsSync(conf)) {
    for (const d of ['private', 'lock', 'state', 'cache']) fs.mkdirSync(path.join(dir, d), { recursive: true });
    fs.writeFileSync(conf, [
      '[global]',
      `  private dir = ${path.join(dir, 'private')}`,
      `  lock directory = ${path.join(dir, 'lock')}`,
      `  state directory = ${path.join(dir, 'state')}`,
      `  cache directory = ${path.join(dir, 'cache')}`,
      `  passdb backend = tdbsam:${path.join(dir, 'private', 'passdb.tdb')}`,
      '  server role = standalone server',
      '',
    ].join('\n'));
  }
  const add = await runTool(pdbedit, ['-s', conf, '-a', '-u', 'root', '-t'], { timeoutMs: 20_000, input: `${password}\n${password}\n` });
  if (add.code !== 0) {
    // Already there: change the password instead.
    const set = await runTool('smbpasswd', ['-c', conf, '-s', 'root'], { timeoutMs: 20_000, input: `${password}\n${password}\n` });
    if (set.code !== 0) throw new Error(`pdbedit/smbpasswd failed: ${add.stderr}${set.stderr}`);
  }
  const out = await runTool(pdbedit, ['-s', conf, '-Lw'], { timeoutMs: 20_000 });
  if (out.code !== 0 || !/^root:0:/m.test(out.stdout)) throw new Error(`pdbedit -Lw: ${out.stdout}${out.stderr}`);
  // Write-then-rename, as an admin's script would, so the daemon never reads half a file.
  fs.writeFileSync(`${file}.new`, out.stdout);
  fs.renameSync(`${file}.new`, file);
  return 'pdbedit -Lw';
}

describeWithPeers('authentication against the daemon', ['rpcclient'], () => {
  let daemon: WitnessdInstance | undefined;
  const open: RawConnection[] = [];
  let pdbDir = '';
  let smbpasswd = '';

  beforeAll(async () => {
    pdbDir = fs.mkdtempSync(path.join(os.tmpdir(), 'witnessd-auth-pdb-'));
    smbpasswd = path.join(pdbDir, 'smbpasswd');
    await exportSmbpasswd(pdbDir, 'Pdb-Secret1', smbpasswd);
    daemon = await startWitnessd({
      extra: { auth: { accountsFile: smbpasswd, accounts: [
        { domain: TEST_CLUSTER.account.domain, user: TEST_CLUSTER.account.user, password: TEST_CLUSTER.account.password },
        BOB,
      ] } },
    });
  }, 90_000);
  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });
  afterAll(async () => {
    await daemon?.stop();
    if (pdbDir) fs.rmSync(pdbDir, { recursive: true, force: true });
  }, 30_000);

  it('an smbpasswd accounts file (pdbedit -Lw) works and is re-read when it changes', async () => {
    const gil = (pw: string) => runRpcclient(`ncacn_ip_tcp:${HOST}[seal]`, `WORKGROUP\\root%${pw}`, ['GetInterfaceList'], 30_000);
    const before = await gil('Pdb-Secret1');
    expect(before.stdout).toMatch(/^\*\+ node2 /m);
    await exportSmbpasswd(pdbDir, 'Pdb-Secret2', smbpasswd);
    await sleep(1500); // the file is re-checked at most once a second
    const stale = await gil('Pdb-Secret1');
    expect(stale.stdout).not.toMatch(/^\*\+ node2 /m);
    const after = await gil('Pdb-Secret2');
    expect(after.stdout + after.stderr).toMatch(/^\*\+ node2 /m);
    expect(daemon!.output(400)).toMatch(/smbpasswd accounts loaded/);
  });

  const why = (extra = ''): string => `${extra}\n${daemon?.output(40) ?? ''}`;

  for (const auth of ['spnego-sign', 'spnego-seal'] as RpcclientAuth[]) {
    it(`rpcclient [${auth}]: every Witness command`, async () => {
      const target = rpcclientTarget(HOST, auth, TEST_CREDENTIALS);
      const client = InteractiveRpcclient.start(target.binding, target.user, 60_000);
      try {
        let from = client.stdout.length;
        client.send('GetInterfaceList');
        await client.waitFor(new RegExp(`^\\*\\+ \\S+ ${PARTNER_IP.replace(/\./g, '\\.')}\\b`, 'm'), 20_000, 'the partner\'s witness interface', from);
        const h1 = await client.register(`-v 0x00010001 -n ${NET} -i ${PARTNER_IP} -c auth-${auth}`);
        from = client.stdout.length;
        // rpcclient prints nothing for a successful UnRegister, and reading stdin it may drop a
        // line that arrives together with the previous one: give it a moment.
        client.send(`UnRegister ${h1}`);
        await sleep(700);
        const h2 = await client.register(`-n ${NET} -i ${PARTNER_IP} -t 0 -c auth-${auth}`, 15_000, 'RegisterEx');
        from = client.stdout.length;
        client.send(`AsyncNotify ${h2}`);
        await client.waitFor(/WERR_TIMEOUT/, 20_000, 'AsyncNotify with keep-alive 0 ends in WERR_TIMEOUT', from);
        from = client.stdout.length;
        client.send(`UnRegister ${h2}`);
        await sleep(700);
        client.send(`UnRegister ${h2}`);
        await client.waitFor(/WERR_INVALID_PARAMETER/, 15_000, 'the second UnRegister of the same handle fails', from);
        expect(client.stdout.slice(0, from)).not.toMatch(/NT_STATUS_|failed/);
      } catch (e) {
        throw new Error(`${(e as Error).message}\n--- rpcclient ---\n${client.stdout}\n${client.tool.stderr}${why()}`);
      } finally {
        await client.stop();
      }
    });
  }

  it('rpcclient [spnego,seal] without "ntlm" (Kerberos allowed but unavailable) still ends up on NTLMSSP', async () => {
    const r = await runRpcclient(`ncacn_ip_tcp:${HOST}[spnego,seal]`, TEST_CREDENTIALS, ['GetInterfaceList'], 30_000);
    expect({ out: r.stdout, err: r.stderr.slice(-1500) }).toEqual({ out: expect.stringMatching(/^\*\+ node2 /m), err: expect.any(String) });
  });

  it.each([
    ['seal', 'NTLMSSP, AUTH3 leg'],
    ['spnego-seal', 'SPNEGO, alter_context leg'],
  ] as [RpcclientAuth, string][])('a wrong password fails [%s] (%s), logged without the hash', async (auth) => {
    const target = rpcclientTarget(HOST, auth, `DEMO\\demo%not-the-password`);
    const r = await runRpcclient(target.binding, target.user, ['GetInterfaceList'], 30_000);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/NT_STATUS_(LOGON_FAILURE|ACCESS_DENIED)|WERR_ACCESS_DENIED|failed/);
    expect(out).not.toMatch(/^\*\+ /m);
    const log = daemon!.output(400);
    expect(log).toMatch(/authentication refused/);
    expect(log).toMatch(/"user":"demo"/);
    expect(log).toMatch(/"client":"127\.0\.0\.1:\d+"/);
    expect(log.toLowerCase()).not.toContain(ntHash(TEST_CLUSTER.account.password).toString('hex'));
    expect(log.toLowerCase()).not.toContain(ntHash('not-the-password').toString('hex'));
  });

  it('a context handle belongs to its identity: another auth context on the same connection cannot use it', async () => {
    const conn = await RawConnection.connect(daemon!.witnessPort, HOST);
    open.push(conn);
    const demo = await ntlmsspSession(conn, WITNESS, 6, TEST_CLUSTER.account.user, TEST_CLUSTER.account.password, 1, 'DEMO');
    const reg = await call(demo, 1, registerStub(NET, PARTNER_IP, 'auth-owner'));
    expect(reg.stub).toBeDefined();
    expect(reg.stub!.length).toBe(24);
    const handle = reg.stub!.subarray(0, 20);
    expect(reg.stub!.readUInt32LE(20)).toBe(WERR_OK);

    // bob joins the same connection with auth_context_id 2 (alter_context + AUTH3).
    const bob = new TestNtlmClient({ user: BOB.user, domain: BOB.domain, password: BOB.password, withMic: true, flags: 0x62088235 });
    conn.send(buildBindWithAuth(PT.ALTER, demo.callId++, WITNESS, 10, 6, 2, bob.negotiate()));
    const resp = await conn.next();
    expect(resp?.ptype).toBe(PT.ALTER_RESP);
    conn.send(buildAuth3(demo.callId - 1, 10, 6, 2, bob.authenticate(authToken(resp!))));
    const bobSession: Session = { conn, ntlm: bob, authType: 10, level: 6, ctxId: 2, callId: demo.callId };

    const stolen = await call(bobSession, 2, Buffer.from(handle));
    expect(stolen.stub).toBeDefined();
    expect(stolen.stub!.readUInt32LE(0)).toBe(0x57); // Decision 5: an unknown handle (to bob, it is one)
    demo.callId = bobSession.callId;
    const own = await call(demo, 2, Buffer.from(handle));
    expect(own.stub!.readUInt32LE(0)).toBe(WERR_OK);
  });

  describeWithPeers('tshark decrypts what we seal', ['tshark'], () => {
    it.each([
      ['seal', 'NTLMSSP'],
      ['spnego-seal', 'SPNEGO (RC4 restarted after the mechListMIC)'],
    ] as [RpcclientAuth, string][])('[%s] %s: the witness fields decode with the password', async (auth) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'witnessd-auth-tshark-'));
      const pcap = path.join(dir, 'sealed.pcapng');
      const port = daemon!.witnessPort;
      const capture = startTool('tshark', ['-i', 'lo', '-f', `tcp port 135 or tcp port ${port}`, '-w', pcap], { timeoutMs: 120_000, cwd: dir });
      try {
        await capture.waitFor((_o, e) => /Capturing on/.test(e), 30_000, 'tshark to start capturing');
        await sleep(500);
        const target = rpcclientTarget(HOST, auth, TEST_CREDENTIALS);
        const r = await runRpcclient(target.binding, target.user, ['GetInterfaceList'], 30_000);
        expect(r.stdout).toMatch(/^\*\+ node2 /m);
        await sleep(1000);
        await capture.stop(10_000, 'SIGINT');
        const read = (password: string) => runTool('tshark', ['-r', pcap, '-o', `ntlmssp.nt_password:${password}`, '-d', `tcp.port==${port},dcerpc`,
          '-Y', 'witness.witness_interfaceInfo.group_name', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=|',
          '-e', 'witness.witness_interfaceInfo.group_name', '-e', 'witness.witness_interfaceInfo.ipv4'], { timeoutMs: 60_000 });
        const good = await read(TEST_CLUSTER.account.password);
        expect(good.code).toBe(0);
        expect(good.stdout.trim()).toBe('node1|node2\t127.0.0.11|127.0.0.12');
        // With the wrong password the stubs stay sealed: nothing decodes.
        const bad = await read('wrong-password');
        expect(bad.stdout.trim()).toBe('');
      } finally {
        await capture.stop(5000, 'SIGINT');
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
