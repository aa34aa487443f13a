import { WERR } from '../../../src/witness/constants';
import {
  CLIENT_MOVE_NOTIFICATION,
  IPADDR_ONLINE,
  IPADDR_V4,
  IPADDR_V6,
  IP_CHANGE_NOTIFICATION,
  RESOURCE_CHANGE_NOTIFICATION,
  SHARE_MOVE_NOTIFICATION,
} from '../../../src/gen/witness';
import { FakeGroup, asyncNotify, ctx, registerV1, registerV2, settled, setup } from './helpers';

describe('lifetime (Decision 9)', () => {
  test('V2 without a pending AsyncNotify for 30 s is swept; a waiting one is not; V1 never', async () => {
    const { svc, clock } = setup();
    const c = ctx(new FakeGroup(1));
    const idle = registerV2(svc, c, { client: 'idle' });
    const busy = registerV2(svc, c, { client: 'busy', keepAlive: 600 });
    const v1 = registerV1(svc, c);
    const p = asyncNotify(svc, c, busy);
    clock.advance(30_000);
    expect(svc.list().map((r) => r.id).sort()).toEqual([idle, busy, v1].sort());
    clock.advance(6_000); // next sweep tick after lastUse + 30 s
    expect(svc.list().map((r) => r.id).sort()).toEqual([busy, v1].sort());
    expect((await settled(p)).done).toBe(false);
    clock.advance(3_600_000);
    expect(svc.list({ id: v1 })).toHaveLength(1);
    svc.close();
  });

  test('the unused timeout counts from the end of the last AsyncNotify and is configurable', () => {
    const { svc, clock } = setup({ unusedTimeoutMs: 2_000, sweepIntervalMs: 500 });
    const c = ctx(new FakeGroup(1));
    const h = registerV2(svc, c, { keepAlive: 5 });
    void asyncNotify(svc, c, h);
    clock.advance(5_000); // keep-alive ends the call: lastUse = now
    expect(svc.counts().registrations).toBe(1);
    clock.advance(2_000);
    expect(svc.counts().registrations).toBe(1);
    clock.advance(500);
    expect(svc.counts().registrations).toBe(0);
    svc.close();
  });

  test('UnRegister while AsyncNotify is pending: the pending call gets 0x490, UnRegister 0', async () => {
    const { svc } = setup();
    const c = ctx(new FakeGroup(1));
    const h = registerV1(svc, c);
    const p = asyncNotify(svc, c, h);
    expect(svc.unRegister(c, h)).toBe(WERR.OK);
    expect(await p).toEqual({ result: WERR.NOT_FOUND });
    expect(await asyncNotify(svc, c, h)).toEqual({ result: WERR.NOT_FOUND });
    svc.close();
  });

  test('the last connection of the association group closing removes its registrations only', async () => {
    const { svc } = setup();
    const g1 = new FakeGroup(1);
    const g2 = new FakeGroup(2);
    const h1 = registerV1(svc, ctx(g1));
    registerV1(svc, ctx(g1));
    const h2 = registerV1(svc, ctx(g2));
    const p = asyncNotify(svc, ctx(g1), h1);
    expect(g1.listenerCount).toBe(1); // one subscription per group, not per registration
    g1.close();
    expect(await p).toEqual({ result: WERR.NOT_FOUND });
    expect(svc.list().map((r) => r.id)).toEqual([h2]);
    svc.close();
  });

  test('operator force unregister completes pending calls with 0x490; filters select', async () => {
    const { svc } = setup();
    const c = ctx(new FakeGroup(1));
    const a = registerV1(svc, c, '127.0.0.11', 'SOFS', 'alpha');
    const b = registerV1(svc, c, '127.0.0.12', 'SOFS', 'beta');
    const p = asyncNotify(svc, c, a);
    expect(svc.list({ clientName: 'ALPHA' }).map((r) => r.id)).toEqual([a]);
    expect(svc.list({ ipAddress: '127.0.0.12' }).map((r) => r.id)).toEqual([b]);
    expect(svc.unregister({ clientName: 'alpha' }).map((r) => r.id)).toEqual([a]);
    expect(await p).toEqual({ result: WERR.NOT_FOUND });
    // The server removed it: the owner's UnRegister gets ERROR_NOT_FOUND, as from Samba;
    // another owner's, and a never-issued handle, still ERROR_INVALID_PARAMETER.
    expect(svc.unRegister(ctx(new FakeGroup(2)), a)).toBe(WERR.INVALID_PARAMETER);
    expect(svc.unRegister(c, a)).toBe(WERR.NOT_FOUND);
    svc.close();
  });

  test('forceResponse: the next AsyncNotify returns exactly it, before anything pending', async () => {
    const { svc, model } = setup();
    const c = ctx(new FakeGroup(1));
    const h = registerV1(svc, c);
    model.failNode('node1');
    svc.forceResponse({ id: h }, 0x5b4);
    expect(await asyncNotify(svc, c, h)).toEqual({ result: 0x5b4, response: undefined });
    expect((await asyncNotify(svc, c, h)).response?.type).toBe(RESOURCE_CHANGE_NOTIFICATION);
    expect(svc.counts().notificationsSent.FORCED).toBe(1);
    svc.close();
  });
});

describe('events → notifications (Decision 8)', () => {
  test('node failure: UNAVAILABLE to registrations on the failed node LIFs only; recovery: AVAILABLE', async () => {
    const { svc, model } = setup();
    const c = ctx(new FakeGroup(1));
    const onNode1 = registerV1(svc, c, '127.0.0.11');
    const onNode2 = registerV1(svc, c, '127.0.0.12');
    const p1 = asyncNotify(svc, c, onNode1);
    const p2 = asyncNotify(svc, c, onNode2);
    model.failNode('node1');
    expect((await p1).response).toEqual({ type: RESOURCE_CHANGE_NOTIFICATION, changes: [{ changeType: 0xff, name: 'SOFS' }] });
    expect((await settled(p2)).done).toBe(false);
    model.recoverNode('node1');
    expect((await asyncNotify(svc, c, onNode1)).response).toEqual({ type: RESOURCE_CHANGE_NOTIFICATION, changes: [{ changeType: 0x01, name: 'SOFS' }] });
    expect((await settled(p2)).done).toBe(false);
    svc.close();
  });

  test('a registration made while its LIF is down gets AVAILABLE when it comes back; no duplicate states', async () => {
    const { svc, model } = setup();
    const c = ctx(new FakeGroup(1));
    model.setLifDown('lif1');
    const h = registerV1(svc, c);
    model.setLifUp('lif1');
    expect((await asyncNotify(svc, c, h)).response).toEqual({ type: RESOURCE_CHANGE_NOTIFICATION, changes: [{ changeType: 0x01, name: 'SOFS' }] });
    model.setLifDown('lif1');
    model.failNode('node1'); // already reported UNAVAILABLE: nothing new
    const r = await asyncNotify(svc, c, h);
    expect(r.response).toEqual({ type: RESOURCE_CHANGE_NOTIFICATION, changes: [{ changeType: 0xff, name: 'SOFS' }] });
    expect((await settled(asyncNotify(svc, c, h))).done).toBe(false);
    svc.close();
  });

  test('planned takeover: CLIENT_MOVE before the move, listing the partner LIFs with ONLINE; no RESOURCE_CHANGE', async () => {
    const { svc, model } = setup();
    const c = ctx(new FakeGroup(1));
    const h = registerV2(svc, c, { ip: '127.0.0.11' });
    const p = asyncNotify(svc, c, h);
    let sentBeforeMove = -1;
    model.subscribe((ev) => {
      if (ev.type === 'LifMoved' && sentBeforeMove < 0) sentBeforeMove = svc.counts().notificationsSent.CLIENT_MOVE;
    });
    model.takeover('node1');
    expect(sentBeforeMove).toBe(1);
    expect((await p).response).toEqual({ type: CLIENT_MOVE_NOTIFICATION, addresses: [{ flags: IPADDR_V4 | IPADDR_ONLINE, ipv4: '127.0.0.12' }] });
    // Giveback moves lif1 home: clients of lif1 are told to go to lif1's address (alone on node1).
    model.giveback('node1');
    expect((await asyncNotify(svc, c, h)).response).toEqual({ type: CLIENT_MOVE_NOTIFICATION, addresses: [{ flags: IPADDR_V4 | IPADDR_ONLINE, ipv4: '127.0.0.11' }] });
    expect((await settled(asyncNotify(svc, c, h))).done).toBe(false);
    svc.close();
  });

  test('LIF migration: CLIENT_MOVE to clients of that LIF only', async () => {
    const { svc, model } = setup();
    const c = ctx(new FakeGroup(1));
    const on1 = registerV1(svc, c, '127.0.0.11');
    const on2 = registerV1(svc, c, '127.0.0.12');
    model.migrateLif('lif1', 'node2');
    expect((await asyncNotify(svc, c, on1)).response?.type).toBe(CLIENT_MOVE_NOTIFICATION);
    expect((await settled(asyncNotify(svc, c, on2))).done).toBe(false);
    svc.close();
  });

  test('share move: SHARE_MOVE (no ONLINE/OFFLINE) to V2 registrations that named the share only', async () => {
    const { svc, model } = setup();
    const c = ctx(new FakeGroup(1));
    const withShare = registerV2(svc, c, { share: 'VMSTORE' });
    const noShare = registerV2(svc, c, {});
    const v1 = registerV1(svc, c);
    model.moveShare('vmstore', 'node2');
    expect((await asyncNotify(svc, c, withShare)).response).toEqual({ type: SHARE_MOVE_NOTIFICATION, addresses: [{ flags: IPADDR_V4, ipv4: '127.0.0.12' }] });
    expect((await settled(asyncNotify(svc, c, noShare))).done).toBe(false);
    expect((await settled(asyncNotify(svc, c, v1))).done).toBe(false);
    svc.close();
  });

  test('address change: IP_CHANGE with the new addresses to V2 registrations that asked for it', async () => {
    const { svc, model } = setup();
    const c = ctx(new FakeGroup(1));
    const asked = registerV2(svc, c, { flags: 1 });
    const notAsked = registerV2(svc, c, { flags: 0 });
    model.changeLifAddress('lif1', { ipv6: 'fd00::11' });
    expect((await asyncNotify(svc, c, asked)).response).toEqual({
      type: IP_CHANGE_NOTIFICATION,
      addresses: [
        { flags: IPADDR_V4, ipv4: '127.0.0.11' },
        { flags: IPADDR_V6, ipv6: 'fd00::11' },
      ],
    });
    expect((await settled(asyncNotify(svc, c, notAsked))).done).toBe(false);
    svc.close();
  });

  test('operator client move: CLIENT_MOVE to that client name (any case) with the node LIFs', async () => {
    const { svc, model } = setup();
    const c = ctx(new FakeGroup(1));
    const hv1 = registerV1(svc, c, '127.0.0.11', 'SOFS', 'HV1.example');
    const hv2 = registerV1(svc, c, '127.0.0.11', 'SOFS', 'hv2.example');
    model.clientMove('hv1.EXAMPLE', 'node1');
    expect((await asyncNotify(svc, c, hv1)).response).toEqual({ type: CLIENT_MOVE_NOTIFICATION, addresses: [{ flags: IPADDR_V4 | IPADDR_ONLINE, ipv4: '127.0.0.11' }] });
    expect((await settled(asyncNotify(svc, c, hv2))).done).toBe(false);
    svc.close();
  });

  test('close() stops listening to the model', async () => {
    const { svc, model } = setup();
    const c = ctx(new FakeGroup(1));
    registerV1(svc, c);
    svc.close();
    model.failNode('node1');
    expect(svc.counts().notificationsSent.RESOURCE_CHANGE).toBe(0);
  });
});
