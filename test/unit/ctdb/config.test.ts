/**
 * CTDB mode's configuration: the printed template is valid as printed; no nodes or IPs in
 * the YAML; errors name the file, the line and the field; the YAML mode is untouched.
 */
import { ConfigError, ctdbConfigTemplate, ctdbSettings, DEMO_CONFIG_YAML, parseConfig } from '../../../src/config';
import { pnnOfNodeName, ctdbNodeName } from '../../../src/cluster/ctdb/names';

const TOKEN = 'abcdefghijklmnopqrstuvwxyz012345';

describe('CTDB mode configuration', () => {
  it('the printed production config parses as printed, with its auth section and the cluster token', () => {
    const c = parseConfig(ctdbConfigTemplate(TOKEN), 'printed.yaml');
    expect(c.cluster).toMatchObject({
      source: 'ctdb', socket: '/run/ctdb/ctdbd.socket', nodemapPollMs: 100, resyncMs: 5000, smbPort: 445,
      server: { netbiosName: 'SOFS', dnsName: 'sofs.example.com', aliases: [] }, shares: [{ name: 'data', continuouslyAvailable: true }],
      adminAddress: undefined, followIps: true,
    });
    expect(c.admin.token).toBe(TOKEN);
    expect(c.auth).toMatchObject({ minimumLevel: 'integrity', allowAnonymous: false, accounts: [{ domain: 'EXAMPLE', user: 'witness' }] });
    expect(c.listener).toMatchObject({ witnessPort: 0, epmPort: 135, addresses: [] });
    expect(c.nodes).toEqual([]);
    expect(c.svms).toEqual([expect.objectContaining({ name: 'SOFS', netbiosName: 'SOFS', lifs: [], shares: [{ name: 'data', continuouslyAvailable: true, node: '' }] })]);
  });

  it('listener.addresses turns following the IPs off (the wildcard); admin.address is kept as written', () => {
    const c = parseConfig(`cluster: { source: ctdb, server: { netbiosName: X, dnsName: x.test } }\nlistener: { addresses: ['0.0.0.0'] }\nadmin: { address: '127.0.0.1:9000' }\n`, 'w.yaml');
    expect(c.cluster).toMatchObject({ followIps: false, adminAddress: '127.0.0.1:9000' });
    expect(c.listener.addresses).toEqual(['0.0.0.0']);
  });

  it('nodes or svms in CTDB mode, and bad CTDB fields, are errors with line and field', () => {
    const bad = (yaml: string) => {
      try {
        parseConfig(yaml, 'bad.yaml');
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(bad('cluster:\n  source: ctdb\n  server: { netbiosName: X, dnsName: x.test }\nnodes:\n  - name: a\n')).toMatch(/^bad\.yaml:4:1: nodes: unknown field "nodes"/);
    expect(bad('cluster:\n  source: ctdb\n  nodemapPollMs: 5\n  server: { netbiosName: X, dnsName: x.test }\n')).toMatch(/bad\.yaml:3:\d+: cluster\.nodemapPollMs: /);
    expect(bad('cluster:\n  source: ctdb\n')).toMatch(/cluster\.server: required field is missing/);
    expect(bad('cluster:\n  source: ctdb\n  server: { netbiosName: "TOO-LONG-FOR-NETBIOS", dnsName: x.test }\n')).toMatch(/cluster\.server\.netbiosName: a NetBIOS name has at most 15/);
    expect(bad('cluster:\n  source: ctdb\n  server: { netbiosName: X, dnsName: x.test }\nadmin: { token: short }\n')).toMatch(/admin\.token: an admin token has at least 16/);
    // An unknown source is the YAML mode's error.
    expect(bad('cluster:\n  source: pacemaker\n')).toMatch(/cluster\.source/);
  });

  it('the YAML mode is unchanged, and accepts an explicit cluster.source: yaml', () => {
    expect(parseConfig(DEMO_CONFIG_YAML, 'demo').cluster).toEqual({ source: 'yaml' });
    expect(ctdbSettings(parseConfig(DEMO_CONFIG_YAML, 'demo'))).toBeUndefined();
    const explicit = parseConfig(`cluster:\n  source: yaml\n${DEMO_CONFIG_YAML}`, 'demo');
    expect(explicit.nodes.length).toBeGreaterThan(0);
    expect(explicit.cluster).toEqual({ source: 'yaml' });
  });

  it('node names are pnnN', () => {
    expect(ctdbNodeName(2)).toBe('pnn2');
    expect(pnnOfNodeName('pnn12')).toBe(12);
    expect(pnnOfNodeName('node1')).toBeUndefined();
  });
});
