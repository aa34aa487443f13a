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
});
