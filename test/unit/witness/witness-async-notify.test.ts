import { MessageType, WERR } from '../../../src/witness/constants';
import {
  CLIENT_MOVE_NOTIFICATION,
  IP_CHANGE_NOTIFICATION,
  RESOURCE_CHANGE_NOTIFICATION,
  SHARE_MOVE_NOTIFICATION,
} from '../../../src/gen/witness';
import { FakeGroup, asyncNotify, ctx, registerV1, registerV2, settled, setup } from './helpers';

describe('AsyncNotify (opnum 3): waiting, keep-alive, queueing (Decisions 6–7)', () => {
  test('unknown handle → ERROR_NOT_FOUND with a NULL response', async () => {
    const { svc } = setup();
    expect(await asyncNotify(svc, ctx(new FakeGroup(1)), '3f2504e0-4f89-11d3-9a0c-0305e82c3301')).toEqual({ result: WERR.NOT_FOUND });
    svc.close();
  });

  test('V2 keep-alive t: the call ends with ERROR_TIMEOUT after t seconds, not before', async () => {
    const { svc, clock } = setup();
    const c = ctx(new FakeGroup(1));
    const h = registerV2(svc, c, { keepAlive: 10 });
    const p = asyncNotify(svc, c, h);
    clock.advance(9_999);
    expect((await settled(p)).done).toBe(false);
    expect(svc.counts().pendingAsyncNotify).toBe(1);
    clock.advance(1);
    expect(await p).toEqual({ result: WERR.TIMEOUT });
    expect(svc.counts().pendingAsyncNotify).toBe(0);
    // The registration survives the timeout; the client calls again at once.
    expect(svc.counts().registrations).toBe(1);
    svc.close();
  });

  test.each([0, 1, 10, 100, 120])('keep-alive %i s times out (smbtorture AsyncNotify_timeouts); 0 at once', async (t) => {
    const { svc, clock } = setup();
    const c = ctx(new FakeGroup(1));
    const h = registerV2(svc, c, { keepAlive: t });
    const p = asyncNotify(svc, c, h);
    if (t === 0) expect((await settled(p)).value).toEqual({ result: WERR.TIMEOUT });
    clock.advance(t * 1000);
    expect(await p).toEqual({ result: WERR.TIMEOUT });
    svc.close();
  });

  test('keep-alive 0 still delivers what is already pending', async () => {
    const { svc, model } = setup();
    const c = ctx(new FakeGroup(1));
    const h = registerV2(svc, c, { keepAlive: 0 });
    model.failNode('node1');
    expect((await asyncNotify(svc, c, h)).response?.type).toBe(RESOURCE_CHANGE_NOTIFICATION);
    svc.close();
  });

  test('V1 registrations have no keep-alive and are not swept', async () => {
    const { svc, clock } = setup();
    const c = ctx(new FakeGroup(1));
    const h = registerV1(svc, c);
    const p = asyncNotify(svc, c, h);
    clock.advance(3_600_000);
    expect((await settled(p)).done).toBe(false);
    svc.unRegister(c, h);
    expect(await p).toEqual({ result: WERR.NOT_FOUND });
    svc.close();
  });

  test('a notification raised while no call is pending is kept and delivered at once by the next call', async () => {
    const { svc, model } = setup();
    const c = ctx(new FakeGroup(1));
    const h = registerV1(svc, c, '127.0.0.11', 'sofs');
    model.failNode('node1');
    const r = await asyncNotify(svc, c, h);
    // RESOURCE_CHANGE carries the NetName as registered (Windows), not the IP (Samba).
    expect(r).toEqual({ result: WERR.OK, response: { type: RESOURCE_CHANGE_NOTIFICATION, changes: [{ changeType: 0xff, name: 'sofs' }] } });
    svc.close();
  });

  test('pending RESOURCE_CHANGEs are batched in one response, in order', async () => {
    const { svc, model } = setup();
    const c = ctx(new FakeGroup(1));
    const h = registerV1(svc, c);
    model.failNode('node1');
    model.recoverNode('node1');
    model.failNode('node1');
    const r = await asyncNotify(svc, c, h);
    expect(r.response).toEqual({
      type: RESOURCE_CHANGE_NOTIFICATION,
      changes: [
        { changeType: 0xff, name: 'SOFS' },
        { changeType: 0x01, name: 'SOFS' },
        { changeType: 0xff, name: 'SOFS' },
      ],
    });
    svc.close();
  });

  test('one MessageType per response, in the order RESOURCE_CHANGE, CLIENT_MOVE, SHARE_MOVE, IP_CHANGE', async () => {
    const { svc, model } = setup();
    const c = ctx(new FakeGroup(1));
    const h = registerV2(svc, c, { share: 'vmstore', flags: 1, client: 'hv1' });
    // Raise them in the reverse order.
    model.changeLifAddress('lif1', { ipv4: '127.0.0.21' });
    model.moveShare('vmstore', 'node2');
    model.clientMove('hv1', 'node2');
    model.setLifDown('lif1');
    const types: number[] = [];
    for (let i = 0; i < 4; i++) types.push((await asyncNotify(svc, c, h)).response?.type as number);
    expect(types).toEqual([RESOURCE_CHANGE_NOTIFICATION, CLIENT_MOVE_NOTIFICATION, SHARE_MOVE_NOTIFICATION, IP_CHANGE_NOTIFICATION]);
    expect(svc.counts().notificationsSent).toMatchObject({ RESOURCE_CHANGE: 1, CLIENT_MOVE: 1, SHARE_MOVE: 1, IP_CHANGE: 1 });
    svc.close();
  });

  test('a move keeps only the latest destination', async () => {
    const { svc, model } = setup();
    const c = ctx(new FakeGroup(1));
    const h = registerV1(svc, c, '127.0.0.11', 'SOFS', 'hv1');
    model.clientMove('hv1', 'node1');
    model.clientMove('hv1', 'node2');
    const r = await asyncNotify(svc, c, h);
    expect(r.response).toEqual({ type: CLIENT_MOVE_NOTIFICATION, addresses: [{ flags: 0x01 | 0x08, ipv4: '127.0.0.12' }] });
    const next = asyncNotify(svc, c, h);
    expect((await settled(next)).done).toBe(false);
    svc.close();
  });

  test('two AsyncNotify calls on one handle wait FIFO; each notification completes the oldest', async () => {
    const { svc, model } = setup();
    const c = ctx(new FakeGroup(1));
    const h = registerV1(svc, c);
    const first = asyncNotify(svc, c, h);
    const second = asyncNotify(svc, c, h);
    model.failNode('node1');
    expect((await first).response).toMatchObject({ type: RESOURCE_CHANGE_NOTIFICATION, changes: [{ changeType: 0xff }] });
    expect((await settled(second)).done).toBe(false);
    model.recoverNode('node1');
    expect((await second).response).toMatchObject({ type: RESOURCE_CHANGE_NOTIFICATION, changes: [{ changeType: 0x01 }] });
    svc.close();
  });

  test('waiting calls per handle are bounded: the oldest gets ERROR_NO_SYSTEM_RESOURCES', async () => {
    const { svc } = setup({ maxWaitersPerRegistration: 2 });
    const c = ctx(new FakeGroup(1));
    const h = registerV1(svc, c);
    const calls = [asyncNotify(svc, c, h), asyncNotify(svc, c, h), asyncNotify(svc, c, h)];
    expect((await settled(calls[0])).value).toEqual({ result: WERR.NO_SYSTEM_RESOURCES });
    expect(svc.counts().pendingAsyncNotify).toBe(2);
    svc.close();
    expect(await calls[1]).toEqual({ result: WERR.NOT_FOUND });
  });

  test('the queued RESOURCE_CHANGE list is bounded (oldest dropped)', async () => {
    const { svc, model } = setup({ maxPendingChanges: 4 });
    const c = ctx(new FakeGroup(1));
    const h = registerV1(svc, c);
    for (let i = 0; i < 5; i++) {
      model.failNode('node1');
      model.recoverNode('node1');
    }
    const r = await asyncNotify(svc, c, h);
    expect(r.response?.type === RESOURCE_CHANGE_NOTIFICATION && r.response.changes.length).toBe(4);
    svc.close();
  });

  test('AsyncNotify honours the call’s abort: an aborted call is dropped and nothing is sent', async () => {
    const { svc, clock } = setup();
    const g = new FakeGroup(1);
    const h = registerV2(svc, ctx(g), { keepAlive: 60 });
    const call = ctx(g, '127.0.0.12');
    const p = asyncNotify(svc, call, h);
    expect(svc.counts().pendingAsyncNotify).toBe(1);
    call.abort('cancel');
    expect(svc.counts().pendingAsyncNotify).toBe(0);
    // No keep-alive timer left behind (the sweep timer is the only one).
    expect(clock.pendingTimers()).toBe(1);
    // Nothing reaches the aborted call, not even the ERROR_NOT_FOUND of its registration's end.
    svc.unRegister(ctx(g), h);
    expect((await settled(p)).done).toBe(false);
    svc.close();
  });

  test('a call aborted before it waits is not counted and does not push out an older one', async () => {
    const { svc } = setup({ maxWaitersPerRegistration: 1 });
    const g = new FakeGroup(1);
    const h = registerV2(svc, ctx(g), { keepAlive: 60 });
    const older = asyncNotify(svc, ctx(g), h);
    const aborted = ctx(g);
    aborted.abort('orphaned');
    const p = asyncNotify(svc, aborted, h);
    expect(svc.counts().pendingAsyncNotify).toBe(1);
    expect((await settled(older)).done).toBe(false);
    expect((await settled(p)).done).toBe(false);
    svc.close();
  });
});
