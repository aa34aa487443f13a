/**
 * ctdbd's packets: the layouts of Samba's ctdb/protocol (host order, 8-byte padding, the
 * 28-byte sockaddr), round trips, and every kind of garbage refused with a clear error.
 */
import { endianness } from 'node:os';
import {
  CTDB_MAGIC, CtdbControl, CtdbOperation, CtdbProtocolError, CtdbSrvid, Header, MAX_PACKET, decodeNodeMap, decodePacket,
  decodePublicIps, encodeControl, encodeControlReply, encodeMessage, encodeNodeMap, encodePublicIps, encodeSockAddr, encodeU32,
  messageText, nodeFlagNames, packetLength,
} from '../../../src/cluster/ctdb/protocol';

const le = endianness() === 'LE';
const u32 = (b: Buffer, at: number) => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));

describe('ctdb protocol', () => {
  it('a control request is header + opcode, pad, srvid, client_id, flags, datalen, data, padded to 8', () => {
    const pkt = encodeControl(7, { opcode: CtdbControl.REGISTER_SRVID, srvid: CtdbSrvid.TAKE_IP, data: Buffer.from([1, 2, 3]) });
    expect(pkt.length).toBe(64); // 32 + 28 + 3 = 63 → 64
    expect(u32(pkt, 0)).toBe(64);
    expect(u32(pkt, 4)).toBe(CTDB_MAGIC);
    expect(u32(pkt, 8)).toBe(1);
    expect(u32(pkt, 16)).toBe(CtdbOperation.REQ_CONTROL);
    expect(u32(pkt, 20)).toBe(0xf0000001); // this node
    expect(u32(pkt, 28)).toBe(7);
    expect(u32(pkt, 32)).toBe(23);
    expect(le ? pkt.readBigUInt64LE(40) : pkt.readBigUInt64BE(40)).toBe(0xf301000000000000n);
    expect(u32(pkt, 56)).toBe(3);
    expect([...pkt.subarray(60, 64)]).toEqual([1, 2, 3, 0]);
    const back = decodePacket(pkt);
    expect(back).toMatchObject({ kind: 'control', opcode: 23, srvid: CtdbSrvid.TAKE_IP });
  });

  it('replies and messages round-trip, with the error text and the IP string', () => {
    const r = decodePacket(encodeControlReply(9, -1, Buffer.from('ab'), 'no such node'));
    expect(r).toMatchObject({ kind: 'reply', status: -1, error: 'no such node' });
    expect(r.kind === 'reply' && r.data.toString()).toBe('ab');
    expect(r.header.reqid).toBe(9);
    const m = decodePacket(encodeMessage(CtdbSrvid.RELEASE_IP, Buffer.from('127.0.0.31\0')));
    expect(m.kind).toBe('message');
    expect(m.kind === 'message' && messageText(m.data)).toBe('127.0.0.31');
  });

  it('node maps and public IP lists (IPv4 and IPv6) decode as encoded', () => {
    const nodes = [
      { pnn: 0, flags: 0, address: '127.0.0.21' },
      { pnn: 1, flags: 0x9, address: 'fd00::22' },
    ];
    expect(decodeNodeMap(encodeNodeMap(nodes))).toEqual(nodes);
    const ips = [
      { pnn: 2, address: '127.0.0.31' },
      { pnn: 0xffffffff, address: '2001:db8::1:31' },
    ];
    expect(decodePublicIps(encodePublicIps(ips))).toEqual(ips);
    expect(encodeSockAddr('127.0.0.21').length).toBe(28);
    expect(encodeNodeMap(nodes).length).toBe(4 + 2 * 36);
    expect(nodeFlagNames(0x9)).toEqual(['DISCONNECTED', 'BANNED']);
    expect(nodeFlagNames(0)).toEqual(['OK']);
  });

  it('garbage is refused with a reason: length, magic, version, truncated bodies, absurd counts', () => {
    expect(() => packetLength(encodeU32(8))).toThrow(CtdbProtocolError);
    expect(() => packetLength(encodeU32(MAX_PACKET + 8))).toThrow(/outside/);
    expect(packetLength(Buffer.from([1, 2]))).toBeUndefined();

    const bad = encodeControlReply(1, 0);
    bad.writeUInt32LE(0xdeadbeef, 4);
    expect(() => decodePacket(bad)).toThrow(/bad magic/);

    const v2 = encodeControlReply(1, 0);
    Header.encode({ ...Header.decode(v2), version: 2 }, v2);
    expect(() => decodePacket(v2)).toThrow(/version 2/);

    // A reply announcing more data than the packet holds.
    const trunc = encodeControlReply(1, 0, Buffer.alloc(8));
    if (le) trunc.writeUInt32LE(4096, 36); else trunc.writeUInt32BE(4096, 36);
    expect(() => decodePacket(trunc)).toThrow(/truncated control reply/);
    const msg = encodeMessage(CtdbSrvid.TAKE_IP, Buffer.from('x'));
    if (le) msg.writeUInt32LE(999, 40); else msg.writeUInt32BE(999, 40);
    expect(() => decodePacket(msg)).toThrow(/truncated message/);

    expect(() => decodeNodeMap(encodeU32(1_000_000))).toThrow();
    expect(() => decodeNodeMap(Buffer.concat([encodeU32(2), Buffer.alloc(36)]))).toThrow();
    expect(() => decodePublicIps(Buffer.alloc(2))).toThrow();
  });
});
