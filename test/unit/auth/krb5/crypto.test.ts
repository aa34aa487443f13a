/** RFC 3961 A.1 n-fold, RFC 3962 Appendix B (string-to-key, AES-CTS), the simplified profile, RFC 4757 RC4-HMAC. */
import { AesCts, ctsDecrypt, ctsEncrypt } from '../../../../src/auth/krb5/aes-cts';
import { randomBytes } from 'node:crypto';
import { kdfHmacSha2 } from '../../../../src/auth/krb5/aes-sha2';
import { EncType, enctype } from '../../../../src/auth/krb5/enctypes';
import { CfxContext } from '../../../../src/auth/krb5/cfx';
import { KrbCryptoError, nfold } from '../../../../src/auth/krb5/rfc3961';

const H = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('n-fold (RFC 3961 A.1)', () => {
  const vectors: [number, string, string][] = [
    [64, '012345', 'be072631276b1955'],
    [56, 'password', '78a07b6caf85fa'],
    [64, 'Rough Consensus, and Running Code', 'bb6ed30870b7f0e0'],
    [168, 'password', '59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e'],
    [192, 'MASSACHVSETTS INSTITVTE OF TECHNOLOGY', 'db3b0d8f0b061e603282b308a50841229ad798fab9540c1b'],
    [168, 'Q', '518a54a215a8452a518a54a215a8452a518a54a215'],
    [168, 'ba', 'fb25d531ae8974499f52fd92ea9857c4ba24cf297e'],
    [64, 'kerberos', '6b65726265726f73'],
    [128, 'kerberos', '6b65726265726f737b9b5b2b93132b93'],
    [168, 'kerberos', '8372c236344e5f1550cd0747e15d62ca7a5a3bcea4'],
    [256, 'kerberos', '6b65726265726f737b9b5b2b93132b935c9bdcdad95c9899c4cae4dee6d6cae4'],
  ];
  it.each(vectors)('%i-fold(%j)', (bits, input, out) => {
    expect(nfold(Buffer.from(input, 'latin1'), bits / 8).toString('hex')).toBe(out);
  });
});

describe('AES string-to-key (RFC 3962 Appendix B)', () => {
  const it4 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
  const vectors: [number, string, string | Buffer, string, string][] = [
    [1, 'password', 'ATHENA.MIT.EDUraeburn', '42263c6e89f4fc28b8df68ee09799f15', 'fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161'],
    [2, 'password', 'ATHENA.MIT.EDUraeburn', 'c651bf29e2300ac27fa469d693bdda13', 'a2e16d16b36069c135d5e9d2e25f896102685618b95914b467c67622225824ff'],
    [1200, 'password', 'ATHENA.MIT.EDUraeburn', '4c01cd46d632d01e6dbe230a01ed642a', '55a6ac740ad17b4846941051e1e8b0a7548d93b0ab30a8bc3ff16280382b8c2a'],
    [5, 'password', H('1234567878563412'), 'e9b23d52273747dd5c35cb55be619d8e', '97a4e786be20d81a382d5ebc96d5909cabcdadc87ca48f574504159f16c36e31'],
    [1200, 'X'.repeat(64), 'pass phrase equals block size', '59d1bb789a828b1aa54ef9c2883f69ed', '89adee3608db8bc71f1bfbfe459486b05618b70cbae22092534e56c553ba4b34'],
    [1200, 'X'.repeat(65), 'pass phrase exceeds block size', 'cb8005dc5f90179a7f02104c0018751d', 'd78c5c9cb872a8c9dad4697f0bb5b2d21496c82beb2caeda2112fceea057401b'],
    [50, '\u{1d11e}', 'EXAMPLE.COMpianist', 'f149c1f2e154a73452d43e7fe62a56e5', '4b6d9839f84406df1f09cc166db4b83c571848b784a3d6bdc346589a3e393f9e'],
  ];
  it.each(vectors)('%i iterations of %j', (n, pw, salt, k128, k256) => {
    expect(enctype(EncType.AES128_CTS_HMAC_SHA1_96).stringToKey(pw, salt, it4(n)).toString('hex')).toBe(k128);
    expect(enctype(EncType.AES256_CTS_HMAC_SHA1_96).stringToKey(pw, salt, it4(n)).toString('hex')).toBe(k256);
  });
});

describe('AES-CTS (RFC 3962 Appendix B, key "chicken teriyaki", IV 0)', () => {
  const key = Buffer.from('chicken teriyaki');
  const vectors: [string, string][] = [
    ['4920776f756c64206c696b652074686520', 'c6353568f2bf8cb4d8a580362da7ff7f97'],
    ['4920776f756c64206c696b65207468652047656e6572616c20476175277320', 'fc00783e0efdb2c1d445d4c8eff7ed2297687268d6ecccc0c07b25e25ecfe5'],
    ['4920776f756c64206c696b65207468652047656e6572616c2047617527732043', '39312523a78662d5be7fcbcc98ebf5a897687268d6ecccc0c07b25e25ecfe584'],
    ['4920776f756c64206c696b65207468652047656e6572616c20476175277320436869636b656e2c20706c656173652c',
      '97687268d6ecccc0c07b25e25ecfe584b3fffd940c16a18c1b5549d2f838029e39312523a78662d5be7fcbcc98ebf5'],
    ['4920776f756c64206c696b65207468652047656e6572616c20476175277320436869636b656e2c20706c656173652c20',
      '97687268d6ecccc0c07b25e25ecfe5849dad8bbb96c4cdc03bc103e1a194bbd839312523a78662d5be7fcbcc98ebf5a8'],
    ['4920776f756c64206c696b65207468652047656e6572616c20476175277320436869636b656e2c20706c656173652c20616e6420776f6e746f6e20736f75702e',
      '97687268d6ecccc0c07b25e25ecfe58439312523a78662d5be7fcbcc98ebf5a84807efe836ee89a526730dbc2f7bc8409dad8bbb96c4cdc03bc103e1a194bbd8'],
  ];
  it.each(vectors)('%s', (plain, cipher) => {
    expect(ctsEncrypt(key, H(plain)).toString('hex')).toBe(cipher);
    expect(ctsDecrypt(key, H(cipher)).toString('hex')).toBe(plain);
  });
  it('one key-bound AesCts gives every message what a fresh cipher gives (the CBC chain restarts at IV 0)', () => {
    for (const k of [key, randomBytes(32)]) {
      const c = new AesCts(k);
      for (const n of [16, 17, 31, 32, 33, 48, 64, 100, 16, 250, 47, 4096]) {
        const p = randomBytes(n);
        const e = c.encrypt(p);
        expect(e).toEqual(ctsEncrypt(k, p));
        expect(c.decrypt(e)).toEqual(p);
        expect(c.decrypt(ctsEncrypt(k, p))).toEqual(p);
      }
      expect(() => c.encrypt(Buffer.alloc(15))).toThrow(KrbCryptoError);
      expect(c.decrypt(c.encrypt(Buffer.alloc(40, 9)))).toEqual(Buffer.alloc(40, 9));
    }
  });
  it('cbcAligned is CTS without the last two blocks exchanged, on the same chain as encrypt()', () => {
    const k = randomBytes(32);
    const c = new AesCts(k);
    for (const n of [16, 32, 48, 64, 240, 48]) {
      const p = randomBytes(n);
      const cts = ctsEncrypt(k, p);
      const cbc = c.cbcAligned(Buffer.from(p));
      const swapped = n === 16 ? cbc : Buffer.concat([cbc.subarray(0, n - 32), cbc.subarray(n - 16), cbc.subarray(n - 32, n - 16)]);
      expect(swapped).toEqual(cts);
      expect(c.encrypt(p)).toEqual(cts);
    }
    expect(() => c.cbcAligned(Buffer.alloc(40))).toThrow(KrbCryptoError);
  });
  it('cbcAlignedDecrypt undoes CTS with the last two blocks exchanged back, on the same chain as decrypt()', () => {
    const k = randomBytes(32);
    const c = new AesCts(k);
    for (const n of [16, 32, 48, 64, 240, 48]) {
      const p = randomBytes(n);
      const cts = ctsEncrypt(k, p);
      const cbc = n === 16 ? cts : Buffer.concat([cts.subarray(0, n - 32), cts.subarray(n - 16), cts.subarray(n - 32, n - 16)]);
      expect(c.cbcAlignedDecrypt(Buffer.from(cbc))).toEqual(p);
      expect(c.decrypt(cts)).toEqual(p);
    }
    expect(() => c.cbcAlignedDecrypt(Buffer.alloc(40))).toThrow(KrbCryptoError);
  });
  it('one block is plain CBC; less than a block is refused', () => {
    const b = Buffer.alloc(16, 7);
    expect(ctsDecrypt(key, ctsEncrypt(key, b))).toEqual(b);
    expect(() => ctsEncrypt(key, Buffer.alloc(15))).toThrow(KrbCryptoError);
    expect(() => ctsDecrypt(key, Buffer.alloc(0))).toThrow(KrbCryptoError);
  });
});

// Expected values computed independently with python3-impacket's krb5.crypto (same keys, usages, confounders).
describe('simplified profile and RC4-HMAC, cross-checked with impacket', () => {
  const aes = enctype(EncType.AES256_CTS_HMAC_SHA1_96);
  const rc4 = enctype(EncType.RC4_HMAC);
  const k32 = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
  const k16 = k32.subarray(0, 16);
  const plain = Buffer.from('plaintext here, longer than a block');

  it('aes256 encrypt with a fixed confounder, decrypt, checksum', () => {
    const c = aes.encrypt(k32, 2, plain, Buffer.alloc(16, 2));
    expect(c.toString('hex')).toBe('1c77623d31d304f0386cbb0b51e1d41422d8602cf1ca52894639042b5db384477bb4923a9ac5e66395e24663956dced9b04b496128924762cbe8025358b338');
    expect(aes.decrypt(k32, 2, c)).toEqual(plain);
    expect(aes.checksum(k32, 17, Buffer.from('hello world')).toString('hex')).toBe('f8b9eb40b6b74adc3b0d008d');
  });
  it('aes: a flipped bit, a wrong usage or key fails the integrity check', () => {
    const c = aes.encrypt(k32, 2, plain);
    const t = Buffer.from(c); t[5] ^= 1;
    expect(() => aes.decrypt(k32, 2, t)).toThrow(/integrity/);
    expect(() => aes.decrypt(k32, 3, c)).toThrow(/integrity/);
    expect(() => aes.decrypt(Buffer.alloc(32), 2, c)).toThrow(/integrity/);
    expect(() => aes.decrypt(k32, 2, c.subarray(0, 20))).toThrow(/too short/);
    expect(() => aes.decrypt(k16, 2, c)).toThrow(/key of 16 bytes/);
  });
  it('aes128 round trip, every length around the block edges', () => {
    const a128 = enctype(EncType.AES128_CTS_HMAC_SHA1_96);
    for (let n = 0; n < 50; n++) {
      const p = Buffer.alloc(n, n);
      expect(a128.decrypt(k16, 12, a128.encrypt(k16, 12, p))).toEqual(p);
    }
  });
  it('rc4-hmac encrypt with a fixed confounder, decrypt, checksum (-138)', () => {
    const p = Buffer.from('plaintext here!');
    const c = rc4.encrypt(k16, 11, p, Buffer.alloc(8, 1));
    expect(c.toString('hex')).toBe('16a5bf972e2e43f2aa5068437fbc1dc09c17b51f348af324e1561d32d2d557f25941e3ec4c3b1a');
    expect(rc4.decrypt(k16, 11, c)).toEqual(p);
    const t = Buffer.from(c); t[30] ^= 0x80;
    expect(() => rc4.decrypt(k16, 11, t)).toThrow(/integrity/);
    expect(rc4.checksum(k16, 17, Buffer.from('hello world')).toString('hex')).toBe('754b8ccd583239552c476238320bb828');
  });
  it('rc4-hmac string-to-key is the NT hash', () => {
    expect(rc4.stringToKey('password', '').toString('hex')).toBe('8846f7eaee8fb117ad06bdd830b7586c');
  });
  it('an unknown enctype is a clear error', () => {
    expect(() => enctype(1)).toThrow(/unsupported enctype 1/);
  });
});

describe('aes-sha2 (RFC 8009 Appendix A)', () => {
  const cases = [
    {
      id: EncType.AES128_CTS_HMAC_SHA256_128,
      base: '3705D96080C17728A0E800EAB6E0D23C',
      kc: 'B31A018A48F54776F403E9A396325DC3', ke: '9B197DD1E8C5609D6E67C3E37C62C72E', ki: '9FDA0E56AB2D85E1569A688696C26A6C',
      s2k: '089BCA48B105EA6EA77CA5D2F39DC5E7',
      checksum: 'D78367186643D67B411CBA9139FC1DEE',
      enc: [
        ['', '7E5895EAF2672435BAD817F545A37148', 'EF85FB890BB8472F4DAB20394DCA781DAD877EDA39D50C870C0D5A0A8E48C718'],
        ['000102030405', '7BCA285E2FD4130FB55B1A5C83BC5B24', '84D7F30754ED987BAB0BF3506BEB09CFB55402CEF7E6877CE99E247E52D16ED4421DFDF8976C'],
        ['000102030405060708090A0B0C0D0E0F', '56AB21713FF62C0A1457200F6FA9948F', '3517D640F50DDC8AD3628722B3569D2AE07493FA8263254080EA65C1008E8FC295FB4852E7D83E1E7C48C37EEBE6B0D3'],
        ['000102030405060708090A0B0C0D0E0F1011121314', 'A7A4E29A4728CE10664FB64E49AD3FAC', '720F73B18D9859CD6CCB4346115CD336C70F58EDC0C4437C5573544C31C813BCE1E6D072C186B39A413C2F92CA9B8334A287FFCBFC'],
      ],
    },
    {
      id: EncType.AES256_CTS_HMAC_SHA384_192,
      base: '6D404D37FAF79F9DF0D33568D320669800EB4836472EA8A026D16B7182460C52',
      kc: 'EF5718BE86CC84963D8BBB5031E9F5C4BA41F28FAF69E73D',
      ke: '56AB22BEE63D82D7BC5227F6773F8EA7A5EB1C825160C38312980C442E5C7E49', ki: '69B16514E3CD8E56B82010D5C73012B622C4D00FFC23ED1F',
      s2k: '45BD806DBF6A833A9CFFC1C94589A222367A79BC21C413718906E9F578A78467',
      checksum: '45EE791567EEFCA37F4AC1E0222DE80D43C3BFA06699672A',
      enc: [
        ['', 'F764E9FA15C276478B2C7D0C4E5F58E4', '41F53FA5BFE7026D91FAF9BE959195A058707273A96A40F0A01960621AC612748B9BBFBE7EB4CE3C'],
        ['000102030405', 'B80D3251C1F6471494256FFE712D0B9A', '4ED7B37C2BCAC8F74F23C1CF07E62BC7B75FB3F637B9F559C7F664F69EAB7B6092237526EA0D1F61CB20D69D10F2'],
        ['000102030405060708090A0B0C0D0E0F', '53BF8A0D105265D4E276428624CE5E63', 'BC47FFEC7998EB91E8115CF8D19DAC4BBBE2E163E87DD37F49BECA92027764F68CF51F14D798C2273F35DF574D1F932E40C4FF255B36A266'],
        ['000102030405060708090A0B0C0D0E0F1011121314', '763E65367E864F02F55153C7E3B58AF1', '40013E2DF58E8751957D2878BCD2D6FE101CCFD556CB1EAE79DB3C3EE86429F2B2A602AC86FEF6ECB647D6295FAE077A1FEB517508D2C16B4192E01F62'],
      ],
    },
  ];
  it.each(cases.map((c) => [enctype(c.id).name, c] as const))('%s: key derivation, encryption, checksum, string-to-key', (_n, c) => {
    const et = enctype(c.id);
    const base = H(c.base);
    const hash = c.id === EncType.AES128_CTS_HMAC_SHA256_128 ? 'sha256' : 'sha384';
    const u2 = (kind: number) => Buffer.from([0, 0, 0, 2, kind]);
    expect(kdfHmacSha2(hash, base, u2(0x99), H(c.kc).length * 8).toString('hex')).toBe(c.kc.toLowerCase());
    expect(kdfHmacSha2(hash, base, u2(0xaa), H(c.ke).length * 8).toString('hex')).toBe(c.ke.toLowerCase());
    expect(kdfHmacSha2(hash, base, u2(0x55), H(c.ki).length * 8).toString('hex')).toBe(c.ki.toLowerCase());
    for (const [plain, conf, cipher] of c.enc) {
      expect(et.encrypt(base, 2, H(plain), H(conf)).toString('hex')).toBe(cipher.toLowerCase());
      expect(et.decrypt(base, 2, H(cipher)).toString('hex')).toBe(plain.toLowerCase());
      const bad = H(cipher);
      bad[0] ^= 1;
      expect(() => et.decrypt(base, 2, bad)).toThrow(/integrity/);
    }
    expect(et.checksum(base, 2, H('000102030405060708090A0B0C0D0E0F1011121314')).toString('hex')).toBe(c.checksum.toLowerCase());
    const salt = Buffer.concat([H('10DF9DD783E5BC8ACEA1730E74355F61'), Buffer.from('ATHENA.MIT.EDUraeburn')]);
    expect(et.stringToKey('password', salt).toString('hex')).toBe(c.s2k.toLowerCase());
  });
});

describe('RFC 4121 Wrap and MIC sequence numbers', () => {
  it('count past 2^32 as 64-bit big-endian SND_SEQ, both ways; a replayed token is refused', () => {
    const key = randomBytes(32);
    const base = { key, enctype: EncType.AES256_CTS_HMAC_SHA1_96, initiatorSeq: 0xffffffff, acceptorSeq: 0xfffffffe, headerSigning: true };
    const acceptor = new CfxContext({ ...base, role: 'acceptor' });
    const initiator = new CfxContext({ ...base, role: 'initiator' });
    const clear = Buffer.concat([Buffer.alloc(24, 1), randomBytes(48), Buffer.alloc(8, 2)]);
    const seqs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const pdu = Buffer.from(clear);
      const t = acceptor.sealPdu(pdu, 24, 72);
      seqs.push(t.subarray(8, 16).toString('hex'));
      initiator.unsealPdu(pdu, 24, 72, t);
      expect(pdu).toEqual(clear);
      const mic = initiator.signPdu(clear, 24, 72);
      acceptor.verifyPdu(clear, 24, 72, mic);
      if (i === 1) expect(mic.subarray(8, 16).toString('hex')).toBe('0000000100000000');
      if (i === 2) expect(() => acceptor.verifyPdu(clear, 24, 72, mic)).toThrow(/sequence number 4294967297, expected 4294967298/);
    }
    expect(seqs).toEqual(['00000000fffffffe', '00000000ffffffff', '0000000100000000']);
  });
});
