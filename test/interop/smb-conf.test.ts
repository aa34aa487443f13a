/**
 * Names written once: witnessd reads the node's Samba configuration with the real testparm
 * (sandboxed smb.conf files). What smbd 4.22 announces per share (CA only by the parametric
 * option; CLUSTER by default only with clustering and rpc start on demand helpers = no, or by
 * the option, share over [global]); `--print-ctdb-config --smb-conf` writes smbd's names and
 * CA shares (and the rpcd witness options); `--check-config` reports a NetBIOS name that is
 * not smbd's and a CA share smbd will not announce CLUSTER for, as errors.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, parseConfig } from '../../src/config';
import { readSambaConf } from '../../src/cli/smb-conf';
import { checkConfig, formatCheck } from '../../src/cli/check-config';
import { FakeCtdbd } from '../unit/ctdb/fake-ctdbd';
import { describeWithPeers } from './helpers';

const ROOT = path.resolve(__dirname, '../..');
const witnessd = (args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'scripts/bin/witnessd.js'), ...args], { encoding: 'utf8', timeout: 120_000 });

describeWithPeers('Samba configuration through testparm', ['testparm'], () => {
  let dir: string;
  const conf = (name: string, text: string): string => {
    const file = path.join(dir, name);
    // Sandbox paths: testparm reads only, but never near the host's Samba.
    writeFileSync(file, text.replace('[global]', `[global]\n  lock dir = ${dir}/lock\n  private dir = ${dir}/private\n  cache directory = ${dir}/cache\n  log file = ${dir}/log`));
    return file;
  };
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'witnessd-smbconf-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const CLUSTERED = `[global]
  netbios name = sofs
  realm = SAMBA.TEST
  workgroup = SAMBA
  clustering = yes
  rpcd witness:include node ips = yes
[vmstore]
  path = /srv/vmstore
  smb3 share cap:CONTINUOUS AVAILABILITY = yes
  smb3 share cap:CLUSTER = yes
[sql]
  path = /srv/sql
  smb3 share cap:continuous availability = yes
[plain]
  path = /srv/plain
[printers]
  path = /var/spool/samba
  printable = yes
`;

  test('per share what smbd 4.22 announces; the names Samba\'s witness answers to', async () => {
    const smb = await readSambaConf(conf('clustered.conf', CLUSTERED));
    expect(smb).toMatchObject({ netbiosName: 'SOFS', realm: 'SAMBA.TEST', dnsHostname: 'sofs.samba.test', clustering: true, rpcStartOnDemandHelpers: true, includeNodeIps: true, includePublicIps: undefined });
    expect(smb.shares).toEqual([
      { name: 'vmstore', continuousAvailability: true, scaleOut: true, cluster: true },
      { name: 'sql', continuousAvailability: true, scaleOut: true, cluster: false },
      { name: 'plain', continuousAvailability: false, scaleOut: true, cluster: false },
    ]);
    // rpcd_witness's own setting: CLUSTER on every share unless a share says no; [global] options reach the shares.
    const own = await readSambaConf(conf('rpcd.conf', `[global]\n  netbios name = SOFS\n  clustering = yes\n  rpc start on demand helpers = no\n  dns hostname = cluster.samba.test\n  smb3 share cap:SCALE OUT = no\n[a]\n  path = /srv/a\n[b]\n  path = /srv/b\n  smb3 share cap:CLUSTER = no\n`));
    expect(own.dnsHostname).toBe('cluster.samba.test');
    expect(own.shares.map((s) => [s.name, s.cluster, s.scaleOut])).toEqual([['a', true, false], ['b', false, false]]);
    await expect(readSambaConf(path.join(dir, 'missing.conf'))).rejects.toThrow(/cannot read Samba's configuration .*missing\.conf/);
  });

  test('--print-ctdb-config --smb-conf: smbd\'s names and CA shares, the rpcd witness option, a note for the share without CLUSTER', () => {
    const r = witnessd(['--print-ctdb-config', '--smb-conf', conf('print.conf', CLUSTERED)]);
    expect(r.status).toBe(0);
    const cfg = parseConfig(r.stdout, 'printed.yaml');
    expect(cfg.cluster).toMatchObject({ source: 'ctdb', server: { netbiosName: 'SOFS', dnsName: 'sofs.samba.test' }, includeNodeIps: true, includePublicIps: true });
    expect(cfg.svms[0].shares.map((s) => [s.name, s.continuouslyAvailable])).toEqual([['vmstore', true], ['sql', true]]);
    expect(r.stdout).toMatch(/read from .*print\.conf \(testparm\)/);
    expect(r.stderr).toContain('smbd will not announce CLUSTER for [sql]: add "smb3 share cap:CLUSTER = yes" there');
  }, 120_000);

  // In-process (the CLI passes --smb-conf to checkConfig; the test above runs the CLI itself).
  test('--check-config: errors for a NetBIOS name that is not smbd\'s and a CA share without CLUSTER; valid when they agree', async () => {
    const smbConf = conf('check.conf', CLUSTERED);
    // --check-config also asks ctdbd (an unreachable socket is an error of its own): a fake one answers.
    const ctdbd = await FakeCtdbd.start();
    const yaml = (netbios: string, shares: string[]) => {
      const file = path.join(dir, `w-${netbios}-${shares.join('-')}.yaml`);
      writeFileSync(file, `cluster:\n  source: ctdb\n  socket: ${ctdbd.path}\n  server: { netbiosName: ${netbios}, dnsName: sofs.samba.test }\n  shares: [${shares.map((s) => `{ name: ${s} }`).join(', ')}]\nadmin: { token: 0123456789abcdef0123 }\nauth: { accounts: [{ domain: SAMBA, user: w, password: p }] }\n`);
      return file;
    };
    const check = async (file: string) => {
      const r = formatCheck(file, await checkConfig(loadConfig(file), { file: smbConf }));
      return { status: r.code, stdout: r.text };
    };
    const bad = await check(yaml('OTHER', ['vmstore', 'sql', 'gone']));
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/^error: the CIFS server's NetBIOS name OTHER is not smbd's "netbios name" SOFS/m);
    expect(bad.stdout).toMatch(/^error: smbd will not announce CLUSTER for CA share sql: .*smb3 share cap:CLUSTER = yes/m);
    expect(bad.stdout).toMatch(/^error: CA share gone is not a disk share in smb\.conf/m);
    expect(bad.stdout).not.toMatch(/CA share vmstore/);
    const good = await check(yaml('SOFS', ['vmstore']));
    await ctdbd.dispose();
    expect(good.stdout).not.toMatch(/^error/m);
    expect(good.status).toBe(0);
  });
});
