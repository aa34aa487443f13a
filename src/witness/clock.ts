/**
 * Time and timers behind an interface so the keep-alive and unused-registration rules can
 * be tested without waiting (ManualClock) and run for real in the daemon (systemClock).
 */
import { monotonicMs } from '../lib/time';

export interface TimerHandle {
  readonly __timer: true;
}

export interface Clock {
  /** Milliseconds (monotonic in the daemon). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * Node's longest timer (2^31-1 ms, ~24.8 days): a longer one fires after 1 ms with a
 * TimeoutOverflowWarning. A deadline further away fires early at this bound; the DeadlineQueue
 * then finds nothing due and arms again for the rest.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Real timers; unref'd so a pending keep-alive never keeps the process alive on its own. */
export const systemClock: Clock = {
  now: monotonicMs,
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.min(ms, MAX_TIMER_MS));
    t.unref();
    return t as unknown as TimerHandle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as unknown as NodeJS.Timeout);
  },
};

interface ManualTimer {
  readonly __timer: true;
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that only moves when told to; timers fire in due-time order during advance(). */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: ManualTimer[] = [];

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: ManualTimer = { __timer: true, at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    (handle as ManualTimer).cancelled = true;
    this.timers = this.timers.filter((x) => x !== handle);
  }

  /** Move time forward by ms, firing every timer that falls due (including ones set meanwhile). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (let guard = 0; guard < 1_000_000; guard++) {
      const due = this.timers
        .filter((x) => !x.cancelled && x.at <= end)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
  }

  pendingTimers(): number {
    return this.timers.filter((x) => !x.cancelled).length;
  }
}
