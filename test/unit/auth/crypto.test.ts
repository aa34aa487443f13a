/** MD4 (RFC 1320), RC4 (RFC 6229), DES, and every MS-NLMP 4.2 derivation. */
import { md4 } from '../../../src/auth/md4';
import { Rc4, rc4 } from '../../../src/auth/rc4';
import { desEncryptBlock, desl } from '../../../src/auth/des';
import {
  NtlmDirection, NtlmV1Channel, crc32, ntHash, ntProofStr, ntlmv2Temp, ntowfv2, sealKey, sessionBaseKeyV2, signKey,
} from '../../../src/auth/ntlm-crypto';
import { verifyNtlmV1 } from '../../../src/auth/ntlm-v1';

const hex = (b: Buffer) => b.toString('hex');
const H = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('MD4 (RFC 1320 appendix A.5)', () => {
  const vectors: [string, string][] = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    ['1234567890'.repeat(8), 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ];
  it.each(vectors)('MD4(%j)', (input, digest) => {
    expect(hex(md4(Buffer.from(input, 'latin1')))).toBe(digest);
  });
  it('pads correctly at every length around the 56-byte boundary', () => {
    // 55/56/64 bytes cross the padding cases; equal prefixes must not collide.
    const seen = new Set<string>();
    for (const n of [54, 55, 56, 57, 63, 64, 65, 119, 120]) seen.add(hex(md4(Buffer.alloc(n, 0x61))));
    expect(seen.size).toBe(9);
  });
});

describe('RC4 (RFC 6229)', () => {
  const at = (key: Buffer, offsets: Record<number, string>) => {
    const max = Math.max(...Object.keys(offsets).map(Number)) + 16;
    const stream = rc4(key, Buffer.alloc(max));
    for (const [off, want] of Object.entries(offsets)) {
      expect(hex(stream.subarray(Number(off), Number(off) + 16))).toBe(want.replace(/\s+/g, ''));
    }
  };
  it('40-bit key 0x0102030405', () => at(H('0102030405'), {
    0: 'b2 39 63 05 f0 3d c0 27 cc c3 52 4a 0a 11 18 a8',
    16: '69 82 94 4f 18 fc 82 d5 89 c4 03 a4 7a 0d 09 19',
    240: '28 cb 11 32 c9 6c e2 86 42 1d ca ad b8 b6 9e ae',
    256: '1c fc f6 2b 03 ed db 64 1d 77 df cf 7f 8d 8c 93',
    4096: 'ff 25 b5 89 95 99 67 07 e5 1f bd f0 8b 34 d8 75',
  }));
  it('56-bit key 0x01020304050607', () => at(H('01020304050607'), {
    0: '29 3f 02 d4 7f 37 c9 b6 33 f2 af 52 85 fe b4 6b',
    16: 'e6 20 f1 39 0d 19 bd 84 e2 e0 fd 75 20 31 af c1',
  }));
  it('128-bit key 0x0102…10', () => at(H('0102030405060708090a0b0c0d0e0f10'), {
    0: '9a c7 cc 9a 60 9d 1e f7 b2 93 28 99 cd e4 1b 97',
    16: '52 48 c4 95 90 14 12 6a 6e 8a 84 f1 1d 1a 9e 1c',
    4096: 'a3 6a 4c 30 1a e8 ac 13 61 0c cb c1 22 56 ca cc',
  }));
  it('is a running stream: chunked processing equals one pass', () => {
    const key = H('0102030405060708090a0b0c0d0e0f10');
    const whole = rc4(key, Buffer.alloc(300));
    const r = new Rc4(key);
    const parts = [r.update(Buffer.alloc(7)), r.update(Buffer.alloc(0)), r.update(Buffer.alloc(293))];
    expect(Buffer.concat(parts).equals(whole)).toBe(true);
  });
});

describe('DES (FIPS 81 / classic vectors)', () => {
  it('encrypts the textbook block', () => {
    expect(hex(desEncryptBlock(H('133457799bbcdff1'), H('0123456789abcdef')))).toBe('85e813540f0ab405');
  });
});

// MS-NLMP 4.2.1 common values.
const user = 'User';
const domain = 'Domain';
const password = 'Password';
const serverChallenge = H('0123456789abcdef');
const clientChallenge = H('aaaaaaaaaaaaaaaa');
const randomSessionKey = Buffer.alloc(16, 0x55);
const plaintext = Buffer.from('Plaintext', 'utf16le');

describe('MS-NLMP 4.2.2 NTLMv1', () => {
  it('NTOWFv1 and the NTLMv1 response / session base key', () => {
    expect(hex(ntHash(password))).toBe('a4f49c406510bdcab6824ee7c30fd852');
    expect(hex(desl(ntHash(password), serverChallenge))).toBe('67c43011f30298a2ad35ece64f16331c44bdbed927841f94');
    const kx = verifyNtlmV1(ntHash(password), serverChallenge, H('67c43011f30298a2ad35ece64f16331c44bdbed927841f94'), Buffer.alloc(24), 0);
    expect(kx && hex(kx)).toBe('d87262b0cde4b1cb7499becccdf10784');
    expect(verifyNtlmV1(ntHash('wrong'), serverChallenge, H('67c43011f30298a2ad35ece64f16331c44bdbed927841f94'), Buffer.alloc(24), 0)).toBeUndefined();
  });
});

describe('MS-NLMP 4.2.2.4 signing without extended session security (the anonymous session)', () => {
  it('CRC-32 is zlib\'s (check value of "123456789")', () => {
    expect(crc32(Buffer.from('123456789')).toString(16)).toBe('cbf43926');
    expect(crc32(Buffer.from('xx123456789yy'), 2, 11).toString(16)).toBe('cbf43926');
  });

  it('the signature of the sealed "Plaintext" with RandomSessionKey 0x55 x16 (seqnum 0)', () => {
    const data = Buffer.from('Plaintext', 'utf16le');
    const sig = new NtlmV1Channel(Buffer.alloc(16, 0x55)).signPdu(data, true);
    expect(hex(sig)).toBe('0100000000000000' + '09dcd1df2e459d36');
    expect(data.equals(Buffer.from('Plaintext', 'utf16le'))).toBe(false);
  });

  it('one RC4 handle and sequence number for both directions: a peer channel verifies, a replay fails', () => {
    const client = new NtlmV1Channel(Buffer.alloc(16, 7));
    const server = new NtlmV1Channel(Buffer.alloc(16, 7));
    const msg = Buffer.from('header|stub data|trailer');
    const sig = client.signPdu(msg, false, 7, 16);
    expect(server.verifyPdu(msg, sig, false, 7, 16)).toBe(true);
    const back = server.signPdu(msg, false, 7, 16);
    expect(client.verifyPdu(msg, back, false, 7, 16)).toBe(true);
    expect(server.verifyPdu(msg, sig, false, 7, 16)).toBe(false);
  });
});

describe('MS-NLMP 4.2.3 NTLMv1 with extended session security', () => {
  const flags = 0x820a8233; // 56, VERSION, ESS, TARGET_TYPE_SERVER, ALWAYS_SIGN, NTLM, SEAL, SIGN, OEM, UNICODE
  const lm = H('aaaaaaaaaaaaaaaa00000000000000000000000000000000');
  const nt = H('7537f803ae367128ca458204bde7caf81e97ed2683267232');
  it('key exchange key, SIGNKEY, SEALKEY, sealed message and signature', () => {
    const kx = verifyNtlmV1(ntHash(password), serverChallenge, nt, lm, flags)!;
    expect(hex(kx)).toBe('eb93429a8bd952f8b89c55b87f475edc');
    expect(hex(signKey(kx, 'client'))).toBe('60e799be5c72fc92922ae8ebe961fb8d');
    expect(hex(sealKey(flags, kx, 'client'))).toBe('04dd7f014d8504d265a25cc86a3a7c06');
    const d = new NtlmDirection(flags, signKey(kx, 'client'), sealKey(flags, kx, 'client'));
    const msg = Buffer.from(plaintext);
    const sig = d.signPdu(msg, true, 0, msg.length);
    expect(hex(msg)).toBe('a02372f6530273f3aa1eb90190ce5200c99d');
    expect(hex(sig)).toBe('01000000ff2aeb52f681793a00000000');
  });
});

describe('MS-NLMP 4.2.4 NTLMv2', () => {
  const flags = 0xe28a8233; // KEY_EXCH, 56, 128, VERSION, TARGET_INFO, ESS, TARGET_TYPE_SERVER, ALWAYS_SIGN, NTLM, SEAL, SIGN, OEM, UNICODE
  const avPairs = H('02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000');
  const responseKeyNT = ntowfv2(password, user, domain);
  const temp = ntlmv2Temp(Buffer.alloc(8), clientChallenge, avPairs);
  const proof = ntProofStr(responseKeyNT, serverChallenge, temp);
  const sessionBaseKey = sessionBaseKeyV2(responseKeyNT, proof);

  it('NTOWFv2 (4.2.4.1.1)', () => {
    expect(hex(responseKeyNT)).toBe('0c868a403bfd7a93a3001ef22ef02e3f');
  });
  it('NTProofStr and the NTLMv2 response (4.2.4.2.2)', () => {
    expect(hex(proof)).toBe('68cd0ab851e51c96aabc927bebef6a1c');
    expect(hex(Buffer.concat([proof, temp]))).toBe(
      '68cd0ab851e51c96aabc927bebef6a1c01010000000000000000000000000000aaaaaaaaaaaaaaaa00000000' +
      '02000c0044006f006d00610069006e0001000c005300650072007600650072000000000000000000');
  });
  it('session base key and encrypted session key (4.2.4.1.2, 4.2.4.2.3)', () => {
    expect(hex(sessionBaseKey)).toBe('8de40ccadbc14a82f15cb0ad0de95ca3');
    expect(hex(rc4(sessionBaseKey, randomSessionKey))).toBe('c5dad2544fc9799094ce1ce90bc9d03e');
  });
  it('SIGNKEY and SEALKEY (4.2.4.4)', () => {
    expect(hex(signKey(randomSessionKey, 'client'))).toBe('4788dc861b4782f35d43fd98fe1a2d39');
    expect(hex(sealKey(flags, randomSessionKey, 'client'))).toBe('59f600973cc4960a25480a7c196e4c58');
  });
  it('a sealed message and its signature (GSS_WrapEx, 4.2.4.4)', () => {
    const d = new NtlmDirection(flags, signKey(randomSessionKey, 'client'), sealKey(flags, randomSessionKey, 'client'));
    const msg = Buffer.from(plaintext);
    const sig = d.signPdu(msg, true, 0, msg.length);
    expect(hex(msg)).toBe('54e50165bf1936dc996020c1811b0f06fb5f');
    expect(hex(sig)).toBe('010000007fb38ec5c55d497600000000');
  });
  it('a signed message without key exchange has the plain HMAC checksum', () => {
    const f = flags & ~0x40000000;
    const d = new NtlmDirection(f, signKey(randomSessionKey, 'client'), sealKey(f, randomSessionKey, 'client'));
    expect(hex(d.signPdu(Buffer.from(plaintext), false))).toBe('0100000070352851f256430900000000');
  });
  it('the receiving side decrypts and accepts exactly once', () => {
    const tx = new NtlmDirection(flags, signKey(randomSessionKey, 'client'), sealKey(flags, randomSessionKey, 'client'));
    const rx = new NtlmDirection(flags, signKey(randomSessionKey, 'client'), sealKey(flags, randomSessionKey, 'client'));
    const msg = Buffer.from(plaintext);
    const sig = tx.signPdu(msg, true, 0, msg.length);
    const copy = Buffer.from(msg);
    expect(rx.verifyPdu(msg, sig, true, 0, msg.length)).toBe(true);
    expect(msg.equals(plaintext)).toBe(true);
    expect(rx.verifyPdu(copy, sig, true, 0, copy.length)).toBe(false); // replay: seqnum 1 expected
  });
});
