/**
 * Forced unregister (Samba's, for Windows Server 2022 clients): when it is armed (a sent
 * RESOURCE_CHANGE other than AVAILABLE, a sent move list naming another address), when not
 * (queued but not sent, a move to the registered address itself, a forced response, V1 by
 * default, seconds 0), what the client then sees (AsyncNotify and UnRegister ERROR_NOT_FOUND),
 * and that a client's own UnRegister keeps ERROR_INVALID_PARAMETER on a repeat.
 */
import { WERR } from '../../../src/witness/constants';
import { CLIENT_MOVE_NOTIFICATION, IPADDR_ONLINE, IPADDR_V4, RESOURCE_CHANGE_NOTIFICATION, RESOURCE_STATE_AVAILABLE, RESOURCE_STATE_UNAVAILABLE } from '../../../src/gen/witness';
import { DepartedHandles } from '../../../src/witness/forced-unregister';
import { ManualClock } from '../../../src/witness/clock';
import { FakeGroup, asyncNotify, ctx, registerV1, registerV2, settled, setup } from './helpers';

describe('forced unregister', () => {
  test('default: a V2 registration sent UNAVAILABLE is removed 5 s later; its AsyncNotify and UnRegister get ERROR_NOT_FOUND', async () => {
    const { svc, clock, model } = setup();
    const c = ctx(new FakeGroup(1));
    const h = registerV2(svc, c);
    const first = asyncNotify(svc, c, h);
    model.failNode('node1');
    expect(await first).toMatchObject({ result: WERR.OK, response: { type: RESOURCE_CHANGE_NOTIFICATION, changes: [{ changeType: RESOURCE_STATE_UNAVAILABLE }] } });
    const second = asyncNotify(svc, c, h);
    clock.advance(4_900);
    expect((await settled(second)).done).toBe(false);
    clock.advance(100);
    expect(await second).toEqual({ result: WERR.NOT_FOUND });
    expect(svc.list({ id: h })).toHaveLength(0);
    expect(svc.unRegister(c, h)).toBe(WERR.NOT_FOUND);
    expect(svc.unRegister(c, h)).toBe(WERR.NOT_FOUND);
    svc.close();
  });

  test('UNAVAILABLE then AVAILABLE (Samba\'s disable/enable): both delivered, then ERROR_NOT_FOUND, timed from the UNAVAILABLE', async () => {
    const { svc, clock, model } = setup();
    const c = ctx(new FakeGroup(1));
    const h = registerV2(svc, c);
    const first = asyncNotify(svc, c, h);
    model.failNode('node1');
    await first;
    clock.advance(2_000);
    const second = asyncNotify(svc, c, h);
    model.recoverNode('node1');
    expect(await second).toMatchObject({ response: { changes: [{ changeType: RESOURCE_STATE_AVAILABLE }] } });
    const third = asyncNotify(svc, c, h);
    clock.advance(3_000);
    expect(await third).toEqual({ result: WERR.NOT_FOUND });
    svc.close();
  });

  test('armed when sent, not when queued: a client that calls late still has 5 s', async () => {
    const { svc, clock, model } = setup();
    const c = ctx(new FakeGroup(1));
    const h = registerV2(svc, c);
    model.failNode('node1');
    clock.advance(20_000);
    expect(svc.list({ id: h })).toHaveLength(1);
    expect(await asyncNotify(svc, c, h)).toMatchObject({ result: WERR.OK });
    const next = asyncNotify(svc, c, h);
    clock.advance(5_000);
    expect(await next).toEqual({ result: WERR.NOT_FOUND });
    svc.close();
  });

  test('a move list naming another address arms it; one naming only the registered address does not', async () => {
    const { svc, clock, model } = setup();
    const c = ctx(new FakeGroup(1));
    const other = registerV2(svc, c, { client: 'mover' });
    const self = registerV2(svc, c, { client: 'stayer', ip: '127.0.0.12' });
    const p1 = asyncNotify(svc, c, other);
    const p2 = asyncNotify(svc, c, self);
    model.clientMove('mover', 'node2');
    model.clientMove('stayer', 'node2');
    expect(await p1).toMatchObject({ response: { type: CLIENT_MOVE_NOTIFICATION, addresses: [{ flags: IPADDR_V4 | IPADDR_ONLINE, ipv4: '127.0.0.12' }] } });
    expect(await p2).toMatchObject({ response: { type: CLIENT_MOVE_NOTIFICATION, addresses: [{ ipv4: '127.0.0.12' }] } });
    clock.advance(5_000);
    expect(svc.list().map((r) => r.clientName)).toEqual(['stayer']);
    svc.close();
  });

  test('a forced response (operator) never arms it; V1 only with forcedUnregisterV1; 0 seconds never', async () => {
    for (const [options, v1Removed, v2Removed] of [
      [{}, false, true],
      [{ forcedUnregisterV1: true }, true, true],
      [{ forcedUnregisterMs: 0, forcedUnregisterV1: true }, false, false],
    ] as const) {
      const { svc, clock, model } = setup(options);
      const c = ctx(new FakeGroup(1));
      const v1 = registerV1(svc, c);
      const v2 = registerV2(svc, c);
      const forcedOnly = registerV2(svc, c, { client: 'forced', ip: '127.0.0.12' });
      svc.forceResponse({ id: forcedOnly }, 0, { type: RESOURCE_CHANGE_NOTIFICATION, changes: [{ changeType: RESOURCE_STATE_UNAVAILABLE, name: 'X' }] });
      expect(await asyncNotify(svc, c, forcedOnly)).toMatchObject({ result: WERR.OK });
      const a = asyncNotify(svc, c, v1);
      const b = asyncNotify(svc, c, v2);
      model.failNode('node1');
      await Promise.all([a, b]);
      void asyncNotify(svc, c, forcedOnly);
      clock.advance(10_000);
      const left = new Set(svc.list().map((r) => r.id));
      expect([left.has(v1), left.has(v2), left.has(forcedOnly)]).toEqual([!v1Removed, !v2Removed, true]);
      svc.close();
    }
  });

  test('a client\'s own UnRegister: the repeat is ERROR_INVALID_PARAMETER (Decision 5, smbtorture)', () => {
    const { svc } = setup();
    const c = ctx(new FakeGroup(1));
    const h = registerV2(svc, c);
    expect(svc.unRegister(c, h)).toBe(WERR.OK);
    expect(svc.unRegister(c, h)).toBe(WERR.INVALID_PARAMETER);
    svc.close();
  });

  test('the departed handles are bounded in count and age', () => {
    const clock = new ManualClock(0);
    const d = new DepartedHandles(clock, 2, 1_000);
    const owner = { associationGroupId: 1, principal: '' };
    d.add('a', owner);
    d.add('b', owner);
    d.add('c', owner);
    expect([d.has('a', owner), d.has('b', owner), d.has('c', owner), d.size]).toEqual([false, true, true, 2]);
    expect(d.has('b', { associationGroupId: 2, principal: '' })).toBe(false);
    clock.advance(1_000);
    expect(d.has('c', owner)).toBe(false);
    d.add('d', owner);
    expect(d.size).toBe(1);
  });
});
