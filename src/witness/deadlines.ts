/**
 * Deadlines of many waiting items behind one timer: an indexed binary min-heap, so that an
 * item leaves in O(log n) when it is answered before its deadline. Ten thousand waiting
 * AsyncNotify calls each with its own Node timer cost ~0.25 KB apiece (Timeout object,
 * closure, context); here an item costs its two fields and a heap slot.
 */
import type { Clock, TimerHandle } from './clock';

export interface Deadlined {
  /** Clock time (ms) at which the item expires. */
  deadline: number;
  /** Position in the heap; -1 when not queued. Owned by the queue. */
  heapIndex: number;
}

export class DeadlineQueue<T extends Deadlined> {
  /**
   * Live items and tombstones: an entry is live when its heapIndex is its position. remove()
   * leaves a tombstone (O(1): a fan-out answers thousands of waiting calls in one loop, and
   * sifting each out cost ~900 instructions a delivery at 1,000, more at 10,000); tombstones
   * leave at the top when the timer fires, or all at once when they outnumber the live items.
   */
  private heap: T[] = [];
  private dead = 0;
  private timer: TimerHandle | undefined;
  /** The deadline the armed timer fires for. */
  private armedFor = Infinity;

  constructor(private readonly clock: Clock, private readonly onExpire: (item: T) => void) {}

  get size(): number {
    return this.heap.length - this.dead;
  }

  add(item: T, deadline: number): void {
    item.deadline = deadline;
    item.heapIndex = this.heap.length;
    this.heap.push(item);
    this.up(item.heapIndex);
    this.arm();
  }

  /** Take the item out (answered or cancelled first); false if it was not queued. */
  remove(item: T): boolean {
    const i = item.heapIndex;
    if (i < 0 || this.heap[i] !== item) return false;
    item.heapIndex = -1;
    if (i === this.heap.length - 1) this.heap.pop();
    else this.dead++;
    // The timer may stay armed for a dead item's deadline: it finds nothing due and re-arms.
    if (this.heap.length === this.dead) this.clear();
    else if (this.dead > 64 && this.dead > this.heap.length - this.dead) this.rebuild();
    return true;
  }

  /** Stop the timer (items stay queued; nothing expires until add() re-arms it). */
  stop(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  /** Only tombstones are left. */
  private clear(): void {
    this.heap.length = 0;
    this.dead = 0;
    this.stop();
  }

  /** The live items alone, made a heap again (O(n)). */
  private rebuild(): void {
    const live = this.heap.filter((e, i) => e.heapIndex === i);
    live.forEach((e, i) => (e.heapIndex = i));
    this.heap = live;
    this.dead = 0;
    for (let i = (live.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private arm(): void {
    const first = this.heap[0];
    if (!first || first.deadline >= this.armedFor) return;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.armedFor = first.deadline;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, first.deadline - this.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = this.clock.now();
    // Items expiring during onExpire (re-added at once) wait for the next turn.
    const due: T[] = [];
    const h = this.heap;
    while (h.length > 0 && (h[0].heapIndex !== 0 || h[0].deadline <= now)) {
      const top = h[0];
      if (top.heapIndex === 0) {
        top.heapIndex = -1;
        due.push(top);
      } else {
        this.dead--;
      }
      const last = h.pop() as T;
      if (h.length > 0) {
        const live = last.heapIndex === h.length;
        h[0] = last;
        if (live) last.heapIndex = 0;
        this.down(0);
      }
    }
    if (h.length === this.dead) this.clear();
    for (const item of due) this.onExpire(item);
    this.arm();
  }

  // The sifts move tombstones too; only a live entry's heapIndex follows it.

  private up(i: number): void {
    const h = this.heap;
    const item = h[i];
    const live = item.heapIndex === i;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].deadline <= item.deadline) break;
      const moved = h[p];
      h[i] = moved;
      if (moved.heapIndex === p) moved.heapIndex = i;
      i = p;
    }
    h[i] = item;
    if (live) item.heapIndex = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const item = h[i];
    const live = item.heapIndex === i;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r].deadline < h[l].deadline ? r : l;
      if (h[c].deadline >= item.deadline) break;
      const moved = h[c];
      h[i] = moved;
      if (moved.heapIndex === c) moved.heapIndex = i;
      i = c;
    }
    h[i] = item;
    if (live) item.heapIndex = i;
  }
}
