/**
 * A PDU dripped in small pieces is joined once when whole, not once per piece (Buffer.concat per
 * 64-byte chunk made reassembly quadratic: 500 dripping connections cost 70 % CPU, issue 23).
 * And timers: a deadline past Node's 2^31-1 ms timer bound is not turned into a 1 ms loop.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import pino from 'pino';
import { PduStream, type PduHandler } from '../../../src/rpc/pdu-stream';
import { resolveOptions } from '../../../src/rpc/options';
import { newRpcStats } from '../../../src/rpc/stats';
import { MAX_TIMER_MS, systemClock } from '../../../src/witness/clock';

function fakeSocket(): Socket {
  const s = new EventEmitter() as unknown as Socket & { writableLength: number; destroyed: boolean };
  Object.assign(s, { writableLength: 0, destroyed: false, write: () => true, end: () => undefined, destroy: () => undefined, localAddress: '127.0.0.1', remoteAddress: '127.0.0.2' });
  return s;
}

function pdu(fragLength: number, fill: number): Buffer {
  const b = Buffer.alloc(fragLength, fill);
  b[0] = 5; b[1] = 0; b[2] = 0; b[3] = 3; b[4] = 0x10;
  b.writeUInt16LE(fragLength, 8);
  return b;
}

describe('PduStream: PDUs from a dripping peer', () => {
  it('a 5,000-byte PDU in 64-byte pieces (and a 1-byte drip of a header) is joined once, byte for byte', () => {
    const got: Buffer[] = [];
    const handler: PduHandler = {
      host: { options: resolveOptions({ logger: pino({ level: 'silent' }) }), stats: newRpcStats() },
      log: pino({ level: 'silent' }),
      onPdu: (p) => void got.push(Buffer.from(p)),
      protocolViolation: (_h, why) => { throw new Error(why); },
      onClosed: () => undefined,
    };
    const socket = fakeSocket();
    const stream = new PduStream(socket, handler);
    const a = pdu(5000, 0xaa);
    const b = pdu(3000, 0xbb);
    const wire = Buffer.concat([a, b]);
    const concat = jest.spyOn(Buffer, 'concat');
    try {
      for (let i = 0; i < 16; i++) socket.emit('data', wire.subarray(i, i + 1)); // the header, a byte at a time
      for (let i = 16; i < wire.length; i += 64) socket.emit('data', wire.subarray(i, Math.min(i + 64, wire.length)));
      expect(got).toEqual([a, b]);
      // Once per PDU (and once for the header dripped byte by byte), not once per piece (~125).
      expect(concat.mock.calls.length).toBeLessThanOrEqual(4);
    } finally {
      concat.mockRestore();
      stream.teardown('test');
    }
  });
});

describe('timers past 2^31-1 ms', () => {
  it('systemClock arms the longest timer Node allows instead (no TimeoutOverflowWarning, no 1 ms refiring)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    let fired = 0;
    const h = systemClock.setTimeout(() => fired++, 0xffffffff * 1000);
    await new Promise((r) => setTimeout(r, 100));
    systemClock.clearTimeout(h);
    process.off('warning', onWarning);
    expect(fired).toBe(0);
    expect(warnings).not.toContain('TimeoutOverflowWarning');
    expect(MAX_TIMER_MS).toBe(2 ** 31 - 1);
  });
});
