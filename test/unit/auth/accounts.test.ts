/** Account sources: the smbpasswd format (pdbedit -Lw), reload on change, the demo account. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ChainedAccountSource, MemoryAccountSource, SmbpasswdAccountSource, accountSourceFromConfig, demoAccounts, ntHash, parseSmbpasswd, type AuthLogger,
} from '../../../src/auth';

const hashOf = (p: string) => ntHash(p).toString('hex').toUpperCase();
const line = (user: string, pw: string, flags = '[U          ]') =>
  `${user}:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:${hashOf(pw)}:${flags}:LCT-5F5E0F3A:`;

describe('parseSmbpasswd', () => {
  it('reads pdbedit -Lw lines and skips disabled, machine and password-less entries', () => {
    const text = [
      '# comment',
      line('alice', 'Secret123'),
      line('bob', 'x', '[DU         ]'),
      line('HOST$', 'x', '[W          ]'),
      'nopw:1001:NO PASSWORDXXXXXXXXXXXXXXXXXXXXX:NO PASSWORDXXXXXXXXXXXXXXXXXXXXX:[NU         ]:LCT-00000000:',
      'broken line',
      'carol:1002:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:nothex:[U ]:LCT-1:',
      '',
    ].join('\n');
    const { accounts, errors } = parseSmbpasswd(text);
    expect([...accounts.keys()]).toEqual(['ALICE']);
    expect(accounts.get('ALICE')!.ntHash.equals(ntHash('Secret123'))).toBe(true);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/line 6/);
    expect(errors[1]).toMatch(/line 7.*carol/);
    expect(errors.join()).not.toMatch(/[0-9A-F]{32}/);
  });
});

describe('SmbpasswdAccountSource', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'witnessd-auth-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reloads when the file changes, at most once per recheck interval', () => {
    const file = path.join(dir, 'smbpasswd');
    fs.writeFileSync(file, line('alice', 'one') + '\n');
    let t = 0;
    const warnings: string[] = [];
    const logger: AuthLogger = { info() {}, debug() {}, warn: (_o, m) => warnings.push(m) };
    const src = new SmbpasswdAccountSource(file, { now: () => t, recheckMs: 1000, logger });
    expect(src.lookup('ALICE', 'ANY')!.ntHash.equals(ntHash('one'))).toBe(true);
    fs.writeFileSync(file, line('alice', 'two-longer') + '\n' + line('dave', 'three') + '\n');
    t = 500;
    expect(src.lookup('alice', '')!.ntHash.equals(ntHash('one'))).toBe(true); // not re-checked yet
    t = 1500;
    expect(src.lookup('alice', '')!.ntHash.equals(ntHash('two-longer'))).toBe(true);
    expect(src.lookup('Dave', '')?.user).toBe('dave');
    // A vanished file keeps the last good accounts and warns.
    fs.rmSync(file);
    t = 3000;
    expect(src.lookup('dave', '')).toBeDefined();
    expect(warnings.some((w) => /unreadable/.test(w))).toBe(true);
    src.close();
  });

  it('a missing file at start-up is an error', () => {
    expect(() => new SmbpasswdAccountSource(path.join(dir, 'nope'))).toThrow();
  });
});

describe('MemoryAccountSource and the demo account', () => {
  it('demo: DEMO\\demo / demo-password, domain-checked, case-insensitive user', () => {
    const d = demoAccounts();
    expect(d.lookup('DEMO', 'demo')!.ntHash.equals(ntHash('demo-password'))).toBe(true);
    expect(d.lookup('demo', '')).toBeDefined();
    expect(d.lookup('demo', 'OTHER')).toBeUndefined();
  });
  it('accepts hashes and refuses bad ones', () => {
    const src = new MemoryAccountSource([{ user: 'h', ntHash: hashOf('pw') }]);
    expect(src.lookup('h', 'X')!.ntHash.equals(ntHash('pw'))).toBe(true);
    expect(() => new MemoryAccountSource([{ user: 'x', ntHash: 'abc' }])).toThrow(/32 hex/);
    expect(() => new MemoryAccountSource([{ user: 'x' }])).toThrow(/password or an NT hash/);
  });
  it('chains sources in order', () => {
    const c = new ChainedAccountSource([demoAccounts(), new MemoryAccountSource([{ user: 'demo', password: 'other' }])]);
    expect(c.lookup('demo', 'DEMO')!.ntHash.equals(ntHash('demo-password'))).toBe(true);
    expect(c.lookup('demo', 'ELSEWHERE')!.ntHash.equals(ntHash('other'))).toBe(true);
  });
});

describe('accountSourceFromConfig', () => {
  it('file first, then inline accounts; an empty inline domain is local', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'witnessd-auth-'));
    try {
      const file = path.join(dir, 'smbpasswd');
      fs.writeFileSync(file, line('alice', 'from-file') + '\n');
      const src = accountSourceFromConfig({ accountsFile: file, accounts: [{ user: 'alice', domain: '', password: 'inline' }, { user: 'eve', domain: '', password: 'e' }] });
      expect(src.lookup('alice', 'X')!.ntHash.equals(ntHash('from-file'))).toBe(true);
      expect(src.lookup('eve', 'ANYDOMAIN')!.ntHash.equals(ntHash('e'))).toBe(true);
      src.close?.();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
