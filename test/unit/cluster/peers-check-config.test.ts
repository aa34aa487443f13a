/** --check-config in CTDB mode says what the peer watch needs: a token, and no single-node watcher beside it. */
import { checkConfig } from '../../../src/cli/check-config';
import { parseConfig } from '../../../src/config';

const doc = (cluster: string, rest: string) => parseConfig(`cluster: { source: ctdb, server: { netbiosName: SOFS, dnsName: sofs.test }${cluster} }\nauth: { allowAnonymous: false, accounts: [{ domain: D, user: u, password: p }] }\n${rest}`, 'c.yaml');
const messages = async (cluster: string, rest: string) => (await checkConfig(doc(cluster, rest))).map((f) => f.message).join('\n');

describe('--check-config and the peer watch (CTDB mode)', () => {
  it('no warning about a simulated watcher: the peer watch is the probe', async () => {
    const m = await messages('', 'admin: { token: a-cluster-token-0123456789 }\nwatcher: { mode: simulated }\n');
    expect(m).not.toMatch(/simulated|peerWatch/);
  });

  it('warns when the single-node watcher judges beside it, when it has no token, and when it is off', async () => {
    expect(await messages('', 'admin: { token: a-cluster-token-0123456789 }\nwatcher: { mode: smb2-negotiate }\n')).toMatch(/judges each node alone/);
    expect(await messages('', 'watcher: { mode: simulated }\n')).toMatch(/peerWatch needs admin.token/);
    expect(await messages(', peerWatch: { enabled: false }', 'watcher: { mode: simulated }\n')).toMatch(/peerWatch is off/);
  });
});
