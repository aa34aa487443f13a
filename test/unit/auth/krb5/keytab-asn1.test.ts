/** MIT keytab parsing (as samba-tool writes it, holes, kvno32, truncation), key choice, the replay cache, DER integers and times. */
import { DerError, readTlv } from '../../../../src/auth/der';
import { decodeInteger, decodeTime, encodeInteger, encodeTime } from '../../../../src/auth/krb5/asn1';
import { KeytabError, ServiceKeys, encodeKeytab, parseKeytab } from '../../../../src/auth/krb5/keytab';
import { ReplayCache } from '../../../../src/auth/krb5/replay-cache';
import { keytabBytes } from './lab-helpers';

describe('MIT keytab', () => {
  it('reads the keytab samba-tool exported in the lab (3 keys of DC1$, kvno 1)', () => {
    const e = parseKeytab(keytabBytes);
    expect(e.map((x) => [x.principal, x.kvno, x.enctype, x.key.length])).toEqual([
      ['DC1$@EXAMPLE.TEST', 1, 18, 32], ['DC1$@EXAMPLE.TEST', 1, 17, 16], ['DC1$@EXAMPLE.TEST', 1, 23, 16],
    ]);
  });

  const entry = (components: string[], kvno: number, enctype = 18, key = Buffer.alloc(32, kvno)) => ({ realm: 'EXAMPLE.TEST', components, timestamp: 1, kvno, enctype, key });

  it('skips holes, prefers the 32-bit kvno, stops at zero fill', () => {
    const one = encodeKeytab([entry(['cifs', 'sofs.example.test'], 300)]);
    const hole = Buffer.alloc(4 + 10);
    hole.writeInt32BE(-10);
    const buf = Buffer.concat([one, hole, encodeKeytab([entry(['host', 'SOFS'], 2)]).subarray(2), Buffer.alloc(8)]);
    const e = parseKeytab(buf);
    expect(e.map((x) => [x.principal, x.kvno])).toEqual([['cifs/sofs.example.test@EXAMPLE.TEST', 300], ['host/SOFS@EXAMPLE.TEST', 2]]);
  });

  it('refuses what is not a keytab, and truncation at every length, with a KeytabError', () => {
    expect(() => parseKeytab(Buffer.from('hello'))).toThrow(/not a keytab/);
    expect(() => parseKeytab(Buffer.alloc(0))).toThrow(/empty/);
    const full = encodeKeytab([entry(['cifs', 'sofs.example.test'], 2)]);
    for (let n = 3; n < full.length - 4; n++) expect(() => parseKeytab(full.subarray(0, n))).toThrow(KeytabError);
    const big = Buffer.from(full);
    big.writeUInt16BE(999, 6); // component count
    expect(() => parseKeytab(big)).toThrow(KeytabError);
  });

  it('chooses keys by enctype and kvno, the ticket\'s own SPN first; principals filter, case-insensitively', () => {
    const all = parseKeytab(encodeKeytab([
      entry(['host', 'sofs.example.test'], 2), entry(['cifs', 'sofs.example.test'], 2), entry(['cifs', 'sofs.example.test'], 3, 18, Buffer.alloc(32, 9)),
      entry(['cifs', 'sofs.example.test'], 3, 23, Buffer.alloc(16, 9)), entry(['other', 'x'], 2, 18, Buffer.alloc(32, 7)),
    ]));
    const keys = new ServiceKeys(all, ['CIFS/SOFS.example.test', 'host/sofs.example.test@example.test']);
    expect(keys.principals).toEqual(['host/sofs.example.test@EXAMPLE.TEST', 'cifs/sofs.example.test@EXAMPLE.TEST']);
    expect(keys.candidates(18, 3, ['cifs', 'sofs.example.test'], 'EXAMPLE.TEST').map((e) => e.kvno)).toEqual([3]);
    expect(keys.candidates(18, 2, ['http', 'sofs.example.test'], 'EXAMPLE.TEST')).toHaveLength(1); // same key under two SPNs: tried once
    expect(keys.candidates(18, undefined, ['cifs', 'sofs.example.test'], 'EXAMPLE.TEST').map((e) => e.kvno)).toEqual([2, 3]);
    expect(keys.candidates(17, 2, ['cifs', 'sofs.example.test'], 'EXAMPLE.TEST')).toEqual([]);
    expect(() => new ServiceKeys(all, ['cifs/missing'])).toThrow(/no key for cifs\/missing/);
  });

  it('Samba\'s placeholder kvnos (no sync_kvno: -1 current, -2 old, -3 older, -4 next) fit any ticket kvno, current first, after exact ones', () => {
    const u32 = (n: number) => n >>> 0; // as the file stores them
    const all = parseKeytab(encodeKeytab([
      entry(['host', 'SOFS'], u32(-2), 18, Buffer.alloc(32, 2)), entry(['host', 'SOFS'], u32(-3), 18, Buffer.alloc(32, 3)),
      entry(['host', 'SOFS'], u32(-1), 18, Buffer.alloc(32, 1)), entry(['host', 'SOFS'], u32(-4), 18, Buffer.alloc(32, 4)),
      entry(['host', 'SOFS'], u32(-1), 23, Buffer.alloc(16, 1)), entry(['host', 'SOFS'], 5, 18, Buffer.alloc(32, 5)),
    ]));
    expect(all.map((e) => e.kvno)).toEqual([u32(-2), u32(-3), u32(-1), u32(-4), u32(-1), 5]);
    const keys = new ServiceKeys(all);
    const tried = (kvno: number | undefined) => keys.candidates(18, kvno, ['cifs', 'sofs.example.test'], 'EXAMPLE.TEST').map((e) => e.key[0]);
    expect(tried(7)).toEqual([1, 4, 2, 3]); // current, next change, old, older
    expect(tried(5)).toEqual([5, 1, 4, 2, 3]);
    expect(keys.candidates(23, 9, ['host', 'SOFS'], 'EXAMPLE.TEST').map((e) => e.key[0])).toEqual([1]);
  });
});

describe('replay cache', () => {
  it('remembers within the window, forgets after it, and stays bounded', () => {
    const c = new ReplayCache(3);
    expect(c.checkAndAdd('a', 100, 0)).toBe(true);
    expect(c.checkAndAdd('a', 100, 50)).toBe(false);
    expect(c.checkAndAdd('a', 300, 150)).toBe(true); // the old entry expired at 100
    for (const k of ['b', 'c', 'd', 'e']) c.checkAndAdd(k, 1000, 200);
    expect(c.size).toBe(3);
    expect(c.evictedEarly).toBeGreaterThan(0);
  });
});

describe('Kerberos DER primitives', () => {
  it.each([0, 1, 127, 128, 255, 256, 0x7fffffff, 0xffffffff, -1, -128, -129, -0x80000000])('INTEGER %i round-trips', (n) => {
    const b = encodeInteger(n);
    expect(decodeInteger(b, readTlv(b, 0), 'n')).toBe(n);
  });
  it('INTEGER encodings are minimal for the known cases', () => {
    expect(encodeInteger(128).toString('hex')).toBe('02020080');
    expect(encodeInteger(-138).toString('hex')).toBe('0202ff76');
    expect(encodeInteger(0x8003).toString('hex')).toBe('0203008003');
  });
  it('KerberosTime is YYYYMMDDHHMMSSZ; anything else is a DerError', () => {
    const t = Date.UTC(2026, 11, 4, 13, 21, 53);
    const b = encodeTime(t + 999);
    expect(b.subarray(2).toString()).toBe('20261204132153Z');
    expect(decodeTime(b, readTlv(b, 0), 't')).toBe(t);
    const bad = Buffer.from([0x18, 0x0f, ...Buffer.from('2026120413215.Z')]);
    expect(() => decodeTime(bad, readTlv(bad, 0), 't')).toThrow(DerError);
    const long = Buffer.from([0x02, 0x06, 1, 2, 3, 4, 5, 6]);
    expect(() => decodeInteger(long, readTlv(long, 0), 'n')).toThrow(/INTEGER of 6 bytes/);
  });
});
