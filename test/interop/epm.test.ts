/**
 * The RPC runtime and its endpoint mapper against real peers, in a private network namespace
 * (EPM on 127.0.0.1:135, a stand-in interface with the Witness UUID on a dynamic port):
 * rpcclient epmmap / epmlookup, impacket (hept_map, raw faults), smbtorture rpc.epmapper in
 * little- and big-endian, and tshark decoding the whole capture without a malformed packet.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RpcServer } from '../../src/rpc/server';
import { createEndpointMapper } from '../../src/rpc/epm/endpoint-mapper';
import { TestInterface, TEST_SYNTAX } from '../integration/rpc/helpers/test-interface';
import {
  describeWithPeers, peerPath, runTool, sleep, startTool, startWitnessd, TEST_CLUSTER, TEST_CREDENTIALS,
  type RunningTool, type WitnessdInstance,
} from './helpers';

const HOST = '127.0.0.1';
const WITNESS = { uuid: 'ccd8c074-d0e5-4a40-92b4-d074faa6ba28', major: 1, minor: 1 };
/** Samba 4.20+ rpcclient prints a tower's if_version as major | minor << 16 (4.17 printed the major only). */
const V1_1 = '0x00010001';

const IMPACKET_SCRIPT = `
import sys
from impacket.dcerpc.v5 import transport, epm, rpcrt
from impacket.uuid import uuidtup_to_bin
host = sys.argv[1]
W = ('${WITNESS.uuid}', '1.1')
s = epm.hept_map(host, uuidtup_to_bin(W), protocol='ncacn_ip_tcp')
print('MAP', s)
port = int(s.split('[')[1].rstrip(']'))
# Raw calls go to a test interface on the same port (tshark has no dissector for it, so our
# deliberately odd stubs are not mistaken for malformed Witness calls).
t = transport.DCERPCTransportFactory('ncacn_ip_tcp:%s[%d]' % (host, port))
t.set_connect_timeout(5)
dce = t.get_dce_rpc(); dce.connect(); dce.bind(uuidtup_to_bin(('${TEST_SYNTAX.uuid}', '1.1')))
for opnum, stub in ((99, b''), (2, b'\\x01\\x02\\x03')):
    try:
        dce.call(opnum, stub); dce.recv(); print('NOFAULT', opnum)
    except rpcrt.DCERPCException as e:
        print('FAULT', opnum, str(e))
dce.call(0, b'abcd'); print('ECHO', dce.recv().hex())
dce.disconnect()
t = transport.DCERPCTransportFactory('ncacn_ip_tcp:%s[135]' % host)
t.set_connect_timeout(5)
dce = t.get_dce_rpc(); dce.connect(); dce.bind(epm.MSRPC_UUID_PORTMAP)
try:
    dce.call(3, b'\\xff\\xff\\xff'); dce.recv(); print('NOFAULT epm')
except rpcrt.DCERPCException as e:
    print('FAULT epm', str(e))
dce.disconnect()
`;

describeWithPeers('endpoint mapper and RPC runtime against rpcclient, impacket, smbtorture, tshark', ['rpcclient', 'smbtorture', 'tshark', 'impacket'], () => {
  let server: RpcServer;
  let port = 0;
  let dir = '';
  let pcap = '';
  let capture: RunningTool | undefined;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'witness-epm-'));
    pcap = path.join(dir, 'epm.pcapng');
    server = new RpcServer({ shutdownGraceMs: 500 });
    await server.listen({ address: HOST, port: 135, interfaces: [createEndpointMapper(server)], name: 'epmapper' });
    port = (await server.listen({ address: HOST, port: 0, interfaces: [new TestInterface(WITNESS, 'witness'), new TestInterface()], name: 'witness' })).port;
    capture = startTool('tshark', ['-i', 'lo', '-f', `tcp port 135 or tcp port ${port}`, '-w', pcap], { timeoutMs: 5 * 60_000, cwd: dir });
    await capture.waitFor((_o, e) => /Capturing on/.test(e), 30_000, 'tshark to start capturing');
  }, 60_000);

  afterAll(async () => {
    await capture?.stop(5000, 'SIGINT');
    await server?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('rpcclient epmmap finds the witness port through the endpoint mapper on 135', async () => {
    const r = await runTool('rpcclient', ['-s', '/dev/null', '-U%', `ncacn_ip_tcp:${HOST}`, '-c', 'epmmap witness ncacn_ip_tcp'], { timeoutMs: 30_000 });
    expect(r.stdout).toContain('num_tower[1]');
    expect(r.stdout).toContain(`tower[0] ncacn_ip_tcp:${HOST}[${port},abstract_syntax=${WITNESS.uuid}/${V1_1}]`);
    expect(r.code).toBe(0);
  }, 40_000);

  it('rpcclient epmlookup lists every endpoint and ends with "no more entries"', async () => {
    const r = await runTool('rpcclient', ['-s', '/dev/null', '-U%', `ncacn_ip_tcp:${HOST}`, '-c', 'epmlookup'], { timeoutMs: 30_000 });
    const lines = r.stdout.split('\n').filter((l) => l.trim());
    expect(lines).toEqual([
      `00000000-0000-0000-0000-000000000000 ncacn_ip_tcp:${HOST}[135,abstract_syntax=e1af8308-5d1f-11c9-91a4-08002b14a0fa/0x00000003]: epmapper`,
      `00000000-0000-0000-0000-000000000000 ncacn_ip_tcp:${HOST}[${port},abstract_syntax=${WITNESS.uuid}/${V1_1}]: witness`,
      `00000000-0000-0000-0000-000000000000 ncacn_ip_tcp:${HOST}[${port},abstract_syntax=${TEST_SYNTAX.uuid}/${V1_1}]: witness`,
    ]);
    expect(r.stderr).toContain('epm_Lookup no more entries');
  }, 40_000);

  it('impacket: hept_map, nca_s_op_rng_error for an unknown opnum, rpc_x_bad_stub_data for garbage', async () => {
    const script = path.join(dir, 'impacket_epm.py');
    fs.writeFileSync(script, IMPACKET_SCRIPT);
    const r = await runTool(peerPath('impacket')!, [script, HOST], { timeoutMs: 60_000 });
    expect(r.stderr).not.toMatch(/Traceback/);
    expect(r.stdout.split('\n').filter((l) => l)).toEqual([
      `MAP ncacn_ip_tcp:${HOST}[${port}]`,
      'FAULT 99 nca_s_op_rng_error',
      'FAULT 2 rpc_x_bad_stub_data',
      'ECHO 0161626364',
      'FAULT epm rpc_x_bad_stub_data',
    ]);
  }, 70_000);

  for (const flags of ['135', '135,bigendian']) {
    it(`smbtorture rpc.epmapper Map_simple, Lookup_simple, Lookup_terminate_search [${flags}]`, async () => {
      const r = await runTool('smbtorture', ['-s', '/dev/null', `ncacn_ip_tcp:${HOST}[${flags}]`, '-U%',
        'rpc.epmapper.epmapper.Map_simple', 'rpc.epmapper.epmapper.Lookup_simple', 'rpc.epmapper.epmapper.Lookup_terminate_search'],
      { timeoutMs: 60_000, cwd: dir });
      const results = r.stdout.split('\n').filter((l) => /^(success|failure|error|skip):/.test(l));
      expect(results).toEqual([
        'success: epmapper.Map_simple',
        'success: epmapper.Lookup_simple',
        'success: epmapper.Lookup_terminate_search',
      ]);
      expect(r.code).toBe(0);
    }, 70_000);
  }

  it('tshark decodes the capture of all of the above with zero malformed packets', async () => {
    await sleep(1500); // let dumpcap write out the last packets before it is stopped
    await capture!.stop(10_000, 'SIGINT');
    if (process.env.KEEP_PCAP) fs.copyFileSync(pcap, process.env.KEEP_PCAP);
    expect(fs.existsSync(pcap)).toBe(true);
    const read = async (extra: string[]): Promise<string> => {
      const r = await runTool('tshark', ['-r', pcap, '-d', `tcp.port==${port},dcerpc`, ...extra], { timeoutMs: 60_000 });
      if (r.code !== 0) throw new Error(`${r.command}: ${r.stderr}`);
      return r.stdout;
    };
    // Nothing the server sent is malformed; on the client side only the garbage ept_map stub
    // impacket sent on purpose is.
    const bad = '(_ws.malformed || _ws.expert.severity == error)';
    expect((await read(['-Y', `${bad} && (tcp.srcport == 135 || tcp.srcport == ${port})`])).trim()).toBe('');
    const clientBad = (await read(['-Y', bad, '-T', 'fields', '-e', 'dcerpc.pkt_type', '-e', 'dcerpc.opnum', '-e', 'tcp.dstport', '-e', 'dcerpc.cn_frag_len']))
      .split('\n').filter((l) => l.trim()).map((l) => l.split('\t').join(' '));
    expect(clientBad).toEqual(['0 3 135 27']);
    const types = await read(['-Y', 'dcerpc', '-T', 'fields', '-e', 'dcerpc.pkt_type', '-e', 'dcerpc.drep.byteorder']);
    const seen = new Set(types.split('\n').filter((l) => l.trim()).map((l) => l.split('\t')[0]));
    for (const t of ['0', '2', '3', '11', '12']) expect(seen).toContain(t); // request, response, fault, bind, bind_ack
    // big-endian PDUs (smbtorture bigendian) are there and decoded too
    expect(types.split('\n').map((l) => l.split('\t')[1]?.trim())).toContain('0');
    const ports = await read(['-Y', 'epm', '-T', 'fields', '-e', 'epm.proto.tcp_port']);
    expect(ports.split(/\s+/)).toContain(String(port));
  }, 90_000);
});

describeWithPeers('big-endian clients end to end: smbtorture [bigendian] against the assembled daemon', ['smbtorture'], () => {
  let daemon: WitnessdInstance | undefined;
  let dir = '';

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'witness-be-'));
    daemon = await startWitnessd({ watcher: { mode: 'simulated' } });
  }, 120_000);

  afterAll(async () => {
    await daemon?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  for (const [flags, user] of [['bigendian', '%'], ['bigendian,ntlm,sign', TEST_CREDENTIALS], ['bigendian,spnego,seal', TEST_CREDENTIALS]]) {
    it(`rpc.witness GetInterfaceList over [${flags}]`, async () => {
      const r = await runTool('smbtorture', ['-s', '/dev/null', `ncacn_ip_tcp:${TEST_CLUSTER.node1.address}[${daemon!.witnessPort},${flags}]`, `-U${user}`,
        `--option=torture:net_name=${TEST_CLUSTER.netbiosName}`, 'rpc.witness.witness.GetInterfaceList'], { timeoutMs: 60_000, cwd: dir });
      expect(r.stdout.split('\n').filter((l) => /^(success|failure|error):/.test(l))).toEqual(['success: witness.GetInterfaceList']);
      expect(r.code).toBe(0);
    }, 70_000);
  }
});
