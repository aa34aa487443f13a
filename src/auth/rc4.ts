/**
 * RC4 (ARCFOUR) as a stateful keystream: NTLMSSP sealing keeps one handle per direction for
 * the whole connection, so the state must persist between messages. Node 20's OpenSSL 3
 * has no RC4 without the legacy provider.
 */
export class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;

  constructor(key: Uint8Array) {
    if (key.length < 1 || key.length > 256) throw new RangeError('RC4 key must be 1..256 bytes');
    const s = this.s;
    for (let k = 0; k < 256; k++) s[k] = k;
    let j = 0;
    for (let k = 0; k < 256; k++) {
      j = (j + s[k] + key[k % key.length]) & 0xff;
      const t = s[k]; s[k] = s[j]; s[j] = t;
    }
  }

  /** XOR `data[start, end)` with the next keystream bytes, in place. */
  process(data: Uint8Array, start = 0, end = data.length): void {
    const s = this.s;
    let i = this.i, j = this.j;
    for (let p = start; p < end; p++) {
      i = (i + 1) & 0xff;
      j = (j + s[i]) & 0xff;
      const t = s[i]; s[i] = s[j]; s[j] = t;
      data[p] ^= s[(s[i] + s[j]) & 0xff];
    }
    this.i = i;
    this.j = j;
  }

  /** Encrypt/decrypt a copy. */
  update(data: Uint8Array): Buffer {
    const out = Buffer.from(data);
    this.process(out);
    return out;
  }
}

/** One-shot RC4K(key, data) as MS-NLMP writes it. */
export function rc4(key: Uint8Array, data: Uint8Array): Buffer {
  return new Rc4(key).update(data);
}
