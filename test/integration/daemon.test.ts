/**
 * The daemon's assembly: configuration reaches the rooms it is meant for, and the CLI's
 * configuration checks answer without starting anything.
 */
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { DEMO_CONFIG_YAML, parseConfig } from '../../src/config';
import { startWitnessd } from '../../src/cli/daemon';

const ROOT = path.resolve(__dirname, '../..');
const witnessd = (args: string[]) =>
  spawnSync(process.execPath, [path.join(ROOT, 'scripts/bin/witnessd.js'), ...args], { encoding: 'utf8', timeout: 60_000 });

// The demo with ports nothing else on this machine holds (135 may be another test's).
const CHECKABLE = DEMO_CONFIG_YAML.replace('epmPort: 135', 'epmPort: 0').replace('127.0.0.1:8135', '127.0.0.1:0');

describe('witnessd assembly', () => {
  it('passes the configured RPC limits to the runtime and serves clusapi only when enabled', async () => {
    const yaml = `${DEMO_CONFIG_YAML.replace(/clusapi:\n  enabled: true/, 'clusapi:\n  enabled: false')}`
      .replace('limits:\n', 'limits:\n  maxConnections: 321\n  partialPduMs: 4000\n');
    const d = await startWitnessd(parseConfig(yaml, 'limits.yaml'), {
      logger: pino({ level: 'silent' }), epmPort: 0, witnessPort: 0, adminAddress: '127.0.0.1:0',
    });
    try {
      expect(d.rpc.options.limits).toMatchObject({ maxConnections: 321, partialPduMs: 4000, maxPendingCallsPerConnection: 64 });
      expect(d.witnessEndpoint.interfaces.map((i) => i.uuid)).toEqual(['ccd8c074-d0e5-4a40-92b4-d074faa6ba28']);
      expect(d.epmEndpoint?.port).toBeGreaterThan(0);
    } finally {
      await d.close();
    }
  }, 30_000);

  it('--check-config reports a valid file, and a bad one with file, line and field', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'witnessd-cfg-'));
    try {
      const good = path.join(dir, 'good.yaml');
      writeFileSync(good, CHECKABLE);
      const ok = witnessd(['--config', good, '--check-config']);
      expect(ok.status).toBe(0);
      expect(ok.stdout).toContain('is valid');

      const bad = path.join(dir, 'bad.yaml');
      writeFileSync(bad, DEMO_CONFIG_YAML.replace('ipv4: 127.0.0.12', 'ipv4: 127.0.0.300'));
      const no = witnessd(['--config', bad, '--check-config']);
      expect(no.status).toBe(1); // as the README says: 1 = this configuration would not work
      expect(no.stderr).toMatch(/bad\.yaml:\d+:\d+: svms\[0\]\.lifs\[1\]\.ipv4/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('--check-config checks what start-up would hit: accounts file, local addresses, ports in use, production safety; message and exit code agree', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'witnessd-cfg-'));
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    try {
      const check = (name: string, yaml: string) => {
        const file = path.join(dir, name);
        writeFileSync(file, yaml);
        return witnessd(['--config', file, '--check-config']);
      };
      const demo = check('demo.yaml', CHECKABLE);
      expect(demo.status).toBe(0);
      expect(demo.stdout).toMatch(/^warning: auth\.allowAnonymous is on/m);
      expect(demo.stdout).toMatch(/^warning: clusapi\.allowAnonymous is on/m);
      expect(demo.stdout).toMatch(/^warning: watcher\.mode is simulated/m);

      const accounts = path.join(dir, 'smbpasswd');
      writeFileSync(accounts, 'demo:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:nothex:[U          ]:LCT-00000000:\n');
      const bad = check('bad.yaml', CHECKABLE
        .replace('allowAnonymous: true  #', 'allowAnonymous: false  #')
        .replace('accounts:\n', 'accountsFile: smbpasswd\n  accounts:\n')
        .replace('addresses: [127.0.0.11, 127.0.0.12]', 'addresses: [127.0.0.11, 192.0.2.1]')
        .replace('127.0.0.1:0', `127.0.0.1:${(busy.address() as net.AddressInfo).port}`));
      expect(bad.status).toBe(1);
      expect(bad.stdout).toMatch(/^error: auth\.accountsFile .*smbpasswd: line 1: user demo: NT hash is not 32 hex digits$/m);
      expect(bad.stdout).toMatch(/^error: listener address 192\.0\.2\.1 is not configured on this host/m);
      expect(bad.stdout).toMatch(/^error: admin\.address 127\.0\.0\.1:\d+ is in use by another program/m);
      expect(bad.stdout).not.toMatch(/allowAnonymous is on/);
      expect(bad.stdout).toMatch(/would not work: 3 error\(s\), 1 warning\(s\)\n$/);

      const missing = check('missing.yaml', CHECKABLE.replace('accounts:\n', 'accountsFile: /nonexistent/smbpasswd\n  accounts:\n'));
      expect(missing.status).toBe(1);
      expect(missing.stdout).toMatch(/^error: auth\.accountsFile \/nonexistent\/smbpasswd cannot be read/m);
    } finally {
      busy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
