/**
 * MD4 (RFC 1320). Node 20's OpenSSL 3 only offers it through the legacy provider, and the
 * NT hash (NTOWFv1) is MD4 over the UTF-16LE password, so we carry our own.
 */

function rotl(x: number, n: number): number {
  return (x << n) | (x >>> (32 - n));
}

export function md4(data: Buffer): Buffer {
  // Padding: 0x80, zeros to 56 mod 64, then the bit length as a 64-bit little-endian integer.
  const bitLen = data.length * 8;
  const padLen = ((data.length + 8) >> 6 << 6) + 64;
  const msg = Buffer.alloc(padLen);
  data.copy(msg);
  msg[data.length] = 0x80;
  msg.writeUInt32LE(bitLen >>> 0, padLen - 8);
  msg.writeUInt32LE(Math.floor(data.length / 0x20000000) >>> 0, padLen - 4);

  let a = 0x67452301;
  let b = 0xefcdab89;
  let c = 0x98badcfe;
  let d = 0x10325476;
  const x = new Array<number>(16);

  for (let off = 0; off < padLen; off += 64) {
    for (let i = 0; i < 16; i++) x[i] = msg.readInt32LE(off + i * 4);
    const aa = a, bb = b, cc = c, dd = d;

    // Round 1: F(x,y,z) = (x & y) | (~x & z)
    const r1 = [3, 7, 11, 19];
    for (let i = 0; i < 16; i++) {
      const f = (b & c) | (~b & d);
      const t = rotl((a + f + x[i]) | 0, r1[i % 4]);
      a = d; d = c; c = b; b = t;
    }
    // Round 2: G(x,y,z) = (x & y) | (x & z) | (y & z), constant 0x5a827999
    const r2 = [3, 5, 9, 13];
    const k2 = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15];
    for (let i = 0; i < 16; i++) {
      const g = (b & c) | (b & d) | (c & d);
      const t = rotl((a + g + x[k2[i]] + 0x5a827999) | 0, r2[i % 4]);
      a = d; d = c; c = b; b = t;
    }
    // Round 3: H(x,y,z) = x ^ y ^ z, constant 0x6ed9eba1
    const r3 = [3, 9, 11, 15];
    const k3 = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15];
    for (let i = 0; i < 16; i++) {
      const h = b ^ c ^ d;
      const t = rotl((a + h + x[k3[i]] + 0x6ed9eba1) | 0, r3[i % 4]);
      a = d; d = c; c = b; b = t;
    }

    a = (a + aa) | 0;
    b = (b + bb) | 0;
    c = (c + cc) | 0;
    d = (d + dd) | 0;
  }

  const out = Buffer.alloc(16);
  out.writeInt32LE(a, 0);
  out.writeInt32LE(b, 4);
  out.writeInt32LE(c, 8);
  out.writeInt32LE(d, 12);
  return out;
}
