/** The auth section's Kerberos keys (auth.kerberos, auth.ntlm): validation, defaults, paths, and the SPNs the config serves. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../src/cluster/config';
import { kerberosServiceNames } from '../../src/cli/security-providers';

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

function problems(text: string): string[] {
  try {
    parseConfig(text, 'test.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message.split('\n');
  }
  throw new Error('expected a ConfigError');
}

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
