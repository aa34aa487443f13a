/**
 * The generator's NDR64 back end byte for byte against Samba's (pidl-generated) NDR64, through
 * python3-samba: each stub below is encoded by us in NDR 2.0, decoded by Samba and re-encoded
 * by Samba as NDR64 (helpers/samba-ndr64.py); that must equal our NDR64 encoding, and our
 * NDR64 decoder must read Samba's bytes back to the value. The other way too: Samba decodes
 * our NDR64 encoding and re-encodes it as NDR 2.0, which must equal our NDR 2.0 bytes. Covers unique and full pointers,
 * conformant (hoisted) and conformant varying arrays, [string] pointers and fixed strings,
 * structures' trailing padding, context handles, and the hand-written witness overrides.
 * Not the endpoint mapper: Samba's epmapper.idl models twr_t as a [subcontext(4)] (the same
 * bytes as C706's conformant struct in NDR 2.0, not in NDR64), so its NDR64 is not C706's.
 */
import * as path from 'node:path';
import { describeWithPeers, peerPath, runTool } from './helpers';
import * as W from '../../src/gen/witness';
import * as M from '../../src/gen/mgmt';

type Enc = (v: any, le?: boolean) => Buffer;
type Dec = (b: Buffer, le?: boolean) => any;
interface Vector {
  module: string; fn: string; dir: 'in' | 'out'; v: unknown; enc: Enc; enc64: Enc; dec64: Dec; inHex?: string;
  /** No pointer and no count: NDR64 and NDR 2.0 bytes are the same. */
  same?: true;
  /**
   * [ptr] pointers in C706's IDL, unique ones in Samba's mgmt.idl: our referent ids are 1, 2, 3
   * (MIDL's full-pointer numbering), Samba's 0x20000, 0x20004, ...; the rest must be equal.
   */
  fullPointers?: true;
  /** The NDR 2.0 decoder, for fullPointers vectors (Samba's NDR 2.0 has other referent ids). */
  dec?: Dec;
  /** The packed MessageBuffer: see the AsyncNotify test. */
  messageBuffer?: true;
}

const info = (name: string, ipv4: string, ipv6: string, flags: number) => ({ InterfaceGroupName: name, Version: 0xffffffff, State: 1, IPV4: ipv4, IPV6: ipv6, Flags: flags });
const handle = { attributes: 0, uuid: '6ba7b810-9dad-11d1-80b4-00c04fd430c8' };
const princIn = M.encodeRpc__mgmt_inq_princ_nameIn({ authn_proto: 10, princ_name_size: 40 }).toString('hex');

const VECTORS: Vector[] = [
  { module: 'witness', fn: 'GetInterfaceList', dir: 'out', v: { InterfaceList: { NumberOfInterfaces: 2, InterfaceInfo: [info('node1', '10.0.0.1', '::', 1), info('node2', '0.0.0.0', 'fd00::2', 2)] }, ReturnValue: 0 }, enc: W.encodeWitnessrGetInterfaceListOut, enc64: W.encodeWitnessrGetInterfaceListOutNdr64, dec64: W.decodeWitnessrGetInterfaceListOutNdr64 },
  { module: 'witness', fn: 'GetInterfaceList', dir: 'out', v: { InterfaceList: null, ReturnValue: 5 }, enc: W.encodeWitnessrGetInterfaceListOut, enc64: W.encodeWitnessrGetInterfaceListOutNdr64, dec64: W.decodeWitnessrGetInterfaceListOutNdr64 },
  { module: 'witness', fn: 'Register', dir: 'in', v: { Version: 0x10001, NetName: 'SOFS', IpAddress: '10.0.0.1', ClientComputerName: 'CLIENT1' }, enc: W.encodeWitnessrRegisterIn, enc64: W.encodeWitnessrRegisterInNdr64, dec64: W.decodeWitnessrRegisterInNdr64 },
  { module: 'witness', fn: 'Register', dir: 'out', same: true, v: { ppContext: handle, ReturnValue: 0 }, enc: W.encodeWitnessrRegisterOut, enc64: W.encodeWitnessrRegisterOutNdr64, dec64: W.decodeWitnessrRegisterOutNdr64 },
  { module: 'witness', fn: 'RegisterEx', dir: 'in', v: { Version: 0x20000, NetName: 'SOFS', ShareName: 'share1', IpAddress: '10.0.0.1', ClientComputerName: 'CLIENT1', Flags: 1, KeepAliveTimeout: 30 }, enc: W.encodeWitnessrRegisterExIn, enc64: W.encodeWitnessrRegisterExInNdr64, dec64: W.decodeWitnessrRegisterExInNdr64 },
  { module: 'witness', fn: 'RegisterEx', dir: 'in', v: { Version: 0x20000, NetName: 'SOFS', ShareName: null, IpAddress: '10.0.0.1', ClientComputerName: 'C', Flags: 0, KeepAliveTimeout: 0 }, enc: W.encodeWitnessrRegisterExIn, enc64: W.encodeWitnessrRegisterExInNdr64, dec64: W.decodeWitnessrRegisterExInNdr64 },
  { module: 'witness', fn: 'UnRegister', dir: 'in', same: true, v: { pContext: handle }, enc: W.encodeWitnessrUnRegisterIn, enc64: W.encodeWitnessrUnRegisterInNdr64, dec64: W.decodeWitnessrUnRegisterInNdr64 },
  { module: 'witness', fn: 'AsyncNotify', dir: 'out', messageBuffer: true, v: { pResp: { MessageType: 1, Messages: [{ ChangeType: 0xff, ResourceName: 'SOFS' }, { ChangeType: 1, ResourceName: '10.0.0.1' }] }, ReturnValue: 0 }, enc: W.encodeWitnessrAsyncNotifyOut, enc64: W.encodeWitnessrAsyncNotifyOutNdr64, dec64: W.decodeWitnessrAsyncNotifyOutNdr64 },
  { module: 'witness', fn: 'AsyncNotify', dir: 'out', messageBuffer: true, v: { pResp: { MessageType: 3, Messages: [{ IPAddrInfo: [{ Flags: 0x9, IPV4: '10.0.0.2', IPV6: '::' }, { Flags: 0xa, IPV4: '0.0.0.0', IPV6: 'fd00::2' }] }] }, ReturnValue: 0 }, enc: W.encodeWitnessrAsyncNotifyOut, enc64: W.encodeWitnessrAsyncNotifyOutNdr64, dec64: W.decodeWitnessrAsyncNotifyOutNdr64 },
  { module: 'mgmt', fn: 'inq_if_ids', dir: 'out', fullPointers: true, dec: M.decodeRpc__mgmt_inq_if_idsOut, v: { if_id_vector: { count: 2, if_id: [{ uuid: W.Witness_SYNTAX.uuid, vers_major: 1, vers_minor: 1 }, { uuid: M.Mgmt_SYNTAX.uuid, vers_major: 1, vers_minor: 0 }] }, status: 0 }, enc: M.encodeRpc__mgmt_inq_if_idsOut, enc64: M.encodeRpc__mgmt_inq_if_idsOutNdr64, dec64: M.decodeRpc__mgmt_inq_if_idsOutNdr64 },
  { module: 'mgmt', fn: 'inq_princ_name', dir: 'in', same: true, v: { authn_proto: 10, princ_name_size: 40 }, enc: M.encodeRpc__mgmt_inq_princ_nameIn, enc64: M.encodeRpc__mgmt_inq_princ_nameInNdr64, dec64: M.decodeRpc__mgmt_inq_princ_nameInNdr64 },
  { module: 'mgmt', fn: 'inq_princ_name', dir: 'out', inHex: princIn, v: { princ_name: 'DEMO\\SOFS$', princ_name_size: 40, status: 0 }, enc: M.encodeRpc__mgmt_inq_princ_nameOut, enc64: M.encodeRpc__mgmt_inq_princ_nameOutNdr64, dec64: M.decodeRpc__mgmt_inq_princ_nameOutNdr64 },
];

describeWithPeers("NDR64 codecs byte for byte against Samba's NDR64 (python3-samba)", ['python3-samba'], () => {
  let answers: { hex?: string; error?: string }[] = [];
  let back: { hex?: string; error?: string }[] = [];

  beforeAll(async () => {
    const ask = (c: Vector, from64: boolean): string =>
      JSON.stringify({ module: c.module, fn: c.fn, dir: c.dir, hex: (from64 ? c.enc64 : c.enc)(c.v).toString('hex'), inHex: c.inHex ?? null, from64 });
    const input = [...VECTORS.map((c) => ask(c, false)), ...VECTORS.map((c) => ask(c, true))].join('\n') + '\n';
    const r = await runTool(peerPath('python3-samba')!, [path.join(__dirname, 'helpers', 'samba-ndr64.py')], { timeoutMs: 60_000, input });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const all = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(all).toHaveLength(2 * VECTORS.length);
    answers = all.slice(0, VECTORS.length);
    back = all.slice(VECTORS.length);
  }, 70_000);

  VECTORS.forEach((c, i) => {
    it(`${c.module} ${c.fn} ${c.dir} #${i}`, () => {
      const a = answers[i];
      expect(a.error).toBeUndefined();
      const samba = Buffer.from(a.hex!, 'hex');
      const ours = c.enc64(c.v);
      expect(c.dec64(ours)).toEqual(c.v);
      if (!c.messageBuffer) expect(c.dec64(samba)).toEqual(c.v);
      if (c.same) expect(ours.toString('hex')).toBe(c.enc(c.v).toString('hex'));
      else expect(ours.toString('hex')).not.toBe(c.enc(c.v).toString('hex'));
      if (c.fullPointers) {
        expect(ours.length).toBe(samba.length);
      } else if (c.messageBuffer) {
        // MS-SWN 2.2.2.4: MessageBuffer is packed records whatever the transfer syntax, Length
        // their size; that is what we send. Samba's NDR64 counts 12 bytes more (its size
        // function applies NDR64 alignment to the packed records) and pads with zeros. The
        // header (MessageType, NumberOfMessages, referent id) and the records must agree.
        const length = ours.readUInt32LE(12);
        const extra = samba.readUInt32LE(12) - length;
        expect(extra).toBe(12);
        expect(samba.subarray(0, 12)).toEqual(ours.subarray(0, 12));
        expect(samba.subarray(16, 32)).toEqual(ours.subarray(16, 32));
        expect(samba.subarray(40, 40 + length)).toEqual(ours.subarray(40, 40 + length));
        expect(samba.subarray(40 + length, 40 + length + extra)).toEqual(Buffer.alloc(extra));
      } else expect(ours.toString('hex')).toBe(a.hex);
      // Samba reads our NDR64 (the MessageBuffer without its padding too) and writes our NDR 2.0
      expect(back[i].error).toBeUndefined();
      if (c.fullPointers) expect(c.dec!(Buffer.from(back[i].hex!, 'hex'))).toEqual(c.v);
      else expect(back[i].hex).toBe(c.enc(c.v).toString('hex'));
    });
  });
});
