// witness-ndrdump: decode → JSON → encode is a round trip; bad input is one clear error.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../../src/cli/ndrdump';

function run(argv: string[], stdin = ''): { code: number; out: string; err: string } {
  let out = '', err = '';
  const code = main(argv, { stdout: (s) => { out += s; }, stderr: (s) => { err += s; }, readStdin: () => Buffer.from(stdin) });
  return { code, out, err };
}

const RC48 = '00000200010000001200000001000000040002001200000012000000ff00000053004f00460053000000000000000000';

describe('witness-ndrdump', () => {
  it('decodes an AsyncNotify response to JSON and encodes it back to the same hex', () => {
    const d = run(['witness', 'WitnessrAsyncNotify', 'out', '--hex', RC48]);
    expect(d.code).toBe(0);
    expect(JSON.parse(d.out)).toEqual({ pResp: { MessageType: 1, Messages: [{ ChangeType: 255, ResourceName: 'SOFS' }] }, ReturnValue: 0 });
    const e = run(['witness', '3', 'out', '--encode'], d.out);
    expect(e).toEqual({ code: 0, out: `${RC48}\n`, err: '' });
  });

  it('--ndr64: the same response in NDR64 (8-byte referent ids and max_count, 8-aligned)', () => {
    const rc64 = '0000020000000000 01000000 12000000 01000000 00000000 0400020000000000 1200000000000000 12000000ff00000053004f00460053000000 0000 00000000'.replace(/ /g, '');
    const d = run(['witness', 'WitnessrAsyncNotify', 'out', '--ndr64', '--hex', rc64]);
    expect(d.code).toBe(0);
    expect(JSON.parse(d.out)).toEqual({ pResp: { MessageType: 1, Messages: [{ ChangeType: 255, ResourceName: 'SOFS' }] }, ReturnValue: 0 });
    expect(run(['witness', '3', 'out', '--ndr64', '--encode'], d.out)).toEqual({ code: 0, out: `${rc64}\n`, err: '' });
    // an NDR 2.0 stub is not an NDR64 one: one clear error
    const bad = run(['witness', '3', 'out', '--ndr64', '--hex', RC48]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^ndrdump: witness WitnessrAsyncNotify out: .* at offset \d+/);
  });

  it('prints byte arrays as hex, GUIDs as text, and round-trips epm towers big-endian', () => {
    const json = JSON.stringify({ object: '00112233-4455-6677-8899-aabbccddeeff', map_tower: { tower_length: 3, tower_octet_string: '0a0b0c' }, entry_handle: { attributes: 0, uuid: '00000000-0000-0000-0000-000000000000' }, max_towers: 4 });
    const e = run(['epm', 'ept_map', 'in', '--big-endian', '--encode'], json);
    expect(e.code).toBe(0);
    const d = run(['epm', 'ept_map', 'in', '--big-endian', '--hex', e.out.trim()]);
    expect(JSON.parse(d.out)).toEqual(JSON.parse(json));
  });

  it('reads a stub from a file (raw bytes or hex text)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ndrdump-'));
    const raw = path.join(dir, 'stub.bin');
    fs.writeFileSync(raw, Buffer.from(RC48, 'hex'));
    const txt = path.join(dir, 'stub.hex');
    fs.writeFileSync(txt, RC48 + '\n');
    expect(run(['witness', 'WitnessrAsyncNotify', 'out', raw]).out).toBe(run(['witness', 'WitnessrAsyncNotify', 'out', txt]).out);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reports a bad stub with the offset and field, exit code 1', () => {
    const r = run(['witness', 'WitnessrAsyncNotify', 'out', '--hex', RC48.slice(0, 60)]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^ndrdump: witness WitnessrAsyncNotify out: .* at offset \d+ in WitnessrAsyncNotify\.out\.pResp/);
    expect(r.out).toBe('');
  });

  it('reports unknown names, bad JSON and bad usage', () => {
    expect(run(['nosuch', 'x', 'in']).err).toMatch(/unknown interface "nosuch" \(known: .*witness/);
    expect(run(['witness', 'Frob', 'in']).err).toMatch(/no operation "Frob"/);
    expect(run(['witness', '0', 'sideways']).err).toMatch(/expected in or out/);
    expect(run(['witness', '1', 'in', '--encode'], '{').err).toMatch(/bad JSON/);
    expect(run(['witness', '1', 'in', '--encode'], '{"Version":"x"}').err).toMatch(/JSON \$\.Version: expected a number/);
    expect(run(['witness', '1', 'in', '--hex', 'abc']).err).toMatch(/even number of hex digits/);
    expect(run([]).code).toBe(1);
  });

  it('lists interfaces and operations', () => {
    const r = run(['--list']);
    expect(r.out).toMatch(/^witness ccd8c074-d0e5-4a40-92b4-d074faa6ba28 v1\.1$/m);
    expect(r.out).toMatch(/^ {2}3 ept_map$/m);
  });

  it('refuses a stub with bytes it did not read: the count and the offset', () => {
    const r = run(['witness', 'WitnessrAsyncNotify', 'out', '--hex', `${RC48}00000000`]);
    expect(r).toEqual({ code: 1, out: '', err: 'ndrdump: witness WitnessrAsyncNotify out: 4 unread byte(s) at offset 48 (the stub is 52 bytes; is it the right operation and direction?)\n' });
    // A Register request decoded as the (shorter) UnRegister request: the rest is unread.
    const reg = run(['witness', 'WitnessrRegister', 'in', '--encode'], JSON.stringify({ Version: 0x10001, NetName: 'SOFS', IpAddress: '127.0.0.11', ClientComputerName: 'hv' })).out.trim();
    expect(run(['witness', 'WitnessrUnRegister', 'in', '--hex', reg]).err).toMatch(/unread byte\(s\) at offset 20 /);
  });

  it('--wire shows the counts and lengths as sent beside the typed view, also when they disagree', () => {
    const ok = run(['witness', 'WitnessrAsyncNotify', 'out', '--wire', '--hex', RC48]);
    expect(ok.code).toBe(0);
    const [wire, typed] = ok.out.split('typed:\n');
    expect(wire.split('\n').map((l) => l.trim()).filter(Boolean)).toEqual([
      'wire (48 bytes):',
      '@   0  pResp (referent) = 131072',
      '@   4  MessageType = 1  (RESOURCE_CHANGE)',
      '@   8  Length = 18',
      '@  12  NumberOfMessages = 1',
      '@  16  MessageBuffer (referent) = 131076',
      '@  20  MessageBuffer max_count = 18',
      '@  24  Messages[0].Length = 18',
      '@  28  Messages[0].ChangeType = 255',
      '@  32  Messages[0].ResourceName = SOFS',
      '@  44  ReturnValue = 0',
    ]);
    expect(JSON.parse(typed).pResp.Messages).toHaveLength(1);
    // NumberOfMessages says 2, the buffer holds one record: the strict codec refuses, --wire shows why.
    const two = `${RC48.slice(0, 24)}02${RC48.slice(26)}`;
    const bad = run(['witness', 'WitnessrAsyncNotify', 'out', '--wire', '--hex', two]);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('@  12  NumberOfMessages = 2  (1 record(s) found in MessageBuffer)');
    expect(bad.err).toMatch(/record 1 of 2 does not fit/);
    expect(run(['witness', 'WitnessrRegister', 'in', '--wire', '--hex', '00']).err).toMatch(/--wire shows WitnessrAsyncNotify out/);
  });
});
