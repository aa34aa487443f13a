/**
 * A careless operator's edges (issue 23, item 9): a reload naming an accounts file that is not
 * there is refused with the field named (not a 500 with a stack trace) and applies nothing, so
 * the next good reload does not list it as applied; an smbpasswd line without a Samba server
 * (`witnessctl smbpasswd-line`, the password never on a command line); the admin token from a
 * file (`--token-file`) instead of the command line.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { AdminClient, AdminError } from '../../src/admin/client';
import { loadConfig } from '../../src/config';
import { startWitnessd, type Witnessd } from '../../src/cli/daemon';
import { main as witnessctl } from '../../src/cli/witnessctl';
import { parseSmbpasswd } from '../../src/auth/accounts';
import { ntHash } from '../../src/auth';
import { writeDaemonConfig, disposeDaemon, type DaemonConfig } from './restart-helpers';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '../..');

function capture() {
  const io = { outText: '', errText: '', out: (t: string) => { io.outText += `${t}\n`; }, err: (t: string) => { io.errText += `${t}\n`; }, env: {} as NodeJS.ProcessEnv, readSecret: async () => 'Alice-S3cret-pass!' };
  return io;
}

describe('careless operator', () => {
  let cfg: DaemonConfig;
  let d: Witnessd;
  const logs: string[] = [];

  beforeAll(async () => {
    cfg = await writeDaemonConfig(63, 11);
    const logger = pino({ level: 'info' }, { write: (l: string) => { logs.push(l); } });
    d = await startWitnessd(loadConfig(cfg.file), { configPath: cfg.file, witnessPort: 0, adminAddress: '127.0.0.1:0', logger });
  });
  afterAll(async () => {
    await d.close();
    await disposeDaemon(undefined, cfg);
  });

  it('a reload whose accounts file is missing is refused naming auth.accountsFile; nothing applied; the next good reload does not list it', async () => {
    const admin = new AdminClient({ url: d.admin.url });
    writeFileSync(cfg.file, cfg.yaml.replace(/auth:\n/, 'auth:\n  accountsFile: /nonexistent/witnessd.smbpasswd\n'));
    const err = await admin.post('/v1/reload').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdminError);
    expect((err as AdminError).status).toBe(400);
    expect((err as AdminError).message).toMatch(/auth\.accountsFile: cannot read the accounts file \/nonexistent\/witnessd\.smbpasswd: ENOENT/);
    expect(logs.some((l) => l.includes('admin API request failed'))).toBe(false);
    expect(logs.some((l) => l.includes('"stack"'))).toBe(false);
    expect(d.lastReload).toMatchObject({ ok: false });
    // The file as it was: a good reload with nothing changed.
    writeFileSync(cfg.file, cfg.yaml);
    const ok = await admin.post<{ applied: string[] }>('/v1/reload');
    expect(ok.applied).toEqual([]);
  });

  it('witnessctl smbpasswd-line writes a line witnessd reads, from a prompted or piped password', async () => {
    const io = capture();
    expect(await witnessctl(['smbpasswd-line', 'alice'], io)).toBe(0);
    const line = io.outText.trim();
    const parsed = parseSmbpasswd(line);
    expect(parsed.errors).toEqual([]);
    expect(Buffer.from(parsed.accounts.get('ALICE')!.ntHash).toString('hex')).toBe(ntHash('Alice-S3cret-pass!').toString('hex'));
    // The installed CLI with a piped password (no terminal): the same hash, nothing on the command line but the user.
    // (async: a synchronous spawn would stall this process's keep-alive sockets past the server's timeout)
    const r = await new Promise<{ status: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'scripts/bin/witnessctl.js'), 'smbpasswd-line', 'bob'], { stdio: ['pipe', 'pipe', 'inherit'] });
      let stdout = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
      child.on('close', (status) => resolve({ status, stdout }));
      child.stdin.end('B0b-Other-secret#\n');
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^bob:0:X{32}:${ntHash('B0b-Other-secret#').toString('hex').toUpperCase()}:\\[U {10}\\]:LCT-[0-9A-F]{8}:\\n$`));
  });

  it('--token-file reads the admin token from a file; an unreadable one is a usage error', async () => {
    const tokenFile = path.join(cfg.dir, 'admin.token');
    writeFileSync(tokenFile, 'whatever-token-0123456789\n');
    const io = capture();
    // No token is configured here: the file is read and sent; status answers.
    expect([await witnessctl(['--admin', d.admin.url, '--token-file', tokenFile, 'status'], io), io.errText]).toEqual([0, '']);
    expect(readFileSync(tokenFile, 'utf8')).toContain('whatever');
    const bad = capture();
    expect(await witnessctl(['--admin', d.admin.url, '--token-file', path.join(cfg.dir, 'missing'), 'status'], bad)).toBe(2);
    expect(bad.errText).toContain('cannot read the token file');
  });
});
