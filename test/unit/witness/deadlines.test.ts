import { ManualClock } from '../../../src/witness/clock';
import { DeadlineQueue, type Deadlined } from '../../../src/witness/deadlines';

interface Item extends Deadlined { name: string }
const item = (name: string): Item => ({ name, deadline: Infinity, heapIndex: -1 });

function setup() {
  const clock = new ManualClock(0);
  const expired: string[] = [];
  const q = new DeadlineQueue<Item>(clock, (i) => expired.push(`${i.name}@${clock.now()}`));
  return { clock, q, expired };
}

describe('DeadlineQueue: many deadlines behind one timer', () => {
  it('expires items in deadline order, each at its deadline, with one timer armed', () => {
    const { clock, q, expired } = setup();
    const names = ['e', 'b', 'd', 'a', 'c'];
    const at: Record<string, number> = { a: 100, b: 200, c: 300, d: 400, e: 500 };
    for (const n of names) q.add(item(n), at[n]);
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(99);
    expect(expired).toEqual([]);
    clock.advance(1);
    expect(expired).toEqual(['a@100']);
    clock.advance(250);
    expect(expired).toEqual(['a@100', 'b@200', 'c@300']);
    clock.advance(1000);
    expect(expired).toEqual(['a@100', 'b@200', 'c@300', 'd@400', 'e@500']);
    expect(q.size).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('an item removed before its deadline never expires; removing twice is harmless', () => {
    const { clock, q, expired } = setup();
    const items = Array.from({ length: 50 }, (_, i) => item(`i${i}`));
    items.forEach((it, i) => q.add(it, 1000 + ((i * 37) % 50) * 10));
    // Remove every other one, from the middle of the heap as well as the top.
    for (let i = 0; i < items.length; i += 2) expect(q.remove(items[i])).toBe(true);
    expect(q.remove(items[0])).toBe(false);
    expect(items[0].heapIndex).toBe(-1);
    clock.advance(10_000);
    const want = items.filter((_, i) => i % 2 === 1).sort((x, y) => x.deadline - y.deadline).map((x) => `${x.name}@${clock.now()}`);
    expect(expired.map((e) => e.split('@')[0]).sort()).toEqual(want.map((e) => e.split('@')[0]).sort());
    // Expired in deadline order (one advance fires them all at once, in order).
    const order = expired.map((e) => items.find((x) => x.name === e.split('@')[0])!.deadline);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('re-arms for an earlier deadline and disarms when the last item leaves', () => {
    const { clock, q, expired } = setup();
    const late = item('late');
    q.add(late, 5000);
    const early = item('early');
    q.add(early, 50);
    clock.advance(50);
    expect(expired).toEqual(['early@50']);
    expect(q.remove(late)).toBe(true);
    expect(clock.pendingTimers()).toBe(0);
    clock.advance(10_000);
    expect(expired).toEqual(['early@50']);
  });

  it('an item re-added from onExpire waits for its new deadline', () => {
    const clock = new ManualClock(0);
    const seen: number[] = [];
    const it = item('x');
    const q: DeadlineQueue<Item> = new DeadlineQueue<Item>(clock, (i) => {
      seen.push(clock.now());
      if (seen.length < 3) q.add(i, clock.now() + 100);
    });
    q.add(it, 100);
    clock.advance(1000);
    expect(seen).toEqual([100, 200, 300]);
  });

  it('a fan-out removing most items (past the rebuild point), then re-adding some: the rest expire once each, in order, each at its deadline', () => {
    const { clock, q, expired } = setup();
    const items = Array.from({ length: 1000 }, (_, i) => item(`i${i}`));
    items.forEach((it, i) => q.add(it, 1000 + ((i * 7919) % 1000)));
    const kept = new Set<Item>();
    for (let i = 0; i < items.length; i++) {
      if (i % 10 === 3) kept.add(items[i]);
      else expect(q.remove(items[i])).toBe(true);
      expect(q.size).toBe(items.length - i - 1 + kept.size);
    }
    for (const it of kept) expect(q.remove(it)).toBe(true);
    expect(q.size).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
    // Re-add a few removed ones (as a re-armed AsyncNotify would be) beside some that stay.
    const again = items.slice(0, 40);
    again.forEach((it, i) => q.add(it, 2000 + ((i * 13) % 40) * 5));
    for (let i = 0; i < again.length; i += 3) expect(q.remove(again[i])).toBe(true);
    const left = again.filter((_, i) => i % 3 !== 0);
    expect(q.size).toBe(left.length);
    clock.advance(1999);
    expect(expired).toEqual([]);
    clock.advance(1000);
    const want = [...left].sort((a, b) => a.deadline - b.deadline || 0);
    expect(expired.map((e) => e.split('@')[0])).toEqual(want.map((x) => x.name));
    expect(new Set(expired).size).toBe(left.length);
    expect(q.size).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('tombstones left at the top do not fire anything: a removed earliest item leaves the next one to expire at its own deadline', () => {
    const { clock, q, expired } = setup();
    const items = Array.from({ length: 200 }, (_, i) => item(`i${i}`));
    items.forEach((it, i) => q.add(it, 100 + i));
    // Remove the 100 earliest (below the rebuild point at first, tombstones at the top).
    for (let i = 0; i < 100; i++) q.remove(items[i]);
    expect(q.size).toBe(100);
    clock.advance(199);
    expect(expired).toEqual([]);
    clock.advance(1);
    expect(expired).toEqual(['i100@200']);
    clock.advance(99);
    expect(expired.length).toBe(100);
    expect(expired[99]).toBe('i199@299');
  });
});
