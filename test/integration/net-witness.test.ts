/**
 * `witnessctl net-witness` against a running witnessd (the single-node demo, real sockets),
 * used the way an administrator's script uses Samba's `net witness`: the table and the
 * --json document (shape as Samba 4.22's net prints it and its blackbox test checks it),
 * regex filters, client-move / share-move / force-unregister / force-response and what the
 * registered clients then receive, exit codes and messages of the refusals.
 */
import { RpcClient } from '../../src/client/rpc-client';
import { WITNESS_SYNTAX, witnessCalls, type ContextHandle } from '../../src/client/witness-calls';
import { main, type CtlIO } from '../../src/cli/witnessctl';
import { WERR } from '../../src/witness/constants';
import {
  CLIENT_MOVE_NOTIFICATION, IPADDR_ONLINE, IPADDR_V4, RESOURCE_CHANGE_NOTIFICATION, SHARE_MOVE_NOTIFICATION, Witness_OPNUMS, decodeWitnessrAsyncNotifyOut, encodeWitnessrAsyncNotifyIn,
} from '../../src/gen/witness';
import { startTestWitnessd, type TestWitnessd } from '../../scripts/drill-witnessd';

jest.setTimeout(60_000);

interface Reg { client: string; ip: string; share?: string; conn: RpcClient; handle: ContextHandle }

describe('witnessctl net-witness (single-node demo)', () => {
  let d: TestWitnessd;
  let regs: Reg[] = [];
  beforeAll(async () => {
    d = await startTestWitnessd();
  });
  afterAll(async () => {
    await d.close();
  });
  beforeEach(async () => {
    // Four registrations, as Samba's blackbox test makes them: V1 and V2, with and without a share, on both LIFs.
    const specs = [
      { client: 'hv01.demo.local', ip: '127.0.0.11' },
      { client: 'hv02.demo.local', ip: '127.0.0.12' },
      { client: 'sql01.demo.local', ip: '127.0.0.11', share: 'vmstore' },
      { client: 'sql02.demo.local', ip: '127.0.0.12', share: 'vmstore' },
    ];
    regs = [];
    for (const s of specs) {
      const witnessAt = s.ip === '127.0.0.11' ? '127.0.0.12' : '127.0.0.11';
      const conn = await RpcClient.connect({ host: witnessAt, port: d.witnessPort });
      await conn.bind(WITNESS_SYNTAX);
      const r = s.share === undefined
        ? await witnessCalls.register(conn, { version: 0x00010001, netName: 'SOFS', ipAddress: s.ip, clientName: s.client })
        : await witnessCalls.registerEx(conn, { version: 0x00020000, netName: 'sofs.demo.local', shareName: s.share, ipAddress: s.ip, clientName: s.client, flags: 1, keepAliveTimeout: 120 });
      expect(r.result).toBe(0);
      regs.push({ ...s, conn, handle: r.handle as ContextHandle });
    }
  });
  afterEach(async () => {
    await Promise.all(regs.map((r) => r.conn.close()));
    d.witness.service.unregister({});
  });

  async function net(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const io: CtlIO = { out: (t) => out.push(t), err: (t) => err.push(t), env: { WITNESSCTL_ADMIN: d.adminUrl } };
    const code = await main(['net-witness', ...args], io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  }
  const ids = (text: string): string[] => text.split('\n').slice(2).map((l) => l.slice(0, 36)).sort();
  const idOf = (client: string): string => regs.find((r) => r.client === client)!.handle.uuid;

  test('list: the table, one line per registration, as net prints it', async () => {
    const r = await net('list');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines.slice(0, 2)).toEqual([
      'Registration-UUID:                   NetName              ShareName       IpAddress            ClientComputerName',
      '------------------------------------ -------------------- ------------------ -------------------- ------------------'.replace(/ /g, '-').replace(/^(-{36})-(-{20})-(-{18})-(-{20})-/, '$1-$2-$3-$4-'),
    ]);
    expect(lines).toHaveLength(6);
    const hv01 = lines.find((l) => l.startsWith(idOf('hv01.demo.local')));
    expect(hv01).toBe(`${idOf('hv01.demo.local')} ${'SOFS'.padEnd(20)} ${"''".padEnd(15)} ${'127.0.0.11'.padEnd(20)} hv01.demo.local`);
    const sql01 = lines.find((l) => l.startsWith(idOf('sql01.demo.local')));
    expect(sql01).toBe(`${idOf('sql01.demo.local')} ${'sofs.demo.local'.padEnd(20)} ${'vmstore'.padEnd(15)} ${'127.0.0.11'.padEnd(20)} sql01.demo.local`);
  });

  test('list --json: {filters, registrations: {uuid: record}} with the record Samba prints', async () => {
    const r = await net('list', '--json', '--witness-ip-address=127.0.0.11');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\{"filters": \{"--witness-ip-address": "127\.0\.0\.11"\}, "registrations": \{/);
    const doc = JSON.parse(r.out);
    expect(Object.keys(doc)).toEqual(['filters', 'registrations']);
    expect(Object.keys(doc.registrations).sort()).toEqual([idOf('hv01.demo.local'), idOf('sql01.demo.local')].sort());
    const rec = doc.registrations[idOf('sql01.demo.local')];
    expect(Object.keys(rec)).toEqual(['version', 'net_name', 'share_name', 'ip_address', 'client_computer_name', 'flags', 'timeout', 'context_handle', 'server_id', 'auth', 'connection', 'registration_time']);
    expect(rec).toMatchObject({
      version: '0x00020000', net_name: 'sofs.demo.local', share_name: 'vmstore', ip_address: '127.0.0.11', client_computer_name: 'sql01.demo.local',
      flags: { WITNESS_REGISTER_IP_NOTIFICATION: true, int: 1, hex: '0x00000001' }, timeout: 120,
      context_handle: { handle_type: 0, uuid: idOf('sql01.demo.local') },
      server_id: { pid: 0, task_id: 0, vnn: 4294967295 },
      auth: { account_name: 'ANONYMOUS LOGON', domain_name: 'NT AUTHORITY', account_sid: 'S-1-5-7' },
    });
    expect(Object.keys(rec.server_id)).toEqual(['pid', 'task_id', 'vnn', 'unique_id']);
    expect(rec.connection.local_address).toMatch(/^ipv4:127\.0\.0\.12:\d+$/);
    expect(rec.connection.remote_address).toMatch(/^ipv4:127\.0\.0\.1?\d*:\d+$/);
    expect(rec.registration_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d{4}$/);
    expect(doc.registrations[idOf('hv01.demo.local')]).toMatchObject({ version: '0x00010001', share_name: null, timeout: 0, flags: { int: 0 } });
  });

  test('filters: POSIX EREs, case-insensitive, ANDed; ^$ is "no share"; --witness-registration looks one up', async () => {
    expect(ids((await net('list', '--witness-client-computer-name=^HV0[12]\\.')).out)).toEqual([idOf('hv01.demo.local'), idOf('hv02.demo.local')].sort());
    expect(ids((await net('list', '--witness-share-name=^$')).out)).toEqual([idOf('hv01.demo.local'), idOf('hv02.demo.local')].sort());
    expect(ids((await net('list', '--witness-share-name', 'vm.*')).out)).toEqual([idOf('sql01.demo.local'), idOf('sql02.demo.local')].sort());
    expect(ids((await net('list', '--witness-ip-address=127.0.0.11|127.0.0.12', '--witness-net-name=^sofs$')).out)).toEqual([idOf('hv01.demo.local'), idOf('hv02.demo.local')].sort());
    expect(ids((await net('list', '--witness-client-computer-name=[[:digit:]]2')).out)).toEqual([idOf('hv02.demo.local'), idOf('sql02.demo.local')].sort());
    expect(ids((await net('list', `--witness-registration=${idOf('sql02.demo.local').toUpperCase()}`, '--witness-net-name=.*')).out)).toEqual([idOf('sql02.demo.local')]);
    const all = await net('list', '--json', '--witness-net-name=.*', '--witness-share-name=.*', '--witness-ip-address=.*', '--witness-client-computer-name=.*');
    expect(Object.keys(JSON.parse(all.out).filters)).toEqual(['--witness-net-name', '--witness-share-name', '--witness-ip-address', '--witness-client-computer-name']);
    expect(Object.keys(JSON.parse(all.out).registrations)).toHaveLength(4);
  });

  test('client-move --witness-client-computer-name=... --witness-new-ip=...: the client gets CLIENT_MOVE to that address', async () => {
    const hv01 = regs[0];
    const pending = witnessCalls.asyncNotify(hv01.conn, hv01.handle, { timeoutMs: 10_000 });
    const r = await net('client-move', '--witness-client-computer-name=hv01.demo.local', '--witness-new-ip=127.0.0.12');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe('CLIENT_MOVE_TO_IPV4: 127.0.0.12');
    expect(ids(r.out.split('\n').slice(1).join('\n'))).toEqual([hv01.handle.uuid]);
    expect(await pending).toEqual({ result: WERR.OK, response: { type: CLIENT_MOVE_NOTIFICATION, addresses: [{ flags: IPADDR_V4 | IPADDR_ONLINE, ipv4: '127.0.0.12' }] } });

    const j = JSON.parse((await net('client-move', '--json', '--witness-client-computer-name=hv02', '--witness-new-node=0')).out);
    expect(j.message).toEqual({ type: 'CLIENT_MOVE_TO_NODE', new_node: 0 });
    expect(Object.keys(j.registrations)).toEqual([idOf('hv02.demo.local')]);
    expect(await witnessCalls.asyncNotify(regs[1].conn, regs[1].handle, { timeoutMs: 10_000 })).toMatchObject({ response: { type: CLIENT_MOVE_NOTIFICATION, addresses: [{ ipv4: '127.0.0.11' }] } });

    const everyone = JSON.parse((await net('client-move', '--json', '--witness-apply-to-all', '--witness-new-node=-1')).out);
    expect(everyone).toMatchObject({ filters: { '--witness-apply-to-all': true }, message: { type: 'CLIENT_MOVE_TO_NODE', all_nodes: true } });
    expect((await witnessCalls.asyncNotify(regs[2].conn, regs[2].handle, { timeoutMs: 10_000 })).response).toEqual({
      type: CLIENT_MOVE_NOTIFICATION, addresses: [{ flags: IPADDR_V4 | IPADDR_ONLINE, ipv4: '127.0.0.11' }, { flags: IPADDR_V4 | IPADDR_ONLINE, ipv4: '127.0.0.12' }],
    });
  });

  test('share-move reaches only registrations with a share', async () => {
    const r = await net('share-move', '--witness-apply-to-all', '--witness-new-ip=127.0.0.11');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe('SHARE_MOVE_TO_IPV4: 127.0.0.11');
    expect(ids(r.out.split('\n').slice(1).join('\n'))).toEqual([idOf('sql01.demo.local'), idOf('sql02.demo.local')].sort());
    expect((await witnessCalls.asyncNotify(regs[3].conn, regs[3].handle, { timeoutMs: 10_000 })).response).toEqual({ type: SHARE_MOVE_NOTIFICATION, addresses: [{ flags: IPADDR_V4 | IPADDR_ONLINE, ipv4: '127.0.0.11' }] });
  });

  test('force-unregister: the pending AsyncNotify and the UnRegister get ERROR_NOT_FOUND', async () => {
    const hv02 = regs[1];
    const pending = witnessCalls.asyncNotify(hv02.conn, hv02.handle, { timeoutMs: 10_000 });
    const r = await net('force-unregister', '--json', `--witness-registration=${hv02.handle.uuid}`);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ filters: { '--witness-registration': hv02.handle.uuid }, message: { type: 'FORCE_UNREGISTER' } });
    expect(await pending).toEqual({ result: WERR.NOT_FOUND });
    expect(await witnessCalls.unRegister(hv02.conn, hv02.handle)).toBe(WERR.NOT_FOUND);
    expect(ids((await net('list')).out)).not.toContain(hv02.handle.uuid);
  });

  test('force-response: Samba\'s JSON gives exactly that response; without it an empty one', async () => {
    const json = '{ "result": 0, "response": { "type": 1, "messages": [ { "type": 255, "name": "some-resource-name" }, { "type": 1, "name": "other-resource-name" } ] } }';
    const r = await net('force-response', '--witness-client-computer-name=sql01', `--witness-forced-response=${json}`);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe(`FORCE_RESPONSE: ${json}`);
    expect(await witnessCalls.asyncNotify(regs[2].conn, regs[2].handle, { timeoutMs: 10_000 })).toEqual({
      result: 0, response: { type: RESOURCE_CHANGE_NOTIFICATION, changes: [{ changeType: 255, name: 'some-resource-name' }, { changeType: 1, name: 'other-resource-name' }] },
    });
    const j = JSON.parse((await net('force-response', '--json', '--witness-client-computer-name=sql02', '--witness-forced-response={"result": 1168}')).out);
    expect(j.message).toEqual({ type: 'FORCE_RESPONSE', json: { result: 1168 } });
    expect(await witnessCalls.asyncNotify(regs[3].conn, regs[3].handle, { timeoutMs: 10_000 })).toEqual({ result: WERR.NOT_FOUND });
    await net('force-response', '--witness-client-computer-name=hv01');
    expect(await witnessCalls.asyncNotify(regs[0].conn, regs[0].handle, { timeoutMs: 10_000 })).toEqual({ result: 0 });

    // Samba's own test response: two IPADDR_INFO_LISTs in one CLIENT_MOVE (flags as given, both families when given).
    const twoLists = '{ "result": 0, "response": { "type": 2, "messages": [ [{ "flags": 9, "ipv4": "10.0.10.1" }, { "flags": 0, "ipv4": "10.0.10.2", "ipv6": "fd00:0000:0000:0000:0010:0000:0010:0002" }], [{ "flags": 9, "ipv4": "10.0.20.1" }] ] } }';
    expect((await net('force-response', '--witness-client-computer-name=hv02', `--witness-forced-response=${twoLists}`)).code).toBe(0);
    const out = decodeWitnessrAsyncNotifyOut(await regs[1].conn.call(Witness_OPNUMS.WitnessrAsyncNotify, encodeWitnessrAsyncNotifyIn({ pContext: regs[1].handle }), { timeoutMs: 10_000 }));
    expect(out.ReturnValue).toBe(0);
    expect(out.pResp?.MessageType).toBe(CLIENT_MOVE_NOTIFICATION);
    expect(out.pResp?.Messages).toEqual([
      { IPAddrInfo: [{ Flags: 9, IPV4: '10.0.10.1', IPV6: '::' }, { Flags: 0, IPV4: '10.0.10.2', IPV6: 'fd00::10:0:10:2' }] },
      { IPAddrInfo: [{ Flags: 9, IPV4: '10.0.20.1', IPV6: '::' }] },
    ]);
  });

  test('refusals: net\'s messages on stdout and exit 255; an unknown option exits 1', async () => {
    const noFilter = await net('force-unregister');
    expect([noFilter.code, noFilter.out.split('\n')[0]]).toEqual([255, '--witness-apply-to-all or at least one of following requires:']);
    const both = await net('client-move', '--witness-apply-to-all', '--witness-net-name=x', '--witness-new-node=0');
    expect([both.code, both.out.split('\n')[0]]).toEqual([255, '--witness-apply-to-all not allowed together with the following options:']);
    expect(await net('client-move', '--witness-apply-to-all')).toMatchObject({ code: 255, out: '--witness-new-ip or --witness-new-node required' });
    expect(await net('client-move', '--witness-apply-to-all', '--witness-new-ip=1.2.3.4', '--witness-new-node=1')).toMatchObject({ code: 255, out: '--witness-new-ip and --witness-new-node are not allowed together' });
    expect(await net('client-move', '--witness-apply-to-all', '--witness-new-ip=not-an-ip')).toMatchObject({ code: 255, out: 'Invalid ip address for --witness-new-ip=not-an-ip' });
    const badRe = await net('list', '--witness-net-name=(');
    expect([badRe.code, badRe.out.split('\n')[0]]).toEqual([255, expect.stringMatching(/^regcomp\(\(\) failed for --witness-net-name: /)]);
    const badJson = await net('force-response', '--witness-apply-to-all', '--witness-forced-response={"response": {"type": 9}}');
    expect([badJson.code, badJson.out]).toEqual([255, expect.stringMatching(/^net_witness_force_response_parse failed: NT_STATUS_INVALID_PARAMETER/)]);
    expect((await net('list', '--bogus')).code).toBe(1);
    const sub = await net('frobnicate');
    expect([sub.code, sub.err]).toEqual([255, 'Invalid command: net witness frobnicate']);
    // Nothing was changed by any refusal.
    expect(ids((await net('list')).out)).toHaveLength(4);
    const down = await net('list', '--admin', 'http://127.0.0.1:1');
    expect(down.code).toBe(255);
  });
});
