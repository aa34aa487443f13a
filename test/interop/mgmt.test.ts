/**
 * The DCE management interface (C706 appendix Q) on the daemon's endpoints against real
 * clients, in a private network namespace (EPM on 135, the demo cluster):
 *   - impacket's mgmt client, as its ifmap.py enumerates interfaces: inq_if_ids on the witness
 *     port, is_server_listening, inq_stats, inq_princ_name (NTLM and SPNEGO), a refused
 *     stop_server_listening;
 *   - smbtorture rpc.mgmt, which maps each interface it knows through our endpoint mapper and
 *     runs every mgmt call on that endpoint;
 *   - tshark decodes the capture of both with zero malformed packets and dissects every mgmt
 *     operation in both directions.
 * rpcclient has no command that calls mgmt (Samba 4.22's rpcclient: epmmap/epmlookup only).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeWithPeers, peerPath, runTool, sleep, startTool, type RunningTool } from './helpers';
import { runSmbtorture } from './helpers/smbtorture';
import { startTestWitnessd, type TestWitnessd } from '../../scripts/drill-witnessd';
import { Mgmt_SYNTAX } from '../../src/gen/mgmt';
import { Witness_SYNTAX } from '../../src/gen/witness';
import { Clusapi_SYNTAX } from '../../src/gen/clusapi';

const HOST = '127.0.0.11';

const IMPACKET_SCRIPT = `
import sys
from impacket.dcerpc.v5 import transport, mgmt
from impacket.dcerpc.v5.rpcrt import DCERPCException
from impacket.uuid import bin_to_string
host, port = sys.argv[1], int(sys.argv[2])
t = transport.DCERPCTransportFactory('ncacn_ip_tcp:%s[%d]' % (host, port))
t.set_connect_timeout(5)
dce = t.get_dce_rpc(); dce.connect(); dce.bind(mgmt.MSRPC_UUID_MGMT)
r = mgmt.hinq_if_ids(dce)
for i in range(r['if_id_vector']['count']):
    e = r['if_id_vector']['if_id'][i]
    print('IF', bin_to_string(e['Uuid']).lower(), '%d.%d' % (e['VersMajor'], e['VersMinor']))
print('LISTENING', mgmt.his_server_listening(dce)['status'])
s = mgmt.hinq_stats(dce)
print('STATS', s['count'], ' '.join(str(x) for x in s['statistics']))
for proto in (9, 10, 16):
    try:
        p = mgmt.hinq_princ_name(dce, proto, 256)
        print('PRINC', proto, p['status'], b''.join(p['princ_name']).rstrip(b'\\0').decode())
    except DCERPCException as e:
        print('PRINCERR', proto, e.get_error_code())
try:
    mgmt.hstop_server_listening(dce); print('STOPPED')
except DCERPCException as e:
    print('STOPERR', e.get_error_code())
dce.disconnect()
`;

describeWithPeers('mgmt against impacket, smbtorture and tshark', ['impacket', 'smbtorture', 'tshark'], () => {
  let d: TestWitnessd;
  let dir = '';
  let pcap = '';
  let capture: RunningTool | undefined;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'witness-mgmt-'));
    d = await startTestWitnessd({ epmPort: 135 });
    pcap = path.join(dir, 'mgmt.pcapng');
    capture = startTool('tshark', ['-i', 'lo', '-f', `tcp port 135 or tcp port ${d.witnessPort}`, '-w', pcap], { timeoutMs: 5 * 60_000, cwd: dir });
    await capture.waitFor((_o, e) => /Capturing on/.test(e), 30_000, 'tshark to start capturing');
    await sleep(500);
  }, 60_000);
  afterAll(async () => {
    await capture?.stop(5000, 'SIGINT');
    await d?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('impacket: inq_if_ids lists witness, clusapi and mgmt; listening; stats; principal names; stop refused', async () => {
    const script = path.join(dir, 'impacket_mgmt.py');
    fs.writeFileSync(script, IMPACKET_SCRIPT);
    const r = await runTool(peerPath('impacket')!, [script, HOST, String(d.witnessPort)], { timeoutMs: 60_000 });
    const why = `\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
    expect({ code: r.code, why }).toEqual({ code: 0, why });
    const ifs = r.stdout.split('\n').filter((l) => l.startsWith('IF '));
    expect(ifs).toEqual([
      `IF ${Witness_SYNTAX.uuid} ${Witness_SYNTAX.major}.${Witness_SYNTAX.minor}`,
      `IF ${Clusapi_SYNTAX.uuid} ${Clusapi_SYNTAX.major}.${Clusapi_SYNTAX.minor}`,
      `IF ${Mgmt_SYNTAX.uuid} 1.0`,
    ]);
    expect(r.stdout).toContain('LISTENING 0');
    const stats = /STATS 4 (\d+) 0 (\d+) (\d+)/.exec(r.stdout);
    expect(stats).not.toBeNull();
    expect(Number(stats![1])).toBeGreaterThanOrEqual(2); // inq_if_ids, is_server_listening at least
    const principal = `${d.config.auth.accounts.find((a) => a.domain)?.domain ?? d.config.svms[0].netbiosName}\\${d.config.svms[0].netbiosName}$`;
    expect(r.stdout).toContain(`PRINC 9 0 ${principal}`);
    expect(r.stdout).toContain(`PRINC 10 0 ${principal}`);
    expect(r.stdout).toContain('PRINC 16 1747 \n'); // no Kerberos provider: RPC_S_UNKNOWN_AUTHN_SERVICE, empty name
    expect(r.stdout).toContain('STOPERR 5');
  }, 70_000);

  it('smbtorture rpc.mgmt: every mgmt call on the witness, clusapi and endpoint mapper endpoints', async () => {
    const run = await runSmbtorture({ binding: `ncacn_ip_tcp:${HOST}`, user: '%', tests: ['rpc.mgmt'], timeoutMs: 120_000 });
    const out = run.tool.stdout + run.tool.stderr;
    expect({ result: run.byName('mgmt')?.status, summary: run.summary() }).toEqual({ result: 'success', summary: run.summary() });
    for (const pipe of ['witness', 'epmapper']) {
      const section = out.split(`Testing pipe '${pipe}'`)[1]?.split('Testing pipe')[0] ?? '';
      expect({ pipe, section }).toEqual({ pipe, section: expect.stringContaining('server is listening') });
      expect(section).toContain('server refused to stop listening - WERR_ACCESS_DENIED');
      expect(section).toContain(`uuid ${Mgmt_SYNTAX.uuid}  version 0x00000001  'mgmt'`);
    }
  }, 130_000);

  it('tshark: zero malformed packets; every mgmt operation dissected in both directions', async () => {
    await sleep(1000); // let the last segments reach the capture
    await capture!.stop(10_000, 'SIGINT');
    const read = async (extra: readonly string[]): Promise<string> => {
      const r = await runTool('tshark', ['-r', pcap, '-d', `tcp.port==${d.witnessPort},dcerpc`, ...extra], { timeoutMs: 60_000 });
      if (r.code !== 0) throw new Error(`$ ${r.command}\nexit ${r.code}\n${r.stderr}`);
      return r.stdout;
    };
    expect((await read(['-Y', '_ws.malformed || _ws.expert.severity == error'])).trim()).toBe('');
    const ops = (await read(['-Y', 'mgmt', '-T', 'fields', '-e', 'dcerpc.pkt_type', '-e', 'mgmt.opnum']))
      .split('\n').filter((l) => l.trim()).map((l) => l.split('\t').join(' '));
    const seen = [...new Set(ops)].sort();
    for (const opnum of [0, 1, 2, 3, 4]) expect(seen).toEqual(expect.arrayContaining([`0 ${opnum}`, `2 ${opnum}`]));
  }, 60_000);
});
