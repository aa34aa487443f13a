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
  private readonly heap: T[] = [];
  private timer: TimerHandle | undefined;
  /** The deadline the armed timer fires for. */
  private armedFor = Infinity;

  constructor(private readonly clock: Clock, private readonly onExpire: (item: T) => void) {}

  get size(): number {
    return this.heap.length;
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
    const last = this.heap.pop() as T;
    item.heapIndex = -1;
    if (last !== item) {
      this.heap[i] = last;
      last.heapIndex = i;
      this.down(i);
      this.up(last.heapIndex);
    }
    // Otherwise the timer stays armed for an earlier deadline: it re-arms itself when it fires.
    if (this.heap.length === 0) this.stop();
    return true;
  }

  /** Stop the timer (items stay queued; nothing expires until add() re-arms it). */
  stop(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
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
    while (this.heap.length > 0 && this.heap[0].deadline <= now) {
      const item = this.heap[0];
      this.remove(item);
      due.push(item);
    }
    for (const item of due) this.onExpire(item);
    this.arm();
  }

  private up(i: number): void {
    const h = this.heap;
    const item = h[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].deadline <= item.deadline) break;
      h[i] = h[p];
      h[i].heapIndex = i;
      i = p;
    }
    h[i] = item;
    item.heapIndex = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const item = h[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r].deadline < h[l].deadline ? r : l;
      if (h[c].deadline >= item.deadline) break;
      h[i] = h[c];
      h[i].heapIndex = i;
      i = c;
    }
    h[i] = item;
    item.heapIndex = i;
  }
}
