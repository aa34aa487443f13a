/** The auth section's Kerberos keys (auth.kerberos, auth.ntlm): validation, defaults, paths, and the SPNs the config serves. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { configProblems as problems } from '../helpers/config';
import { ConfigError, loadConfig, parseConfig } from '../../src/config';
import { encodeKeytab } from '../../src/auth/krb5/keytab';
import { kerberosFindings, kerberosServiceNames } from '../../src/cli/security-providers';

const MINIMAL = `nodes:
  - name: a
    partner: b
  - name: b
    partner: a
svms:
  - name: s
    netbiosName: SOFS
    dnsName: sofs.example.test
    lifs:
      - name: l1
        ipv4: 10.0.0.1
        homeNode: a
`;


describe('auth.kerberos and auth.ntlm', () => {
  it('defaults: NTLM on, no Kerberos', () => {
    const c = parseConfig(MINIMAL, 'm.yaml');
    expect(c.auth.ntlm).toBe(true);
    expect(c.auth.kerberos).toBeUndefined();
  });

  it('takes a keytab with principals, an allow-list and a clock skew', () => {
    const c = parseConfig(
      `${MINIMAL}auth:\n  ntlm: false\n  kerberos:\n    keytab: /etc/witnessd/sofs.keytab\n    principals: [cifs/sofs.example.test, host/SOFS@EXAMPLE.TEST]\n` +
        `    allowedPrincipals: [alice@EXAMPLE.TEST, S-1-5-21-1-2-3-513]\n    clockSkewSeconds: 120\n`,
      'k.yaml',
    );
    expect(c.auth.ntlm).toBe(false);
    expect(c.auth.kerberos).toEqual({
      keytab: '/etc/witnessd/sofs.keytab',
      principals: ['cifs/sofs.example.test', 'host/SOFS@EXAMPLE.TEST'],
      allowedPrincipals: ['alice@EXAMPLE.TEST', 'S-1-5-21-1-2-3-513'],
      clockSkewSeconds: 120,
    });
  });

  it('names the field of each mistake, with its line', () => {
    expect(problems(`${MINIMAL}auth:\n  kerberos: {}\n`)).toEqual(['test.yaml:15:13: auth.kerberos.keytab: required field is missing']);
    expect(problems(`${MINIMAL}auth:\n  kerberos:\n    keytab: k\n    principals: [sofs.example.test]\n`)).toEqual([
      'test.yaml:17:18: auth.kerberos.principals[0]: a service principal name is service/host[@REALM], e.g. cifs/sofs.example.test',
    ]);
    expect(problems(`${MINIMAL}auth:\n  kerberos:\n    keytab: k\n    clockSkewSeconds: -1\n`)[0]).toMatch(/^test\.yaml:17:23: auth\.kerberos\.clockSkewSeconds: /);
    expect(problems(`${MINIMAL}auth:\n  kerberos:\n    keytab: k\n    realm: X\n`)).toEqual(['test.yaml:17:5: auth.kerberos.realm: unknown field "realm"']);
    expect(problems(`${MINIMAL}auth:\n  ntlm: false\n`)).toEqual([
      'test.yaml:15:9: auth.ntlm: auth.ntlm is false and there is no auth.kerberos: no client could authenticate',
    ]);
  });

  it('resolves a relative keytab against the config file directory', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'witnessd-cfg-'));
    try {
      const f = path.join(dir, 'c.yaml');
      writeFileSync(f, `${MINIMAL}auth:\n  kerberos:\n    keytab: sofs.keytab\n`);
      expect(loadConfig(f).auth.kerberos?.keytab).toBe(path.join(dir, 'sofs.keytab'));
      writeFileSync(f, `${MINIMAL}auth:\n  kerberos:\n    keytab: /abs/sofs.keytab\n`);
      expect(loadConfig(f).auth.kerberos?.keytab).toBe('/abs/sofs.keytab');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves cifs/ and host/ under the NetBIOS and the DNS name of every SVM', () => {
    const c = parseConfig(MINIMAL, 'm.yaml');
    expect(kerberosServiceNames(c)).toEqual(['cifs/SOFS', 'cifs/sofs.example.test', 'host/SOFS', 'host/sofs.example.test']);
  });
});

describe('--check-config findings for auth.kerberos (kerberosFindings)', () => {
  const entry = (spn: string) => ({
    realm: 'EXAMPLE.TEST', components: spn.split('/'), timestamp: 0, kvno: 2, enctype: 18, key: Buffer.alloc(32, 7),
  });
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'witnessd-kt-'));
    // cifs/ under both names, host/ only under the NetBIOS name.
    writeFileSync(path.join(dir, 'sofs.keytab'), encodeKeytab(['cifs/SOFS', 'cifs/sofs.example.test', 'host/SOFS'].map(entry)));
    writeFileSync(path.join(dir, 'garbage.keytab'), 'not a keytab');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const findings = (kerberos: string) => {
    const f = path.join(dir, 'c.yaml');
    writeFileSync(f, `${MINIMAL}auth:\n  kerberos:\n${kerberos}`);
    return kerberosFindings(loadConfig(f));
  };

  it('warns about each served SPN without a key, nothing else', () => {
    expect(findings('    keytab: sofs.keytab\n')).toEqual([
      { severity: 'warning', message: expect.stringMatching(/^clients that ask for host\/sofs\.example\.test are refused: .*no key for host\/sofs\.example\.test/) },
    ]);
  });

  it('a missing or unparsable keytab is an error naming the file', () => {
    const missing = findings('    keytab: nosuch.keytab\n');
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatchObject({ severity: 'error', message: expect.stringMatching(/^auth\.kerberos\.keytab: .*nosuch\.keytab.*ENOENT/) });
    const garbage = findings('    keytab: garbage.keytab\n');
    expect(garbage).toEqual([{ severity: 'error', message: expect.stringMatching(/^auth\.kerberos\.keytab: .*garbage\.keytab/) }]);
  });

  it('configured principals: one without a key is an error; served SPNs left out are warnings', () => {
    expect(findings('    keytab: sofs.keytab\n    principals: [cifs/SOFS, cifs/sofs.example.test, host/sofs.example.test]\n')).toEqual([
      { severity: 'error', message: expect.stringMatching(/^auth\.kerberos\.principals: .*no key for host\/sofs\.example\.test/) },
      { severity: 'warning', message: 'SPN host/SOFS is not in auth.kerberos.principals: clients that ask for it are refused' },
    ]);
  });
});
