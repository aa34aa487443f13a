/**
 * The Witness service's one stream (src/witness/stream.ts): each of the seven registration
 * events, in the order they happen, with what an observer needs (the message and detail of a
 * queued one, the response of a delivered one, the reason of a removal); nothing is made
 * while nobody listens (the fan-out path); a service's stream is its own (two services in one
 * process do not hear each other); an unsubscribed observer hears nothing more.
 */
import type { RegistrationEvent } from '../../../src/witness/stream';
import { asyncNotify, ctx, FakeGroup, registerV1, registerV2, setup } from './helpers';

const brief = (e: RegistrationEvent): string => {
  switch (e.type) {
    case 'queued':
      return `queued ${e.registration.clientName} ${e.message} ${e.detail}`;
    case 'delivered':
      return `delivered ${e.registration.clientName} type ${e.response?.type ?? 'NULL'} result ${e.result}${e.raisedAt === undefined ? ' (from the queue)' : ''}`;
    case 'removed':
      return `removed ${e.registration.clientName} ${e.reason}`;
    default:
      return `${e.type} ${e.registration.clientName}`;
  }
};

describe('the registration stream', () => {
  it('registered, waiting, delivered, queued, delivered from the queue, abandoned, timed-out, removed: in order', async () => {
    const { svc, model, clock } = setup();
    const events: string[] = [];
    const off = svc.events.subscribe((e) => events.push(brief(e)));
    const g = new FakeGroup(1);
    const waiting = registerV1(svc, ctx(g), '127.0.0.11', 'SOFS', 'hv-wait');
    const idle = registerV1(svc, ctx(g), '127.0.0.11', 'SOFS', 'hv-idle');
    const first = asyncNotify(svc, ctx(g), waiting);
    model.failNode('node1');
    await first;
    // The idle one takes its queued notification with its next AsyncNotify.
    await asyncNotify(svc, ctx(g), idle);
    const aborted = ctx(g);
    void asyncNotify(svc, aborted, waiting);
    aborted.abort();
    const v2 = registerV2(svc, ctx(g), { client: 'hv-v2', keepAlive: 1 });
    void asyncNotify(svc, ctx(g), v2);
    clock.advance(1_500); // its keep-alive runs out
    svc.unRegister(ctx(g), idle);
    off();
    svc.unRegister(ctx(g), waiting); // unsubscribed: not heard
    expect(events).toEqual([
      'registered hv-wait',
      'registered hv-idle',
      'waiting hv-wait',
      'delivered hv-wait type 1 result 0',
      'queued hv-idle RESOURCE_CHANGE UNAVAILABLE',
      'delivered hv-idle type 1 result 0 (from the queue)',
      'waiting hv-wait',
      'abandoned hv-wait',
      'registered hv-v2',
      'waiting hv-v2',
      'timed-out hv-v2',
      'removed hv-idle UnRegister',
    ]);
  });

  it('with nobody listening nothing is published, even during a fan-out; each service has its own stream', async () => {
    const a = setup();
    const b = setup();
    const heard: string[] = [];
    b.svc.events.subscribe((e) => heard.push(e.type));
    const publish = jest.spyOn(a.svc.events, 'publish');
    expect(a.svc.events.active).toBe(false);
    const g = new FakeGroup(2);
    const handles = Array.from({ length: 50 }, (_, i) => registerV1(a.svc, ctx(g), '127.0.0.11', 'SOFS', `hv${i}`));
    const calls = handles.slice(0, 25).map((h) => asyncNotify(a.svc, ctx(g), h));
    a.model.failNode('node1');
    await Promise.all(calls);
    expect(publish).not.toHaveBeenCalled();
    expect(heard).toEqual([]); // b heard nothing of a
  });

  it('a fan-out answers every waiting call before observers hear of the first delivery, then they hear all in order', async () => {
    const { svc, model } = setup();
    const g = new FakeGroup(3);
    const handles = ['hv-a', 'hv-b', 'hv-c'].map((c) => registerV1(svc, ctx(g), '127.0.0.11', 'SOFS', c));
    registerV1(svc, ctx(g), '127.0.0.11', 'SOFS', 'hv-idle'); // no call waiting: its notification is queued
    let answered = 0;
    const calls = handles.map((h) => asyncNotify(svc, ctx(g), h).then((r) => (answered++, r)));
    const answeredWhenHeard: number[] = [];
    const waitingWhenHeard: number[] = [];
    const events: string[] = [];
    svc.events.subscribe((e) => {
      events.push(brief(e));
      if (e.type === 'delivered') {
        waitingWhenHeard.push(svc.registry.waitingCalls);
        expect(e.deliveredAt).toBeGreaterThanOrEqual(e.raisedAt as number);
      }
    });
    model.failNode('node1');
    // Heard within the event's handling: every call had its answer by then (none still waiting).
    expect(waitingWhenHeard).toEqual([0, 0, 0]);
    expect(events).toEqual([
      'delivered hv-a type 1 result 0',
      'delivered hv-b type 1 result 0',
      'delivered hv-c type 1 result 0',
      'queued hv-idle RESOURCE_CHANGE UNAVAILABLE',
    ]);
    await Promise.all(calls);
    expect(answered).toBe(3);
  });

  it('hold: events wait for the end of the outermost hold, and are published when it throws too', () => {
    const { svc } = setup();
    const heard: string[] = [];
    svc.events.subscribe((e) => heard.push(e.type));
    const reg = { clientName: 'x', hasPending: () => false } as never;
    svc.events.hold(() => {
      svc.events.publish({ type: 'waiting', registration: reg });
      svc.events.hold(() => svc.events.publish({ type: 'abandoned', registration: reg }));
      expect(heard).toEqual([]);
    });
    expect(heard).toEqual(['waiting', 'abandoned']);
    expect(() => svc.events.hold(() => {
      svc.events.publish({ type: 'timed-out', registration: reg });
      throw new Error('boom');
    })).toThrow('boom');
    expect(heard).toEqual(['waiting', 'abandoned', 'timed-out']);
    svc.events.publish({ type: 'removed', registration: reg, reason: 'test' });
    expect(heard).toEqual(['waiting', 'abandoned', 'timed-out', 'removed']);
  });
});
