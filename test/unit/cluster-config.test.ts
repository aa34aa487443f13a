import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { configProblems as problems } from '../helpers/config';
import { ConfigError, DEMO_CONFIG_YAML, demoConfig, loadConfig, parseConfig } from '../../src/config';
import { DEFAULT_LIMITS } from '../../src/rpc/options';
import { DEFAULT_WITNESS_OPTIONS } from '../../src/witness';


const MINIMAL = `nodes:
  - name: a
    partner: b
  - name: b
    partner: a
svms:
  - name: s
    netbiosName: S
    dnsName: s.example
    lifs:
      - name: l1
        ipv4: 10.0.0.1
        homeNode: a
`;

describe('embedded demo config', () => {
  it('is exactly the demo the scripts and documentation rely on', () => {
    const c = demoConfig();
    expect(c.nodes).toEqual([
      { name: 'node1', partner: 'node2', smbAddress: '127.0.0.11:445' },
      { name: 'node2', partner: 'node1', smbAddress: '127.0.0.12:445' },
    ]);
    expect(c.svms).toHaveLength(1);
    const s = c.svms[0];
    expect(s).toMatchObject({ name: 'vs1', netbiosName: 'SOFS', dnsName: 'sofs.demo.local', aliases: [] });
    expect(s.lifs).toEqual([
      { name: 'lif1', ipv4: '127.0.0.11', homeNode: 'node1', currentNode: 'node1', up: true },
      { name: 'lif2', ipv4: '127.0.0.12', homeNode: 'node2', currentNode: 'node2', up: true },
    ]);
    expect(s.shares).toEqual([{ name: 'vmstore', continuouslyAvailable: true, node: 'node1' }]);
    expect(c.listener).toEqual({ addresses: ['127.0.0.11', '127.0.0.12'], witnessPort: 0, epmPort: 135 });
    expect(c.admin).toEqual({ address: '127.0.0.1:8135' });
    expect(c.watcher.mode).toBe('simulated');
    expect(c.auth.allowAnonymous).toBe(true);
    expect(c.auth.accounts).toEqual([{ domain: 'DEMO', user: 'demo', password: 'demo-password' }]);
    expect(c.timeouts.unusedRegistrationSeconds).toBe(30);
    expect(c.source).toBe('<embedded demo config>');
  });

  it('is valid YAML text that round-trips through a file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'witnessd-cfg-'));
    try {
      const f = path.join(dir, 'demo.yaml');
      writeFileSync(f, DEMO_CONFIG_YAML);
      const c = loadConfig(f);
      expect({ ...c, source: '' }).toEqual({ ...demoConfig(), source: '' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('defaults', () => {
  it('fills in every section', () => {
    const c = parseConfig(MINIMAL, 'm.yaml');
    expect(c.watcher).toEqual({ mode: 'smb2-negotiate', intervalMs: 500, timeoutMs: 400, failureThreshold: 3, recoveryThreshold: 2 });
    // With the defaults a dead SMB server is declared down within 2 s: the first failing probe
    // starts at most one interval after the death, then (threshold-1) more intervals, plus one timeout.
    const w = c.watcher;
    expect(w.intervalMs * w.failureThreshold + w.timeoutMs).toBeLessThanOrEqual(2000);
    expect(c.admin.address).toBe('127.0.0.1:8135');
    expect(c.auth).toEqual({ minimumLevel: 'integrity', allowAnonymous: false, ntlm: true, accounts: [] });
    expect(c.listener).toEqual({ addresses: ['10.0.0.1'], witnessPort: 0, epmPort: 135 });
    expect(c.timeouts).toEqual({ unusedRegistrationSeconds: 30, keepAliveMaxSeconds: 3600 });
    expect(c.limits.maxRegistrationsPerClient).toBeGreaterThan(0);
    expect(c.logging.level).toBe('info');
    expect(c.svms[0].lifs[0]).toEqual({ name: 'l1', ipv4: '10.0.0.1', homeNode: 'a', currentNode: 'a', up: true });
  });

  it('the Witness service and the RPC runtime, left to themselves, use the same defaults as a configuration without limits: or timeouts:', () => {
    const c = parseConfig(MINIMAL, 'm.yaml');
    expect(DEFAULT_WITNESS_OPTIONS).toMatchObject({
      maxRegistrations: c.limits.maxRegistrations,
      maxRegistrationsPerClient: c.limits.maxRegistrationsPerClient,
      unusedTimeoutMs: c.timeouts.unusedRegistrationSeconds * 1000,
      keepAliveMaxSeconds: c.timeouts.keepAliveMaxSeconds,
    });
    expect(DEFAULT_LIMITS.maxPendingCallsPerConnection).toBe(c.limits.maxPendingCallsPerConnection);
  });

  it('an empty listener.addresses means every data LIF address, as an absent one', () => {
    expect(parseConfig(`${MINIMAL}listener:\n  addresses: []\n`, 'm.yaml').listener.addresses).toEqual(['10.0.0.1']);
  });

  it('canonicalises IPv6 LIF addresses', () => {
    const c = parseConfig(MINIMAL.replace('ipv4: 10.0.0.1', 'ipv6: 2001:DB8:0:0:0:0:0:1'), 'm.yaml');
    expect(c.svms[0].lifs[0].ipv6).toBe('2001:db8::1');
    expect(c.listener.addresses).toEqual(['2001:db8::1']);
  });

  it('resolves a relative accountsFile against the config file directory', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'witnessd-cfg-'));
    try {
      const f = path.join(dir, 'c.yaml');
      writeFileSync(f, `${MINIMAL}auth:\n  accountsFile: accounts.txt\n`);
      expect(loadConfig(f).auth.accountsFile).toBe(path.join(dir, 'accounts.txt'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('clusapi', () => {
  it('anonymous resource control is off unless asked for; the demo asks for it', () => {
    expect(parseConfig(MINIMAL, 'm.yaml').clusapi).toEqual({ enabled: true, allowAnonymous: false });
    expect(demoConfig().clusapi).toEqual({ enabled: true, allowAnonymous: true });
  });

  it('RPC limits are optional and bounded', () => {
    expect(parseConfig(MINIMAL, 'm.yaml').limits.maxConnections).toBeUndefined();
    const c = parseConfig(`${MINIMAL}limits:\n  maxConnections: 500\n  partialPduMs: 5000\n`, 'l.yaml');
    expect(c.limits).toMatchObject({ maxConnections: 500, partialPduMs: 5000 });
    expect(() => parseConfig(`${MINIMAL}limits:\n  partialPduMs: 5\n`, 'l.yaml')).toThrow(/l\.yaml:\d+:\d+: limits\.partialPduMs/);
  });
});

describe('errors name file, line and field', () => {
  it('a bad IPv4 address', () => {
    expect(problems(MINIMAL.replace('10.0.0.1', '10.0.0.300'))).toEqual(['test.yaml:12:15: svms[0].lifs[0].ipv4: not an IPv4 address (dotted quad)']);
  });

  it('an unknown field is shown at the key (typo protection)', () => {
    expect(problems(MINIMAL.replace('    partner: b\n', '    partnr: b\n'))).toEqual(['test.yaml:3:5: nodes[0].partnr: unknown field "partnr"']);
  });

  it('a missing required field points at its parent', () => {
    expect(problems(MINIMAL.replace('        homeNode: a\n', ''))).toEqual(['test.yaml:11:9: svms[0].lifs[0].homeNode: required field is missing']);
  });

  it('a LIF without any address', () => {
    expect(problems(MINIMAL.replace('        ipv4: 10.0.0.1\n', ''))).toEqual([
      'test.yaml:11:9: svms[0].lifs[0]: a data LIF needs an ipv4 or an ipv6 address (or both)',
    ]);
  });

  it('several problems, in line order', () => {
    const text = MINIMAL.replace('netbiosName: S', 'netbiosName: WAY-TOO-LONG-NETBIOS') + 'watcher:\n  mode: ping\n';
    expect(problems(text)).toEqual([
      'test.yaml:8:18: svms[0].netbiosName: a NetBIOS name has at most 15 characters',
      expect.stringMatching(/^test\.yaml:15:9: watcher\.mode: Invalid enum value/),
    ]);
  });

  it('duplicate names and addresses', () => {
    const text = MINIMAL + `      - name: l1\n        ipv4: 10.0.0.1\n        homeNode: b\n`;
    expect(problems(text)).toEqual([
      'test.yaml:14:15: svms[0].lifs[1].name: duplicate LIF name "l1" (first at index 0)',
      'test.yaml:15:15: svms[0].lifs[1].ipv4: duplicate LIF address "10.0.0.1" (first at index 0)',
    ]);
  });

  it('the admin API on a non-loopback address needs a token', () => {
    expect(problems(`${MINIMAL}admin:\n  address: 10.1.2.3:8135\n`)).toEqual([
      'test.yaml:15:12: admin.address: admin API on non-loopback address 10.1.2.3 needs admin.token',
    ]);
    const ok = parseConfig(`${MINIMAL}admin:\n  address: 10.1.2.3:8135\n  token: 0123456789abcdef0123\n`, 't.yaml');
    expect(ok.admin.token).toBe('0123456789abcdef0123');
  });

  it('watcher timeout larger than the interval', () => {
    expect(problems(`${MINIMAL}watcher:\n  intervalMs: 200\n  timeoutMs: 300\n`)).toEqual([
      'test.yaml:16:14: watcher.timeoutMs: timeoutMs must not exceed intervalMs',
    ]);
  });

  it('YAML syntax errors keep their position', () => {
    const lines = problems('nodes: [\n  - a');
    expect(lines).toHaveLength(lines.length);
    expect(lines[0]).toMatch(/^test\.yaml:\d+:\d+: /);
  });

  it('an empty document or a scalar', () => {
    expect(problems('')).toEqual(['test.yaml:1:1: the configuration must be a YAML mapping (nodes:, svms:, ...)']);
    expect(problems('hello')).toEqual(['test.yaml:1:1: the configuration must be a YAML mapping (nodes:, svms:, ...)']);
  });

  it('a missing file', () => {
    expect(() => loadConfig('/nonexistent/witnessd.yaml')).toThrow('/nonexistent/witnessd.yaml: cannot read: ENOENT');
  });
});
