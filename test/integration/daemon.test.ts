/**
 * The daemon's assembly: configuration reaches the rooms it is meant for, and the CLI's
 * configuration checks answer without starting anything.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { DEMO_CONFIG_YAML, parseConfig } from '../../src/cluster/config';
import { startWitnessd } from '../../src/cli/daemon';

const ROOT = path.resolve(__dirname, '../..');
const witnessd = (args: string[]) =>
  spawnSync(process.execPath, [path.join(ROOT, 'scripts/bin/witnessd.js'), ...args], { encoding: 'utf8', timeout: 60_000 });

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
      writeFileSync(good, DEMO_CONFIG_YAML);
      const ok = witnessd(['--config', good, '--check-config']);
      expect(ok.status).toBe(0);
      expect(ok.stdout).toContain('is valid');

      const bad = path.join(dir, 'bad.yaml');
      writeFileSync(bad, DEMO_CONFIG_YAML.replace('ipv4: 127.0.0.12', 'ipv4: 127.0.0.300'));
      const no = witnessd(['--config', bad, '--check-config']);
      expect(no.status).toBe(2);
      expect(no.stderr).toMatch(/bad\.yaml:\d+:\d+: svms\[0\]\.lifs\[1\]\.ipv4/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
