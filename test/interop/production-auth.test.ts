/**
 * The README's production setting (auth.allowAnonymous false, minimumLevel integrity) against
 * real clients with credentials (issue 13 item 1). Every client here resolves the witness port
 * through the endpoint mapper on 135 the way Windows does: an unauthenticated ept_map first,
 * then an authenticated bind to the port it got. The endpoint mapper answers the anonymous
 * lookup; Witness (and clusapi) refuse anonymous calls and serve signed or sealed ones.
 */
import {
  describeWithPeers, InteractiveRpcclient, rpcclientTarget, runRpcclient, runSmbtorture, runTool, startSmbd, startWitnessd,
  systemPython, TEST_CLUSTER, TEST_CREDENTIALS, type SmbdInstance, type SmbtortureRun, type WitnessdInstance,
} from './helpers';

const HOST = TEST_CLUSTER.node1.address;
const PARTNER_IP = TEST_CLUSTER.node2.address;
const NET = TEST_CLUSTER.netbiosName;
const WITNESS_UUID = 'ccd8c074-d0e5-4a40-92b4-d074faa6ba28';
const PRODUCTION = { minimumLevel: 'integrity', allowAnonymous: false } as const;

// impacket: hept_map without credentials, then GetInterfaceList (opnum 0) on the port it
// returned, once at integrity with NTLM and once anonymously. Prints one line per step.
const IMPACKET = `
import sys
from impacket.dcerpc.v5 import transport, epm, rpcrt
from impacket.uuid import uuidtup_to_bin
host, user, pw, dom = sys.argv[1:5]
W = uuidtup_to_bin(('${WITNESS_UUID}', '1.1'))
s = epm.hept_map(host, W, protocol='ncacn_ip_tcp')
print('MAP', s, flush=True)
for who in ('creds', 'anonymous'):
    t = transport.DCERPCTransportFactory(s)
    t.set_connect_timeout(10)
    if who == 'creds':
        t.set_credentials(user, pw, dom)
    dce = t.get_dce_rpc()
    if who == 'creds':
        dce.set_auth_type(rpcrt.RPC_C_AUTHN_WINNT)
        dce.set_auth_level(rpcrt.RPC_C_AUTHN_LEVEL_PKT_INTEGRITY)
    dce.connect()
    dce.bind(W)
    try:
        dce.call(0, b'')
        r = dce.recv()
        print('LIST', who, 'werror=0x%x' % int.from_bytes(r[-4:], 'little'), flush=True)
    except rpcrt.DCERPCException as e:
        print('FAULT', who, str(e), flush=True)
    dce.disconnect()
`;

describeWithPeers('production auth (anonymous off, integrity minimum): rpcclient, smbtorture, impacket through the endpoint mapper', ['rpcclient', 'smbtorture', 'smbd', 'impacket'], () => {
  let daemon: WitnessdInstance | undefined;
  let smbd: SmbdInstance | undefined;
  const logs = (): string => daemon?.output(40) ?? '';

  beforeAll(async () => {
    smbd = await startSmbd({ addresses: [HOST, PARTNER_IP], netbiosName: 'NODES', account: { user: TEST_CLUSTER.account.user, password: TEST_CLUSTER.account.password } });
    // clusapi.allowAnonymous stays as the test cluster sets it (true): auth.allowAnonymous false overrides it.
    daemon = await startWitnessd({ watcher: { mode: 'simulated' }, auth: PRODUCTION });
  }, 120_000);

  afterAll(async () => {
    await daemon?.stop();
    await smbd?.dispose();
  }, 60_000);

  it('rpcclient without credentials: epmmap answers (the lookup is anonymous), GetInterfaceList is refused', async () => {
    const map = await runRpcclient(`ncacn_ip_tcp:${HOST}`, '%', ['epmmap witness ncacn_ip_tcp']);
    expect(map.stdout).toMatch(new RegExp(`tower\\[0\\] ncacn_ip_tcp:${HOST.replace(/\./g, '\\.')}\\[${daemon!.witnessPort},abstract_syntax=${WITNESS_UUID}`));
    const list = await runRpcclient(`ncacn_ip_tcp:${HOST}`, '%', ['GetInterfaceList']);
    expect(`${list.stdout}\n${list.stderr}`).toMatch(/ACCESS_DENIED/);
    expect(list.stdout).not.toMatch(/ V2$/m);
  }, 60_000);

  for (const auth of ['sign', 'seal'] as const) {
    it(`rpcclient -U DEMO\\demo [${auth}]: GetInterfaceList, RegisterEx, AsyncNotify (WERR_TIMEOUT), UnRegister`, async () => {
      const target = rpcclientTarget(HOST, auth, TEST_CREDENTIALS);
      expect(target.binding).toBe(`ncacn_ip_tcp:${HOST}[${auth}]`); // the issue's command: no port, found through ept_map
      const client = InteractiveRpcclient.start(target.binding, target.user, 2 * 60_000);
      const why = (e: unknown): Error => new Error(`${(e as Error).message}\n--- rpcclient ---\n${client.stdout}\n${client.tool.stderr}\n${logs()}`);
      try {
        await client.command('GetInterfaceList', new RegExp(`^\\*\\+ ${TEST_CLUSTER.node2.name} ${PARTNER_IP.replace(/\./g, '\\.')} V2$`, 'm'), 20_000, 'the witness interface').catch((e) => { throw why(e); });
        const h = await client.register(`-n ${NET} -i ${PARTNER_IP} -t 1 -c prod-${auth}`, 15_000, 'RegisterEx').catch((e) => { throw why(e); });
        expect(h).toMatch(/^0:[0-9a-f-]{36}$/);
        await client.command(`AsyncNotify ${h}`, /result was WERR_TIMEOUT/, 20_000, 'WERR_TIMEOUT').catch((e) => { throw why(e); });
        const mark = await client.send(`UnRegister ${h}`);
        await client.command(`UnRegister ${h}`, /result was WERR_INVALID_PARAMETER/, 15_000, 'the second UnRegister refused').catch((e) => { throw why(e); });
        expect(client.stdout.slice(mark).match(/result was/g)).toHaveLength(1);
        expect(client.stdout + client.tool.stderr).not.toMatch(/ACCESS_DENIED/);
      } finally {
        await client.stop();
      }
    }, 90_000);
  }

  describe('smbtorture rpc.witness.witness with credentials, the port resolved through the endpoint mapper', () => {
    const SUBTESTS = ['GetInterfaceList', 'Register', 'UnRegister', 'RegisterEx', 'AsyncNotify'] as const;
    let run: SmbtortureRun | undefined;
    beforeAll(async () => {
      run = await runSmbtorture({
        binding: `ncacn_ip_tcp:${HOST}[sign]`, user: TEST_CREDENTIALS, netName: NET,
        tests: SUBTESTS.map((t) => `rpc.witness.witness.${t}`), timeoutMs: 150_000,
      });
    }, 170_000);
    for (const sub of SUBTESTS) {
      it(sub, () => {
        const r = run!.byName(sub);
        if (r?.status !== 'success') throw new Error(`${sub}: ${r ? `${r.status}: ${r.reason}` : 'not reported'}\n${run!.summary()}\n${logs()}`);
        expect(r.status).toBe('success');
      });
    }
    it('anonymous smbtorture is refused (access denied), not served', async () => {
      const anon = await runSmbtorture({ binding: `ncacn_ip_tcp:${HOST}`, user: '%', netName: NET, tests: ['rpc.witness.witness.GetInterfaceList'], timeoutMs: 60_000 });
      expect(anon.byName('GetInterfaceList')?.status).not.toBe('success');
      expect(`${anon.tool.stdout}\n${anon.tool.stderr}`).toMatch(/ACCESS_DENIED|access denied/i);
    }, 90_000);
  });

  it('impacket: anonymous hept_map, then GetInterfaceList at integrity with NTLM succeeds and without credentials is access denied', async () => {
    const { domain, user, password } = TEST_CLUSTER.account;
    const r = await runTool(systemPython()!, ['-c', IMPACKET, HOST, user, password, domain], { timeoutMs: 60_000 });
    const lines = r.stdout.split('\n').filter((l) => l);
    if (lines.length !== 3) throw new Error(`${r.stdout}\n${r.stderr}\n${logs()}`);
    expect(lines[0]).toBe(`MAP ncacn_ip_tcp:${HOST}[${daemon!.witnessPort}]`);
    expect(lines[1]).toBe('LIST creds werror=0x0');
    expect(lines[2]).toMatch(/^FAULT anonymous .*access_denied/i);
  }, 90_000);
});
