/** The client's PDUs and towers, read back by the server side's own decoders. */
import { buildBind, buildRequest, bytesToUuid, parseBindAck, splitPdus, uuidToBytes } from '../../../src/client/pdu';
import { buildTcpTower, parseTower } from '../../../src/client/tower';
import { decodeBind, decodeHeader, decodeRequest } from '../../../src/rpc/pdu';
import { decodeFloors, decodeMapRequest, encodeTcpTower } from '../../../src/rpc/epm/tower';

const WITNESS = { uuid: 'ccd8c074-d0e5-4a40-92b4-d074faa6ba28', major: 1, minor: 1 };

test('UUIDs use the DCE byte order', () => {
  const b = uuidToBytes(WITNESS.uuid);
  expect(b.toString('hex')).toBe('74c0d8cce5d0404a92b4d074faa6ba28');
  expect(bytesToUuid(b)).toBe(WITNESS.uuid);
  expect(() => uuidToBytes('nope')).toThrow();
});

test('bind: one context, witness 1.1 over NDR 2.0, as the server decodes it', () => {
  const pdu = buildBind(3, WITNESS, 5840, 0x1234);
  const h = decodeHeader(pdu);
  expect([h.ptype, h.fragLength, h.callId, h.le]).toEqual([11, pdu.length, 3, true]);
  const body = decodeBind(pdu, h, h.fragLength);
  expect(body.maxXmitFrag).toBe(5840);
  expect(body.assocGroupId).toBe(0x1234);
  expect(body.contexts).toHaveLength(1);
  expect(body.contexts[0].contextId).toBe(0);
  expect(body.contexts[0].abstractSyntax).toEqual(WITNESS);
  expect(body.contexts[0].transferSyntaxes).toEqual([{ uuid: '8a885d04-1ceb-11c9-9fe8-08002b104860', major: 2, minor: 0 }]);
});

test('requests are fragmented within max_xmit_frag and carry opnum and alloc_hint', () => {
  const stub = Buffer.alloc(10_000, 7);
  const frags = buildRequest(9, 0, 3, stub, 4280);
  expect(frags.length).toBe(3);
  let total = 0;
  frags.forEach((f, i) => {
    expect(f.length).toBeLessThanOrEqual(4280);
    const h = decodeHeader(f);
    expect(h.pfcFlags & 3).toBe((i === 0 ? 1 : 0) | (i === frags.length - 1 ? 2 : 0));
    const r = decodeRequest(f, h);
    expect(r.opnum).toBe(3);
    expect(r.allocHint).toBe(stub.length - total);
    total += f.length - r.stubOffset;
  });
  expect(total).toBe(stub.length);
  // An empty stub is still one request PDU.
  expect(buildRequest(1, 0, 0, Buffer.alloc(0), 4280)).toHaveLength(1);
});

test('splitPdus waits for whole fragments and rejects garbage', () => {
  const a = buildBind(1, WITNESS, 4280);
  const two = Buffer.concat([a, a]);
  const r1 = splitPdus(two.subarray(0, a.length + 10), 65535);
  expect(r1.pdus).toHaveLength(1);
  expect(r1.rest.length).toBe(10);
  expect(() => splitPdus(Buffer.from('GET / HTTP/1.1\r\n\r\n'), 65535)).toThrow(/not DCE\/RPC/);
});

test('bind_ack parsing: secondary address, alignment, results', () => {
  // A bind_ack as in C706 12.6.4.4: port "49701" (6 bytes with NUL) then pad to 4, one result.
  const sec = Buffer.from('49701\0', 'latin1');
  const body = Buffer.concat([
    Buffer.from([0xb8, 0x10, 0xb8, 0x10, 0x78, 0x56, 0x34, 0x12]),
    Buffer.from([sec.length, 0]),
    sec,
    Buffer.alloc(0), // 16+8+2+6 = 32: already aligned
    Buffer.from([1, 0, 0, 0]),
    Buffer.from([0, 0, 0, 0]),
    Buffer.alloc(20),
  ]);
  const hdr = Buffer.from([5, 0, 12, 3, 0x10, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
  hdr.writeUInt16LE(16 + body.length, 8);
  const [pdu] = splitPdus(Buffer.concat([hdr, body]), 65535).pdus;
  expect(parseBindAck(pdu)).toEqual({ maxXmit: 4280, maxRecv: 4280, assocGroupId: 0x12345678, secondaryAddress: '49701', results: [{ result: 0, reason: 0 }] });
});

test('towers: the map request tower decodes on the server side; a server tower parses here', () => {
  const req = decodeMapRequest(buildTcpTower(WITNESS));
  expect(req.iface).toEqual(WITNESS);
  expect(req.protocols).toEqual([0x0b, 0x07, 0x09]);
  expect(decodeFloors(buildTcpTower(WITNESS, 49701, '127.0.0.11'))).toHaveLength(5);
  const answer = encodeTcpTower({ iface: WITNESS, transfer: { uuid: '8a885d04-1ceb-11c9-9fe8-08002b104860', major: 2, minor: 0 }, port: 49701, ip: '127.0.0.11' });
  expect(parseTower(answer)).toEqual({ interface: WITNESS, port: 49701, ipv4: '127.0.0.11' });
  expect(() => parseTower(answer.subarray(0, 20))).toThrow(/truncated/);
});
