/**
 * The one rate limit for log lines a peer can cause (a call below the minimum auth level, a
 * refused registration, a protocol violation, a refused login, a connection never bound): at
 * most `perSecond` lines of each message per second, and the next line written says how many
 * were left out (`suppressed`). Without it one unauthenticated connection wrote 218,240 lines
 * (48 MB) in 10 s (hostile probe, issue 23). The daemon makes one limiter and hands it to every
 * room that logs what a peer does, so that the bound holds for the whole process: lines per
 * minute <= 60 x the sum of the per-message budgets.
 */
import type { Logger } from 'pino';

/** Lines per second per message, unless the limiter is told otherwise for that message. */
export const PEER_LINES_PER_SECOND = 5;

interface Window {
  start: number;
  used: number;
  suppressed: number;
}

export class LogLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly perSecond = PEER_LINES_PER_SECOND,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a line of this kind may be written now (at most `budget` a second): false, or how many were left out before it. */
  take(kind: string, budget = this.perSecond): number | false {
    const t = this.now();
    let w = this.windows.get(kind);
    if (!w) this.windows.set(kind, (w = { start: t, used: 0, suppressed: 0 }));
    if (t - w.start >= 1000) {
      w.start = t;
      w.used = 0;
    }
    if (w.used >= budget) {
      w.suppressed++;
      return false;
    }
    w.used++;
    const before = w.suppressed;
    w.suppressed = 0;
    return before;
  }

  /** Lines left out so far and not yet reported, over every kind. */
  get pendingSuppressed(): number {
    let n = 0;
    for (const w of this.windows.values()) n += w.suppressed;
    return n;
  }
}

type LineMethod = (obj: object, msg?: string) => void;

/**
 * `log` whose info, warn and error lines pass the limiter, keyed by their message (messages are
 * constant text; what varies goes in the object), each at most PEER_LINES_PER_SECOND a second
 * or its own budget. Debug and trace pass unlimited (off in production, the operator's choice).
 * Use it for calls only: not for child() or setting a level.
 */
export function limitedLog(log: Logger, limiter: LogLimiter, budgets: Readonly<Record<string, number>> = {}): Logger {
  const limited = Object.create(log) as Logger;
  for (const level of ['info', 'warn', 'error'] as const) {
    const write: LineMethod = (obj, msg) => (log[level] as LineMethod).call(log, obj, msg);
    const method: LineMethod = (obj, msg) => {
      const kind = typeof obj === 'string' ? obj : msg ?? '';
      const left = limiter.take(kind, budgets[kind]);
      if (left === false) return;
      if (left > 0 && typeof obj === 'object') write({ ...obj, suppressed: left }, msg);
      else write(obj, msg);
    };
    (limited as unknown as Record<string, LineMethod>)[level] = method;
  }
  return limited;
}
