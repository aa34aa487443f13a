/**
 * The adapter's wire mapping, checked byte for byte against the Windows captures in
 * MS-SWN.md §4, and the client's decoding of the same bytes.
 */
import {
  encodeWitnessrAsyncNotifyOut,
  decodeWitnessrAsyncNotifyOut,
  createWitnessInterface,
  encodeWitnessrRegisterIn,
  decodeWitnessrRegisterOut,
  decodeWitnessrGetInterfaceListOut,
  encodeWitnessrAsyncNotifyIn,
  CLIENT_MOVE_NOTIFICATION,
  RESOURCE_CHANGE_NOTIFICATION,
} from '../../../src/gen/witness';
import { createWitnessServer, toWireInterface, toWireResponse } from '../../../src/witness/adapter';
import { fromWireResponse } from '../../../src/client/witness-calls';
import { WERR } from '../../../src/witness/constants';
import { FakeGroup, ctx, setup } from './helpers';
import { dispatchCall } from '../../helpers/calls';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('AsyncNotify response bytes (MS-SWN.md §4)', () => {
  test('one RESOURCE_CHANGE "SOFS" UNAVAILABLE is the 48-byte Windows capture', () => {
    const resp = toWireResponse({ type: RESOURCE_CHANGE_NOTIFICATION, changes: [{ changeType: 0xff, name: 'SOFS' }] });
    const bytes = encodeWitnessrAsyncNotifyOut({ pResp: resp, ReturnValue: 0 });
    expect(bytes.toString('hex')).toBe(
      hex(`00000200 01000000 12000000 01000000 04000200 12000000
           12000000 ff000000 53004f004600530000000000 00000000`).toString('hex'),
    );
    expect(bytes.length).toBe(48);
    expect(fromWireResponse(decodeWitnessrAsyncNotifyOut(bytes).pResp!)).toEqual({ type: 1, changes: [{ changeType: 0xff, name: 'SOFS' }] });
  });

  test('one CLIENT_MOVE to 192.168.3.45 is the 64-byte Windows capture', () => {
    const resp = toWireResponse({ type: CLIENT_MOVE_NOTIFICATION, addresses: [{ flags: 0x1, ipv4: '192.168.3.45' }] });
    const bytes = encodeWitnessrAsyncNotifyOut({ pResp: resp, ReturnValue: 0 });
    expect(bytes.toString('hex')).toBe(
      hex(`00000200 02000000 24000000 01000000 04000200 24000000
           24000000 00000000 01000000 01000000 c0a8032d 00000000000000000000000000000000 00000000`).toString('hex'),
    );
    expect(fromWireResponse(decodeWitnessrAsyncNotifyOut(bytes).pResp!)).toEqual({ type: 2, addresses: [{ flags: 1, ipv4: '192.168.3.45' }] });
  });

  test('an error is a NULL response and the result (8 bytes)', () => {
    expect(encodeWitnessrAsyncNotifyOut({ pResp: null, ReturnValue: WERR.TIMEOUT }).toString('hex')).toBe('00000000b4050000');
  });

  test('an interface entry without IPv6 carries :: (all zero)', () => {
    expect(toWireInterface({ groupName: 'node2', version: 0x20000, state: 1, ipv4: '127.0.0.12', flags: 5, lif: 'lif2' })).toEqual({
      InterfaceGroupName: 'node2',
      Version: 0x20000,
      State: 1,
      IPV4: '127.0.0.12',
      IPV6: '::',
      Flags: 5,
    });
  });
});

describe('the generated dispatcher over the service', () => {
  test('Register → handle with attributes 0; AsyncNotify on it; GetInterfaceList', async () => {
    const { svc, model } = setup();
    const iface = createWitnessInterface(createWitnessServer(svc));
    const c = ctx(new FakeGroup(7), '127.0.0.12');
    const reg = decodeWitnessrRegisterOut(
      await dispatchCall(iface, 1, encodeWitnessrRegisterIn({ Version: 0x10001, NetName: 'SOFS', IpAddress: '127.0.0.11', ClientComputerName: 'c' }), c),
    );
    expect(reg.ReturnValue).toBe(0);
    expect(reg.ppContext.attributes).toBe(0);
    const pending = dispatchCall(iface, 3, encodeWitnessrAsyncNotifyIn({ pContext: reg.ppContext }), c);
    model.failNode('node1');
    expect((await pending).length).toBe(48);
    const list = decodeWitnessrGetInterfaceListOut(await dispatchCall(iface, 0, Buffer.alloc(0), c));
    expect(list.InterfaceList?.InterfaceInfo?.map((i) => [i.InterfaceGroupName, i.Flags])).toEqual([
      ['node2', 1],
      ['node2', 1],
    ]);
    svc.close();
  });

  test('an empty list is a NULL list pointer with ERROR_NO_MORE_ITEMS', async () => {
    const { svc } = setup();
    const iface = createWitnessInterface(createWitnessServer(svc));
    const out = await dispatchCall(iface, 0, Buffer.alloc(0), ctx(new FakeGroup(1), '127.0.0.1'));
    expect(out.toString('hex')).toBe('0000000003010000');
    svc.close();
  });

  test('a cancelled AsyncNotify is dropped: the service sends nothing and the runtime answers', async () => {
    const { svc } = setup();
    const server = createWitnessServer(svc);
    const g = new FakeGroup(1);
    const reg = server.WitnessrRegister({ Version: 0x10001, NetName: 'SOFS', IpAddress: '127.0.0.11', ClientComputerName: 'c' }, ctx(g));
    const call = ctx(g, '127.0.0.12');
    const sent: unknown[] = [];
    server.WitnessrAsyncNotify({ pContext: reg.ppContext }, call, { send: (out) => sent.push(out), fault: (s) => sent.push(s) });
    expect(svc.counts().pendingAsyncNotify).toBe(1);
    call.abort('cancel');
    expect(svc.counts().pendingAsyncNotify).toBe(0);
    svc.unRegister(ctx(g), reg.ppContext.uuid);
    expect(sent).toEqual([]);
    svc.close();
  });

  test('results are reported per operation', async () => {
    const { svc } = setup();
    const seen: Array<[string, number]> = [];
    const server = createWitnessServer(svc, (op, r) => seen.push([op, r]));
    const c = ctx(new FakeGroup(1));
    await server.WitnessrRegister({ Version: 0, NetName: null, IpAddress: null, ClientComputerName: null }, c);
    await server.WitnessrUnRegister({ pContext: { attributes: 0, uuid: '00000000-0000-0000-0000-000000000000' } }, c);
    expect(seen).toEqual([
      ['Register', WERR.REVISION_MISMATCH],
      ['UnRegister', WERR.INVALID_PARAMETER],
    ]);
    svc.close();
  });
});
