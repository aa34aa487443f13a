/**
 * The heartbeat between witnessd instances: each node sends every peer one small UDP datagram
 * per heartbeatMs, carrying its judgement of every node's SMB server, signed (HMAC-SHA256)
 * with a key derived from the cluster's admin token.
 *
 * Why UDP and not the admin API: a heartbeat must say "I am alive now" and nothing else may
 * delay it. A lost datagram is one missed beat that silenceMs absorbs, where a TCP stream
 * would hold later beats behind a retransmission (seconds after a link comes back), keep
 * connection state to rebuild after every partition, and share the HTTP server with operator
 * requests. A datagram is ~200 bytes; three nodes at 150 ms is ~8 KB/s in all.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { SmbSeen, SmbView } from './judge';

export interface Beat {
  /** The sender's node name. */
  readonly from: string;
  /** The sender's process incarnation (a restarted witnessd starts a new sequence). */
  readonly inc: string;
  readonly seq: number;
  /** The sender's wall clock, ms (a datagram older than MAX_SKEW_MS is refused: no replays). */
  readonly at: number;
  readonly smb: SmbView;
}

const MAC_LENGTH = 32;
const MAX_DATAGRAM = 8192;
const MAX_SKEW_MS = 30_000;
const MAX_NODES = 256;
const SEEN: ReadonlySet<string> = new Set<SmbSeen>(['serving', 'refused', 'silent', 'unknown']);

/** The heartbeat key: the cluster's admin token is the one secret every node already shares. */
export const beatKey = (token: string): Buffer => createHmac('sha256', token).update('witnessd peer heartbeat v1').digest();

export const newIncarnation = (): string => randomBytes(8).toString('hex');

export function encodeBeat(b: Beat, key: Buffer): Buffer {
  const body = Buffer.from(JSON.stringify({ v: 1, from: b.from, inc: b.inc, seq: b.seq, at: b.at, smb: b.smb }), 'utf8');
  return Buffer.concat([createHmac('sha256', key).update(body).digest(), body]);
}

const shortText = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= 64;

/** A beat, or why the datagram is refused. */
export function decodeBeat(buf: Buffer, key: Buffer, now: number): Beat | string {
  if (buf.length <= MAC_LENGTH || buf.length > MAX_DATAGRAM) return `bad length ${buf.length}`;
  const body = buf.subarray(MAC_LENGTH);
  if (!timingSafeEqual(buf.subarray(0, MAC_LENGTH), createHmac('sha256', key).update(body).digest())) return 'bad signature (another cluster token?)';
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    return 'not JSON';
  }
  if (o === null || typeof o !== 'object' || o.v !== 1) return 'unknown version';
  const { from, inc, seq, at, smb } = o;
  if (!shortText(from) || !shortText(inc)) return 'bad sender';
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return 'bad sequence number';
  if (typeof at !== 'number' || !Number.isFinite(at)) return 'bad time';
  if (Math.abs(now - at) > MAX_SKEW_MS) return `sent ${Math.round((now - at) / 1000)} s from now (clock skew, or a replay)`;
  if (smb === null || typeof smb !== 'object' || Array.isArray(smb)) return 'bad view';
  const entries = Object.entries(smb as Record<string, unknown>);
  if (entries.length > MAX_NODES || !entries.every(([k, v]) => shortText(k) && typeof v === 'string' && SEEN.has(v))) return 'bad view';
  return { from, inc, seq, at, smb: Object.fromEntries(entries) as SmbView };
}

export interface HeartbeatOptions {
  /** This node's address (the heartbeat listens there). */
  readonly host: string;
  readonly port: number;
  readonly key: Buffer;
  readonly onBeat: (beat: Beat) => void;
  /** A refused datagram (bad signature, replay, garbage): for the log, at most now and then. */
  readonly onRefused?: (why: string, from: string) => void;
}

/** One UDP socket: sends this node's beats, receives the peers'. */
export class Heartbeat {
  private socket: Socket | undefined;
  /** Per sender: the incarnation and sequence number last accepted (older ones are replays). */
  private readonly last = new Map<string, { inc: string; seq: number }>();

  constructor(private readonly o: HeartbeatOptions) {}

  async start(): Promise<void> {
    const socket = createSocket({ type: isIPv6(this.o.host) ? 'udp6' : 'udp4' });
    socket.on('message', (msg, rinfo) => this.receive(msg, `${rinfo.address}:${rinfo.port}`));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.o.port, this.o.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // A send to an unreachable peer errors asynchronously on some systems: never fatal.
    socket.on('error', (err) => this.o.onRefused?.(`socket error: ${err.message}`, this.o.host));
    this.socket = socket;
  }

  send(beat: Beat, to: ReadonlyArray<{ readonly host: string; readonly port: number }>): void {
    const socket = this.socket;
    if (!socket) return;
    const datagram = encodeBeat(beat, this.o.key);
    for (const peer of to) socket.send(datagram, peer.port, peer.host, () => undefined);
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
  }

  private receive(msg: Buffer, from: string): void {
    const b = decodeBeat(msg, this.o.key, Date.now());
    if (typeof b === 'string') {
      this.o.onRefused?.(b, from);
      return;
    }
    const prev = this.last.get(b.from);
    if (prev && prev.inc === b.inc && b.seq <= prev.seq) return; // duplicated or replayed
    this.last.set(b.from, { inc: b.inc, seq: b.seq });
    this.o.onBeat(b);
  }
}
