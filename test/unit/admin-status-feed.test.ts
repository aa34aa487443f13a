/**
 * The status page's timeline (src/admin/status/feed.ts) fed by the real Witness service's
 * activity hook and the cluster model, bound the way the daemon binds them.
 */
import { describeResponse, StatusFeed, type TimelineEntry } from '../../src/admin/status/feed';
import { demoConfig } from '../../src/config';
import { ClusterModel } from '../../src/cluster/model';
import { ManualClock } from '../../src/witness/clock';
import { WERR } from '../../src/witness/constants';
import { WitnessService } from '../../src/witness/service';
import { FakeGroup, asyncNotify, ctx, registerV1, silent } from './witness/helpers';

function bound(samples?: number) {
  const clock = new ManualClock(1_000);
  const model = new ClusterModel(demoConfig());
  const feed = new StatusFeed({ samples });
  // As the daemon does: the feed hears an event before the service handles it.
  model.subscribe((e) => feed.clusterEvent(e));
  const svc = new WitnessService({ model, logger: silent, clock });
  feed.observe(svc.events);
  const entries: TimelineEntry[] = [];
  feed.onEntry((e) => entries.push(e));
  return { model, feed, svc, entries };
}

describe('status feed', () => {
  test('a node failure: the event, then the waiting client notified with its latency, then the idle one queued', async () => {
    const { model, feed, svc, entries } = bound();
    const c = ctx(new FakeGroup(1));
    const waiting = registerV1(svc, c, '127.0.0.11', 'SOFS', 'hv-waiting');
    const idle = registerV1(svc, c, '127.0.0.11', 'SOFS', 'hv-idle');
    const call = asyncNotify(svc, c, waiting);
    model.failNode('node1');
    expect(entries).toHaveLength(0); // nothing is written during the fan-out
    feed.flush();

    expect(entries.map((e) => e.kind)).toEqual(['registrations', 'cluster', 'notifications', 'queued']);
    const [regs, event, notified, queued] = entries;
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    if (regs.kind !== 'registrations' || event.kind !== 'cluster' || notified.kind !== 'notifications' || queued.kind !== 'queued') throw new Error('kinds');
    expect(regs.added).toBe(2);
    expect(regs.samples.map((s) => s.client)).toEqual(['hv-waiting', 'hv-idle']);
    expect(event.type).toBe('NodeDown');
    expect(event.text).toMatch(/^NodeDown node1: LIFs lif1 failed over to SFO partner node2/);
    expect(notified.count).toBe(1);
    expect(notified.byType).toEqual({ RESOURCE_CHANGE: 1 });
    expect(notified.fromQueue).toBe(0);
    expect(notified.samples[0]).toMatchObject({
      client: 'hv-waiting', registration: waiting, netName: 'SOFS', ipAddress: '127.0.0.11', version: 'V1',
      type: 'RESOURCE_CHANGE', detail: 'SOFS UNAVAILABLE', result: 'ERROR_SUCCESS', forced: false, queued: false,
    });
    expect(notified.latencyMs.max).toBeGreaterThanOrEqual(0);
    expect(notified.latencyMs.max).toBeLessThan(1000);
    expect(queued.count).toBe(1);
    expect(queued.samples[0]).toMatchObject({ client: 'hv-idle', registration: idle, type: 'RESOURCE_CHANGE', detail: 'UNAVAILABLE' });
    expect((await call).result).toBe(WERR.OK);

    // The idle client comes back: its notification leaves the queue, latency counted from the event.
    await new Promise((r) => setTimeout(r, 15));
    await asyncNotify(svc, c, idle);
    feed.flush();
    const late = entries[4];
    if (late.kind !== 'notifications') throw new Error(late.kind);
    expect(late.fromQueue).toBe(1);
    expect(late.samples[0]).toMatchObject({ client: 'hv-idle', queued: true, detail: 'SOFS UNAVAILABLE' });
    expect(late.latencyMs.min).toBeGreaterThanOrEqual(10);
    svc.close();
  });

  test('a fan-out is one entry with counts and a bounded sample, not one entry per client', () => {
    const { model, feed, svc, entries } = bound(5);
    const calls: Array<Promise<unknown>> = [];
    for (let i = 0; i < 100; i++) {
      const c = ctx(new FakeGroup(100 + i));
      calls.push(asyncNotify(svc, c, registerV1(svc, c, '127.0.0.11', 'SOFS', `hv${i}`)));
    }
    model.failNode('node1');
    feed.flush();
    const n = entries.find((e) => e.kind === 'notifications');
    if (n?.kind !== 'notifications') throw new Error('no notifications entry');
    expect(n.count).toBe(100);
    expect(n.samples).toHaveLength(5);
    expect(n.latencyMs.min).toBeLessThanOrEqual(n.latencyMs.mean);
    expect(n.latencyMs.mean).toBeLessThanOrEqual(n.latencyMs.max);
    const r = entries.find((e) => e.kind === 'registrations');
    if (r?.kind !== 'registrations') throw new Error('no registrations entry');
    expect(r.added).toBe(100);
    expect(r.samples).toHaveLength(5);
    // The status snapshot asks for the first ones only.
    expect(svc.list({}, 7).map((x) => x.clientName)).toEqual(['hv0', 'hv1', 'hv2', 'hv3', 'hv4', 'hv5', 'hv6']);
    expect(svc.list({ clientName: 'hv42' }, 7)).toHaveLength(1);
    svc.close();
  });

  test('forced responses and removals are reported with their reason', async () => {
    const { feed, svc, entries } = bound();
    const c = ctx(new FakeGroup(7));
    const h = registerV1(svc, c, '127.0.0.11', 'SOFS', 'hv7');
    const call = asyncNotify(svc, c, h);
    svc.forceResponse({ clientName: 'hv7' }, WERR.NOT_FOUND);
    await call;
    svc.unregister({ clientName: 'hv7' });
    feed.flush();
    const n = entries.find((e) => e.kind === 'notifications');
    if (n?.kind !== 'notifications') throw new Error('no notifications entry');
    expect(n.byType).toEqual({ 'FORCED NONE': 1 });
    expect(n.samples[0]).toMatchObject({ forced: true, type: 'NONE', result: 'ERROR_NOT_FOUND' });
    // No cluster event in between: the registration and its removal share one entry.
    const regs = entries.filter((e) => e.kind === 'registrations');
    expect(regs).toHaveLength(1);
    if (regs[0].kind !== 'registrations') throw new Error('kind');
    expect(regs[0]).toMatchObject({ added: 1, removed: 1, removedBy: { operator: 1 } });
    expect(regs[0].samples.map((s) => [s.action, s.client, s.reason])).toEqual([['registered', 'hv7', undefined], ['unregistered', 'hv7', 'operator']]);
    svc.close();
  });

  test('the ring keeps the newest entries; since() replays after a sequence number and counts what was lost', () => {
    const feed = new StatusFeed({ capacity: 3 });
    for (let i = 0; i < 5; i++) {
      feed.clusterEvent({ type: 'LifDown', lif: `lif${i}`, svm: 'vs1' });
      feed.flush();
    }
    expect(feed.lastSeq).toBe(5);
    expect(feed.since().entries.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(feed.since(4)).toMatchObject({ missed: 0 });
    expect(feed.since(4).entries.map((e) => e.seq)).toEqual([5]);
    expect(feed.since(1)).toMatchObject({ missed: 1 });
    expect(feed.since(0)).toMatchObject({ missed: 2 });
    // A number from an earlier run of the daemon: everything kept is new.
    expect(feed.since(99).entries.map((e) => e.seq)).toEqual([3, 4, 5]);
    feed.close();
  });

  test('responses are described in the protocol\'s words', () => {
    expect(describeResponse({ type: 1, changes: [{ changeType: 0xff, name: 'SOFS' }, { changeType: 1, name: 'X' }] })).toEqual({ type: 'RESOURCE_CHANGE', detail: 'SOFS UNAVAILABLE, X AVAILABLE' });
    expect(describeResponse({ type: 2, addresses: [{ flags: 0x9, ipv4: '127.0.0.12' }] })).toEqual({ type: 'CLIENT_MOVE', detail: '127.0.0.12 ONLINE' });
    expect(describeResponse({ type: 4, addresses: [{ flags: 0x2, ipv6: 'fd00::1' }] })).toEqual({ type: 'IP_CHANGE', detail: 'fd00::1' });
    expect(describeResponse(undefined)).toEqual({ type: 'NONE', detail: 'NULL response' });
  });
});
