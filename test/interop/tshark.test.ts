/**
 * Wireshark's own dissectors judge our bytes: a capture of a full scenario (EPM map, binds,
 * NTLMSSP auth legs, every witness operation, a RESOURCE_CHANGE notification, the clusapi
 * calls that caused it) decodes with zero malformed packets, and the decoded fields equal what
 * the test sent. The sealed part is decrypted with the account's password
 * (-o ntlmssp.nt_password), so the witness dissector sees those stubs too.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ClusapiClient,
  describeWithPeers,
  InteractiveRpcclient,
  runRpcclient,
  runTool,
  RunningTool,
  sleep,
  startTool,
  startWitnessd,
  TEST_CLUSTER,
  TEST_CREDENTIALS,
  WitnessdInstance,
} from './helpers';

const HOST = TEST_CLUSTER.node1.address;
const PARTNER_IP = TEST_CLUSTER.node2.address;
const NET = TEST_CLUSTER.netbiosName;
const CLIENT = 'tshark-client';

describeWithPeers('tshark: a full scenario decodes cleanly with the witness and clusapi dissectors', ['tshark', 'rpcclient'], () => {
  let daemon: WitnessdInstance | undefined;
  let capture: RunningTool | undefined;
  let dir = '';
  let pcap = '';

  /** tshark -r over the capture with our port decoded as DCE/RPC and NTLMSSP decryption on. */
  const read = async (extra: readonly string[]): Promise<string> => {
    const r = await runTool(
      'tshark',
      ['-r', pcap, '-o', `ntlmssp.nt_password:${TEST_CLUSTER.account.password}`, '-d', `tcp.port==${daemon!.witnessPort},dcerpc`, ...extra],
      { timeoutMs: 60_000 },
    );
    if (r.code !== 0) throw new Error(`$ ${r.command}\nexit ${r.code}\n${r.stderr}`);
    return r.stdout;
  };

  /** Rows of -T fields output as objects (only rows where at least one field is set). */
  const fields = async (filter: string, names: readonly string[]): Promise<Record<string, string>[]> => {
    const out = await read(['-Y', filter, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=|', ...names.flatMap((n) => ['-e', n])]);
    return out
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => Object.fromEntries(l.split('\t').map((v, i) => [names[i], v])));
  };

  beforeAll(async () => {
    daemon = await startWitnessd({ watcher: { mode: 'simulated' } });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'witness-tshark-'));
    pcap = path.join(dir, 'scenario.pcapng');
    capture = startTool('tshark', ['-i', 'lo', '-f', `tcp port 135 or tcp port ${daemon.witnessPort}`, '-w', pcap], { timeoutMs: 5 * 60_000, cwd: dir });
    await capture.waitFor((_o, e) => /Capturing on/.test(e), 30_000, 'tshark to start capturing');
    await sleep(500);

    // 1. Anonymous: EPM map, bind, GetInterfaceList.
    const gil = await runRpcclient(`ncacn_ip_tcp:${HOST}`, '%', ['GetInterfaceList']);
    if (!/V2/.test(gil.stdout)) throw new Error(`GetInterfaceList failed: ${gil.stdout}${gil.stderr}`);

    // 2. Anonymous: Register, RegisterEx, UnRegister, AsyncNotify answered by a clusapi offline/online.
    const rc = InteractiveRpcclient.start(`ncacn_ip_tcp:${HOST}`, '%', 2 * 60_000);
    try {
      const h1 = await rc.register(`-n ${NET} -i ${PARTNER_IP} -c ${CLIENT}`);
      const h2 = await rc.register(`-n ${NET} -i ${PARTNER_IP} -s ${TEST_CLUSTER.share} -f 1 -t 30 -c ${CLIENT}`, 15_000, 'RegisterEx');
      await rc.send(`UnRegister ${h2}`);
      const from = await rc.send(`AsyncNotify ${h1}`);
      await sleep(400);
      const cl = await ClusapiClient.connect(HOST, daemon.witnessPort);
      try {
        await cl.setResource(NET, false);
        await rc.waitFor(/-> Unavailable/, 15_000, 'the notification', from);
        await cl.setResource(NET, true);
      } finally {
        await cl.close();
      }
      await rc.send(`UnRegister ${h1}`);
      await rc.command(`UnRegister ${h1}`, /result was WERR_INVALID_PARAMETER/, 15_000, 'the second UnRegister');
    } finally {
      await rc.stop();
    }

    // 3. NTLMSSP at privacy: auth legs, sealed witness calls.
    const sealed = InteractiveRpcclient.start(`ncacn_ip_tcp:${HOST}[seal]`, TEST_CREDENTIALS, 60_000);
    try {
      await sealed.command('GetInterfaceList', /V2/, 15_000, 'sealed GetInterfaceList');
      const h = await sealed.register(`-n ${NET} -i ${PARTNER_IP} -c ${CLIENT}-sealed`);
      await sealed.send(`UnRegister ${h}`);
      await sealed.command(`UnRegister ${h}`, /result was WERR_INVALID_PARAMETER/, 15_000, 'the second sealed UnRegister');
    } finally {
      await sealed.stop();
    }

    await sleep(1000); // let the last segments reach the capture
    await capture.stop(10_000, 'SIGINT');
    if (!fs.existsSync(pcap)) throw new Error(`no capture file; tshark said:\n${capture.stderr}`);
  }, 180_000);

  afterAll(async () => {
    await capture?.stop(5000, 'SIGINT');
    await daemon?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('has zero malformed packets', async () => {
    const all = await read(['-Y', 'dcerpc || epm || witness || clusapi || ntlmssp']);
    expect(all.split('\n').filter((l) => l.trim()).length).toBeGreaterThan(20);
    const malformed = await read(['-Y', '_ws.malformed || _ws.expert.severity == error']);
    expect(malformed.trim()).toBe('');
  }, 90_000);

  it('decodes every witness operation, in both directions', async () => {
    const rows = await fields('witness', ['witness.opnum', 'dcerpc.pkt_type']);
    const seen = new Set(rows.map((r) => `${r['witness.opnum']}/${r['dcerpc.pkt_type']}`));
    for (const opnum of [0, 1, 2, 3, 4]) {
      expect(seen).toContain(`${opnum}/0`); // request
      expect(seen).toContain(`${opnum}/2`); // response
    }
  }, 90_000);

  it('Register and RegisterEx decode to exactly what rpcclient sent', async () => {
    const reg = await fields('witness.opnum == 1 && dcerpc.pkt_type == 0', [
      'witness.witness_Register.version',
      'witness.witness_Register.net_name',
      'witness.witness_Register.ip_address',
      'witness.witness_Register.client_computer_name',
    ]);
    // tshark prints integers in decimal.
    expect(reg).toContainEqual({
      'witness.witness_Register.version': String(0x00010001),
      'witness.witness_Register.net_name': NET,
      'witness.witness_Register.ip_address': PARTNER_IP,
      'witness.witness_Register.client_computer_name': CLIENT,
    });
    // The sealed one was decrypted too.
    expect(reg.map((r) => r['witness.witness_Register.client_computer_name'])).toContain(`${CLIENT}-sealed`);
    const ex = await fields('witness.opnum == 4 && dcerpc.pkt_type == 0', [
      'witness.witness_RegisterEx.version',
      'witness.witness_RegisterEx.net_name',
      'witness.witness_RegisterEx.share_name',
      'witness.witness_RegisterEx.ip_address',
      'witness.witness_RegisterEx.client_computer_name',
      'witness.witness_RegisterEx.flags',
      'witness.witness_RegisterEx.timeout',
    ]);
    expect(ex).toHaveLength(1);
    expect(ex[0]).toMatchObject({
      'witness.witness_RegisterEx.net_name': NET,
      'witness.witness_RegisterEx.share_name': TEST_CLUSTER.share,
      'witness.witness_RegisterEx.ip_address': PARTNER_IP,
      'witness.witness_RegisterEx.client_computer_name': CLIENT,
      'witness.witness_RegisterEx.timeout': '30',
    });
    expect(Number(ex[0]['witness.witness_RegisterEx.version'])).toBe(0x00020000);
    expect(Number(ex[0]['witness.witness_RegisterEx.flags'])).toBe(1);
  }, 90_000);

  it('the interface list decodes to the cluster\'s LIFs', async () => {
    const rows = await fields('witness.opnum == 0 && dcerpc.pkt_type == 2', [
      'witness.witness_interfaceList.num_interfaces',
      'witness.witness_interfaceInfo.group_name',
      'witness.witness_interfaceInfo.ipv4',
      'witness.witness_interfaceInfo.state',
      'witness.witness_interfaceInfo.flags',
      'witness.werror',
    ]);
    expect(rows.length).toBeGreaterThanOrEqual(2); // anonymous and sealed
    for (const r of rows) {
      expect(r['witness.witness_interfaceList.num_interfaces']).toBe('2');
      expect(r['witness.witness_interfaceInfo.group_name'].split('|').sort()).toEqual([TEST_CLUSTER.node1.name, TEST_CLUSTER.node2.name]);
      expect(r['witness.witness_interfaceInfo.ipv4'].split('|').sort()).toEqual([HOST, PARTNER_IP]);
      expect(r['witness.witness_interfaceInfo.state'].split('|').map(Number)).toEqual([1, 1]); // AVAILABLE
      // IPv4 valid on both; INTERFACE_WITNESS only on the SFO partner's LIF.
      const flags = r['witness.witness_interfaceInfo.flags'].split('|').map(Number);
      const ips = r['witness.witness_interfaceInfo.ipv4'].split('|');
      expect(flags[ips.indexOf(HOST)]).toBe(0x1);
      expect(flags[ips.indexOf(PARTNER_IP)]).toBe(0x5);
      expect(r['witness.werror']).toBe('0x00000000');
    }
  }, 90_000);

  it('the AsyncNotify response is one RESOURCE_CHANGE UNAVAILABLE for the registered net name', async () => {
    const rows = await fields('witness.opnum == 3 && dcerpc.pkt_type == 2', [
      'witness.witness_notifyResponse.type',
      'witness.witness_notifyResponse.num',
      'witness.witness_ResourceChange.type',
      'witness.witness_ResourceChange.name',
      'witness.werror',
    ]);
    expect(rows).toContainEqual({
      'witness.witness_notifyResponse.type': '1',
      'witness.witness_notifyResponse.num': '1',
      'witness.witness_ResourceChange.type': String(0xff),
      'witness.witness_ResourceChange.name': NET,
      'witness.werror': '0x00000000',
    });
  }, 90_000);

  it('the clusapi calls decode: OpenResource(net name), Offline/Online, GetResourceState Offline then Online', async () => {
    const open = await fields('clusapi && dcerpc.pkt_type == 0 && clusapi.opnum == 8', ['clusapi.clusapi_OpenResource.lpszResourceName']);
    expect(open.map((r) => r['clusapi.clusapi_OpenResource.lpszResourceName'])).toEqual([NET, NET]);
    const ops = await fields('clusapi && dcerpc.pkt_type == 0', ['clusapi.opnum']);
    expect(ops.map((r) => Number(r['clusapi.opnum']))).toEqual([8, 18, 12, 11, 8, 17, 12, 11]);
    const states = await fields('clusapi && dcerpc.pkt_type == 2 && clusapi.opnum == 12', ['clusapi.clusapi_GetResourceState.State', 'clusapi.clusapi_GetResourceState.NodeName', 'clusapi.clusapi_GetResourceState.GroupName']);
    expect(states.map((r) => Number(r['clusapi.clusapi_GetResourceState.State']))).toEqual([3, 2]);
    expect(states[1]['clusapi.clusapi_GetResourceState.GroupName']).toBe(TEST_CLUSTER.svm);
  }, 90_000);

  it('the sealed connection negotiated NTLMSSP at privacy', async () => {
    const rows = await fields('dcerpc.pkt_type == 11 && dcerpc.auth_type', ['dcerpc.auth_type', 'dcerpc.auth_level']);
    expect(rows).toContainEqual({ 'dcerpc.auth_type': '10', 'dcerpc.auth_level': '6' });
  }, 90_000);
});
