/**
 * NDR64 against real peers (issue 15 group 9), the daemon on the test cluster with a tshark
 * capture running:
 *   - smbtorture (Samba 4.22) rpc.witness.witness.GetInterfaceList with `[ndr64]` anonymous
 *     and `[sign,ndr64]`, `[seal,ndr64]` with credentials: its binds offer NDR64 only, and the
 *     answer (unique pointer, conformant array, the group-name and address overrides) is
 *     signed or sealed in NDR64. Not the other subtests: Register, RegisterEx and AsyncNotify
 *     first open srvsvc on smbd with the same binding flags, and Samba's own smbd refuses
 *     NDR64 there (NT_STATUS_RPC_UNSUPPORTED_NAME_SYNTAX); UnRegister makes no call without
 *     them. Those operations run over NDR64 with impacket instead (ndr64-impacket.test.ts),
 *     and their NDR64 bytes are checked against python3-samba (ndr64-samba.test.ts).
 *   - rpcclient (Samba 4.22) with the same flags works, but the capture shows it still binds
 *     NDR 2.0: its client (source3) ignores `ndr64` on ncacn_ip_tcp.
 *   - tshark decodes the capture with zero malformed packets; every bind offering NDR64 was
 *     accepted with NDR64; the witness calls in it are dissected.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  describeWithPeers, runRpcclient, runSmbtorture, runTool, RunningTool, sleep, startTool, startWitnessd,
  TEST_CLUSTER, TEST_CREDENTIALS, WitnessdInstance,
} from './helpers';
import { NDR64_SYNTAX, NDR_SYNTAX } from '../../src/rpc/constants';

const HOST = TEST_CLUSTER.node1.address;
const SUBTESTS = ['GetInterfaceList'] as const;
const VARIANTS = [
  { flags: 'ndr64', user: '%' },
  { flags: 'sign,ndr64', user: TEST_CREDENTIALS },
  { flags: 'seal,ndr64', user: TEST_CREDENTIALS },
] as const;

describeWithPeers('NDR64 with smbtorture, rpcclient and tshark', ['rpcclient', 'smbtorture', 'tshark'], () => {
  let daemon: WitnessdInstance | undefined;
  let capture: RunningTool | undefined;
  let dir = '';
  let pcap = '';

  const read = async (extra: readonly string[]): Promise<string> => {
    const r = await runTool('tshark', ['-r', pcap, '-o', `ntlmssp.nt_password:${TEST_CLUSTER.account.password}`, '-d', `tcp.port==${daemon!.witnessPort},dcerpc`, ...extra], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`$ ${r.command}\nexit ${r.code}\n${r.stderr}`);
    return r.stdout;
  };
  const rows = async (filter: string, names: readonly string[]): Promise<string[][]> =>
    (await read(['-Y', filter, '-T', 'fields', '-E', 'separator=\t', ...names.flatMap((n) => ['-e', n])]))
      .split('\n').filter((l) => l.trim() !== '').map((l) => l.split('\t'));

  beforeAll(async () => {
    daemon = await startWitnessd({ watcher: { mode: 'simulated' } });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'witness-ndr64-'));
    pcap = path.join(dir, 'ndr64.pcapng');
    capture = startTool('tshark', ['-i', 'lo', '-f', `tcp port ${daemon.witnessPort}`, '-w', pcap], { timeoutMs: 10 * 60_000, cwd: dir });
    await capture.waitFor((_o, e) => /Capturing on/.test(e), 30_000, 'tshark to start capturing');
    await sleep(500);
  }, 90_000);

  afterAll(async () => {
    await capture?.stop(5000, 'SIGINT');
    await daemon?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  for (const { flags, user } of VARIANTS) {
    it(`smbtorture rpc.witness.witness [${flags}]: ${SUBTESTS.join(', ')}`, async () => {
      const run = await runSmbtorture({
        binding: `ncacn_ip_tcp:${HOST}[${daemon!.witnessPort},${flags}]`, user, netName: TEST_CLUSTER.netbiosName,
        tests: SUBTESTS.map((t) => `rpc.witness.witness.${t}`), timeoutMs: 120_000,
      });
      const why = `${run.summary()}\n${daemon?.output(40) ?? ''}`;
      for (const sub of SUBTESTS) expect({ sub, status: run.byName(sub)?.status, why }).toEqual({ sub, status: 'success', why });
      expect({ code: run.tool.code, why }).toEqual({ code: 0, why });
    }, 130_000);
  }

  it('rpcclient [ndr64], [sign,ndr64], [seal,ndr64]: GetInterfaceList works (over NDR 2.0, see below)', async () => {
    for (const { flags, user } of VARIANTS) {
      const r = await runRpcclient(`ncacn_ip_tcp:${HOST}[${daemon!.witnessPort},${flags}]`, user, ['GetInterfaceList'], 30_000);
      expect({ flags, out: r.stdout }).toEqual({ flags, out: expect.stringMatching(/^\*\+ node2 127\.0\.0\.12 V2/m) });
    }
  }, 120_000);

  it('tshark: zero malformed packets; every bind offering NDR64 got NDR64; the witness calls are dissected', async () => {
    await sleep(1000); // let the last segments reach the capture
    await capture!.stop(10_000, 'SIGINT');
    expect(fs.existsSync(pcap)).toBe(true);
    const malformed = await read(['-Y', '_ws.malformed || _ws.expert.severity == error']);
    expect(malformed.trim()).toBe('');
    // (stream, offered transfer syntaxes) of binds and alters; (stream, accepted) of their answers
    const offers = await rows('dcerpc.pkt_type == 11 || dcerpc.pkt_type == 14', ['tcp.stream', 'dcerpc.cn_bind_trans_id']);
    const acks = new Map((await rows('dcerpc.pkt_type == 12 || dcerpc.pkt_type == 15', ['tcp.stream', 'dcerpc.cn_ack_trans_id'])).map(([s, t]) => [s, t]));
    const ndr64Streams = offers.filter(([, t]) => t.includes(NDR64_SYNTAX.uuid)).map(([s]) => s);
    expect(ndr64Streams.length).toBeGreaterThanOrEqual(VARIANTS.length * SUBTESTS.length);
    for (const s of ndr64Streams) expect({ stream: s, ack: acks.get(s) }).toEqual({ stream: s, ack: expect.stringContaining(NDR64_SYNTAX.uuid) });
    // rpcclient's binds (the streams without NDR64) offered and got NDR 2.0
    const ndrStreams = offers.filter(([, t]) => !t.includes(NDR64_SYNTAX.uuid)).map(([s]) => s);
    expect(ndrStreams.length).toBeGreaterThanOrEqual(VARIANTS.length);
    for (const s of ndrStreams) expect(acks.get(s)).toContain(NDR_SYNTAX.uuid);
    // witness calls on NDR64 streams, in both directions, dissected (sealed ones decrypted)
    const calls = await rows(`witness && tcp.stream in {${[...new Set(ndr64Streams)].join(',')}}`, ['dcerpc.pkt_type', 'witness.opnum']);
    const seen = new Set(calls.map(([t, op]) => `${t === '0' ? 'request' : 'response'} ${op}`));
    expect([...seen].sort()).toEqual(['request 0', 'response 0']);
    expect(calls.length).toBe(2 * VARIANTS.length);
  }, 90_000);
});
