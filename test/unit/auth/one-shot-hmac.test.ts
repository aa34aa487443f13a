/** The per-message HMAC and scratch helpers of the sealing paths (src/auth/one-shot-hmac.ts). */
import { createHmac, randomBytes } from 'node:crypto';
import { HMAC_MESSAGE_AT, OneShotHmac, Scratch, put } from '../../../src/auth/one-shot-hmac';

describe('OneShotHmac', () => {
  it.each(['sha1', 'md5'] as const)('%s equals createHmac for keys up to a block and messages around the block edges', (alg) => {
    for (const keyLen of [0, 16, 32, 64]) {
      const key = randomBytes(keyLen);
      const h = new OneShotHmac(alg, key);
      for (const n of [0, 1, 55, 56, 63, 64, 65, 200, 5000]) {
        const msg = randomBytes(n);
        const m = h.begin(n);
        msg.copy(m, HMAC_MESSAGE_AT);
        const out = Buffer.alloc(30, 0xcc);
        h.end(n, out, 3, 12);
        const want = createHmac(alg, key).update(msg).digest();
        expect(out.subarray(3, 15)).toEqual(want.subarray(0, 12));
        expect(out.subarray(0, 3)).toEqual(Buffer.alloc(3, 0xcc));
        expect(out.subarray(15)).toEqual(Buffer.alloc(15, 0xcc));
      }
    }
  });

  it('two keys interleaved share the scratch buffer without mixing', () => {
    const a = new OneShotHmac('sha1', Buffer.alloc(32, 1));
    const b = new OneShotHmac('md5', Buffer.alloc(16, 2));
    const msg = Buffer.from('one message');
    const mac = (h: OneShotHmac): Buffer => {
      msg.copy(h.begin(msg.length), HMAC_MESSAGE_AT);
      const out = Buffer.alloc(16);
      h.end(msg.length, out, 0, 16);
      return out;
    };
    const first = mac(a);
    mac(b);
    expect(mac(a)).toEqual(first);
    expect(mac(b)).toEqual(createHmac('md5', Buffer.alloc(16, 2)).update(msg).digest());
  });

  it('refuses a key longer than a block (none of its users has one)', () => {
    expect(() => new OneShotHmac('sha1', Buffer.alloc(65))).toThrow(RangeError);
  });
});

describe('Scratch and put', () => {
  it('keeps the view of one size, makes a new one for another size or after growing', () => {
    const s = new Scratch();
    const v = s.view(100);
    expect(v).toHaveLength(100);
    expect(s.view(100)).toBe(v);
    expect(s.view(50)).toHaveLength(50);
    const big = s.view(10000);
    expect(big).toHaveLength(10000);
    expect(s.of(10000).length).toBeGreaterThanOrEqual(10000);
    big[0] = 42;
    expect(s.of(1)[0]).toBe(42);
  });

  it('put copies a range', () => {
    const dst = Buffer.alloc(8);
    put(dst, 2, Buffer.from([1, 2, 3, 4, 5]), 1, 3);
    expect([...dst]).toEqual([0, 0, 2, 3, 4, 0, 0, 0]);
  });
});
