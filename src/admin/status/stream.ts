/**
 * GET /v1/events: the status page's server-sent event stream.
 *
 *   event: hello      {run, serverTime, ...limits}       once per connection
 *   event: gap        {missed}                           entries lost since Last-Event-ID
 *   event: timeline   a TimelineEntry, id = its seq      replayed from the ring, then live
 *   event: snapshot   {at, ...GET /v1/status, registrations (first N), registrationsShown}
 *   event: ping       {at}                               keep-alive, so the page can tell a
 *                                                        quiet daemon from a dead stream
 *
 * A reader that reconnects sends Last-Event-ID (EventSource does; `?since=SEQ` does the same).
 * A snapshot follows each change shortly (debounced) and is re-sent every refreshMs when it
 * differs (states the hooks do not report: a client waiting again, a probe's detail).
 * A reader that does not keep up is disconnected once more than maxBufferedBytes wait for
 * it; its EventSource reconnects with Last-Event-ID and gets the missed entries from the ring
 * (or a gap notice). Memory per reader is therefore bounded, and so is the number of readers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { StatusFeed, TimelineEntry } from './feed';

export interface StatusStreamLimits {
  /** Readers at once; more get 503 (default 16). */
  readonly maxClients: number;
  /** Bytes waiting for one reader before it is disconnected (default 1 MiB). */
  readonly maxBufferedBytes: number;
  /** Keep-alive ping interval (default 15 s). */
  readonly pingMs: number;
  /** Snapshot re-check interval while readers are connected (default 2 s). */
  readonly refreshMs: number;
  /** Delay that gathers a burst of changes into one snapshot (default 50 ms). */
  readonly snapshotDelayMs: number;
  /** EventSource reconnect delay sent to the browser (default 2 s). */
  readonly retryMs: number;
}

export const DEFAULT_STREAM_LIMITS: StatusStreamLimits = {
  maxClients: 16,
  maxBufferedBytes: 1024 * 1024,
  pingMs: 15_000,
  refreshMs: 2_000,
  snapshotDelayMs: 50,
  retryMs: 2_000,
};

export interface StatusStreamOptions {
  readonly feed: StatusFeed;
  /** The current state; called at most once per broadcast, and once per new reader. */
  readonly snapshot: () => unknown;
  readonly limits?: Partial<StatusStreamLimits>;
  readonly logger?: Logger;
}

export class StreamBusyError extends Error {}

interface Reader {
  readonly res: ServerResponse;
  readonly remote: string;
}

function frame(event: string, data: unknown, id?: number): string {
  return `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export class StatusStream {
  readonly limits: StatusStreamLimits;
  private readonly readers = new Set<Reader>();
  private readonly run = new Date().toISOString();
  private readonly offFeed: () => void;
  private snapshotTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private lastSnapshot = '';
  private closed = false;
  /** Readers disconnected for not keeping up (since start). */
  dropped = 0;

  constructor(private readonly o: StatusStreamOptions) {
    this.limits = { ...DEFAULT_STREAM_LIMITS, ...o.limits };
    this.offFeed = o.feed.onEntry((e) => this.entry(e));
  }

  get clients(): number {
    return this.readers.size;
  }

  /** Serve one reader; throws StreamBusyError when maxClients are connected. */
  attach(req: IncomingMessage, res: ServerResponse, lastEventId: string | undefined): void {
    if (this.closed || this.readers.size >= this.limits.maxClients) {
      throw new StreamBusyError(`the status stream has its maximum of ${this.limits.maxClients} readers`);
    }
    const reader: Reader = { res, remote: `${req.socket.remoteAddress}:${req.socket.remotePort}` };
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    });
    this.readers.add(reader);
    const gone = () => this.detach(reader);
    res.on('close', gone);
    res.on('error', gone);
    req.socket.setNoDelay(true);

    const seq = lastEventId !== undefined && /^\d+$/.test(lastEventId) ? Number(lastEventId) : undefined;
    const { entries, missed } = this.o.feed.since(seq);
    let text = `retry: ${this.limits.retryMs}\n\n` + frame('hello', {
      run: this.run, serverTime: new Date().toISOString(), pingMs: this.limits.pingMs, lastSeq: this.o.feed.lastSeq,
    });
    if (missed > 0) text += frame('gap', { missed });
    for (const e of entries) text += frame('timeline', e, e.seq);
    text += this.snapshotFrame().text;
    this.write(reader, text);
    this.startTimers();
  }

  /** End every reader and stop the timers (the admin server is closing). */
  close(): void {
    this.closed = true;
    this.offFeed();
    for (const r of [...this.readers]) {
      this.readers.delete(r);
      r.res.end();
    }
    this.stopTimers();
  }

  // ---- internals ----------------------------------------------------------------------

  private entry(e: TimelineEntry): void {
    if (this.readers.size === 0) return;
    this.broadcast(frame('timeline', e, e.seq));
    this.snapshotTimer ??= setTimeout(() => {
      this.snapshotTimer = undefined;
      this.sendSnapshot(true);
    }, this.limits.snapshotDelayMs).unref();
  }

  /** The frame, and the state without its time (to tell whether anything changed). */
  private snapshotFrame(): { key: string; text: string } {
    const data = this.o.snapshot() as object;
    return { key: JSON.stringify(data), text: frame('snapshot', { at: new Date().toISOString(), ...data }) };
  }

  private sendSnapshot(always: boolean): void {
    if (this.readers.size === 0) return;
    const { key, text } = this.snapshotFrame();
    if (!always && key === this.lastSnapshot) return;
    this.lastSnapshot = key;
    this.broadcast(text);
  }

  private broadcast(text: string): void {
    for (const r of [...this.readers]) this.write(r, text);
  }

  private write(r: Reader, text: string): void {
    if (r.res.writableLength + Buffer.byteLength(text) > this.limits.maxBufferedBytes) {
      this.dropped++;
      this.o.logger?.warn(
        { remote: r.remote, waitingBytes: r.res.writableLength, limit: this.limits.maxBufferedBytes },
        'status stream reader does not keep up: disconnected (its browser reconnects and replays)',
      );
      this.readers.delete(r);
      r.res.destroy();
      this.maybeStopTimers();
      return;
    }
    r.res.write(text);
  }

  private detach(r: Reader): void {
    if (this.readers.delete(r)) this.maybeStopTimers();
  }

  private startTimers(): void {
    this.refreshTimer ??= setInterval(() => this.sendSnapshot(false), this.limits.refreshMs).unref();
    this.pingTimer ??= setInterval(() => this.broadcast(frame('ping', { at: new Date().toISOString() })), this.limits.pingMs).unref();
  }

  private maybeStopTimers(): void {
    if (this.readers.size === 0) this.stopTimers();
  }

  private stopTimers(): void {
    clearTimeout(this.snapshotTimer);
    clearInterval(this.refreshTimer);
    clearInterval(this.pingTimer);
    this.snapshotTimer = this.refreshTimer = this.pingTimer = undefined;
  }
}
