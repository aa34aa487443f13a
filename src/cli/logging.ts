/**
 * The daemon's logger: pino with ISO-8601 timestamps; JSON lines (one key each: pino's own
 * `level`, `time`, `msg`; rooms add `room`) for journald and log shippers, or pino-pretty's
 * human format when stdout is a terminal or when asked (--log-format pretty).
 */
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export function createLogger(level: string, format: LogFormat = 'auto', isTTY = process.stdout.isTTY === true): Logger {
  const options = { level, timestamp: pino.stdTimeFunctions.isoTime };
  const human = format === 'pretty' || (format === 'auto' && isTTY);
  // A synchronous prettifier stream (no worker thread): log lines stay in order with the banner.
  if (human) return pino(options, pretty({ colorize: isTTY, translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l o', ignore: 'pid,hostname', sync: true }));
  // pino's default stdout writer, but handing the kernel at most 4 KiB at a time: its writer
  // measures the UTF-8 length of the chunk it is filling for every line (up to maxWrite, 16 KiB
  // by default), which made 10,000 notification lines after a fan-out cost ~70 ms instead of
  // ~36 ms (10,000 lines, median of 7); a write of ≤ PIPE_BUF bytes to journald's pipe is also atomic.
  return pino(options, pino.destination({ dest: 1, sync: false, maxWrite: LOG_WRITE_BYTES }));
}

/** PIPE_BUF on Linux: a pipe write this size or smaller is never split. */
const LOG_WRITE_BYTES = 4096;
