/**
 * The ctdbd connection against a fake ctdbd on a Unix socket: controls and their replies by
 * request id, replies split into single bytes, timeouts, messages, and a peer that sends
 * garbage (the connection closes with a reason; pending controls fail; nothing throws).
 */
import { CtdbConnection } from '../../../src/cluster/ctdb/client';
import { CTDB_UNKNOWN_PNN, CtdbControl, CtdbSrvid, encodeControlReply, encodeMessage, encodeU32 } from '../../../src/cluster/ctdb/protocol';
import { readSnapshot } from '../../../src/cluster/ctdb/snapshot';
import { FakeCtdbd } from './fake-ctdbd';

describe('CtdbConnection', () => {
  let fake: FakeCtdbd;
  let conn: CtdbConnection | undefined;
  const messages: Array<{ srvid: bigint; text: string }> = [];
  const closes: string[] = [];

  beforeEach(async () => {
    fake = await FakeCtdbd.start();
    messages.length = 0;
    closes.length = 0;
    conn = await CtdbConnection.connect({
      path: fake.path,
      controlTimeoutMs: 300,
      onMessage: (srvid, data) => messages.push({ srvid, text: data.toString().replace(/\0$/, '') }),
      onClose: (r) => closes.push(r),
    });
  });
  afterEach(async () => {
    conn?.close('test end');
    await fake.dispose();
  });

  it('GET_PNN, REGISTER_SRVID and a message for the registered srvid', async () => {
    const c = conn as CtdbConnection;
    expect((await c.control({ opcode: CtdbControl.GET_PNN })).status).toBe(1);
    expect((await c.control({ opcode: CtdbControl.REGISTER_SRVID, srvid: CtdbSrvid.TAKE_IP })).status).toBe(0);
    fake.message(CtdbSrvid.TAKE_IP, '127.0.0.31');
    await waitFor(() => messages.length === 1);
    expect(messages[0]).toEqual({ srvid: CtdbSrvid.TAKE_IP, text: '127.0.0.31' });
  });

  it('reads a full snapshot: node map and every node\'s public IPs, routed by destnode', async () => {
    fake.place('127.0.0.31', 2);
    fake.publicIps.set(2, [{ pnn: 2, address: '127.0.0.31' }]); // node 2 may host only .31
    const snap = await readSnapshot(conn as CtdbConnection);
    expect(snap.pnn).toBe(1);
    expect(snap.nodes.map((n) => n.address)).toEqual(['127.0.0.21', '127.0.0.22', '127.0.0.23']);
    expect(snap.ips).toEqual([
      { address: '127.0.0.31', host: 2, possible: [0, 1, 2] },
      { address: '127.0.0.32', host: 1, possible: [0, 1] },
      { address: '127.0.0.33', host: 2, possible: [0, 1] },
    ]);
    expect(fake.controls.filter((c) => c.opcode === CtdbControl.GET_PUBLIC_IPS).map((c) => c.destnode).sort()).toEqual([0, 2, 0xf0000001]);
    expect(snap.disagreed).toEqual([]);
  });

  it('names the IPs whose host the nodes\' lists disagree on (this node back from a cut, its own list stale)', async () => {
    fake.publicIps.set(1, fake.publicIps.get(1)?.map((ip) => (ip.address === '127.0.0.32' ? { ...ip, pnn: CTDB_UNKNOWN_PNN } : ip)) ?? []);
    const snap = await readSnapshot(conn as CtdbConnection);
    expect(snap.ips.find((ip) => ip.address === '127.0.0.32')?.host).toBeUndefined(); // the local view, as before
    expect(snap.disagreed).toEqual(['127.0.0.32']);
  });

  it('a node that does not answer is skipped after the timeout; our own must answer', async () => {
    fake.silentNodes.add(2);
    const snap = await readSnapshot(conn as CtdbConnection, { remoteTimeoutMs: 100 });
    expect(snap.unanswered).toEqual([2]);
    expect(snap.ips.map((ip) => ip.possible)).toEqual([[0, 1], [0, 1], [0, 1]]);
    fake.silentNodes.add(1);
    await expect(readSnapshot(conn as CtdbConnection)).rejects.toThrow(/no reply after 300 ms/);
  });

  it('replies that arrive one byte at a time, and two packets in one chunk', async () => {
    const c = conn as CtdbConnection;
    fake.garbageReply = Buffer.alloc(0); // swallow the next control: we answer by hand
    const p = c.control({ opcode: CtdbControl.GET_PNN });
    await waitFor(() => fake.controls.length === 1);
    const reply = encodeControlReply(1, 5);
    for (const byte of reply) {
      fake.sendRaw(Buffer.from([byte]));
      await new Promise((r) => setImmediate(r));
    }
    expect((await p).status).toBe(5);
    await c.control({ opcode: CtdbControl.REGISTER_SRVID, srvid: CtdbSrvid.RELEASE_IP });
    fake.sendRaw(Buffer.concat([encodeMessage(CtdbSrvid.RELEASE_IP, Buffer.from('a\0')), encodeMessage(CtdbSrvid.RELEASE_IP, Buffer.from('b\0'))]));
    await waitFor(() => messages.length === 2);
    expect(messages.map((m) => m.text)).toEqual(['a', 'b']);
  });

  it.each([
    ['a length below the header', () => encodeU32(4)],
    ['a bad magic', () => Buffer.concat([encodeU32(32), Buffer.from('NOPE'), Buffer.alloc(24)])],
    ['a truncated reply body', () => {
      const r = encodeControlReply(1, 0, Buffer.alloc(8));
      r.writeUInt32LE(1 << 16, 36);
      return r;
    }],
  ])('garbage (%s) closes the connection with a reason and fails the pending control', async (_what, garbage) => {
    const c = conn as CtdbConnection;
    fake.garbageReply = garbage();
    await expect(c.control({ opcode: CtdbControl.GET_PNN })).rejects.toThrow(/connection closed: protocol error/);
    expect(closes).toHaveLength(1);
    expect(closes[0]).toMatch(/^protocol error: /);
    expect(c.closed).toBe(true);
    await expect(c.control({ opcode: CtdbControl.GET_PNN })).rejects.toThrow(/connection closed/);
  });

  it('ctdbd going away closes the connection once', async () => {
    await fake.stop();
    await waitFor(() => closes.length === 1);
    expect(closes[0]).toMatch(/closed the connection/);
  });
});

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
