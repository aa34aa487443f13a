/**
 * A server process for the benchmarks (forked by lib/child.ts), so that its CPU and memory
 * are its own: either witnessd (the real daemon, demo configuration, logging as configured
 * to this process's stdout, which the parent sends to a log file) or the plain Node
 * baseline server that holds idle sockets and writes one message to each.
 */
import * as net from 'node:net';
import * as v8 from 'node:v8';
import { startWitnessd, type Witnessd } from '../../../src/cli/daemon';
import { createLogger } from '../../../src/cli/logging';
import { demoConfig, type WitnessdConfig } from '../../../src/config';
import { serve } from './child';
import { monoMs } from './stats';

let daemon: Witnessd | undefined;
let raw: net.Server | undefined;
const rawSockets = new Set<net.Socket>();
/** A primed baseline socket's answer to the client's first message (a bind_ack's size). */
const PRIMING_REPLY = Buffer.alloc(84, 0x5a);

export interface WitnessdStartArgs {
  readonly watcher?: Partial<WitnessdConfig['watcher']>;
  readonly nodeSmbAddresses?: Record<string, string>;
  readonly logLevel?: WitnessdConfig['logging']['level'];
  /** Over the demo's auth section (the Kerberos benchmark adds auth.kerberos). */
  readonly auth?: Partial<WitnessdConfig['auth']>;
  /** Over the demo's witness section. */
  readonly witness?: Partial<WitnessdConfig['witness']>;
  /** Over the demo's limits section. */
  readonly limits?: Partial<WitnessdConfig['limits']>;
}

export interface WitnessdInfo {
  readonly witnessPort: number;
  readonly epmPort: number;
  readonly adminUrl: string;
  readonly addresses: readonly string[];
  readonly pid: number;
}

async function startDaemon(a: WitnessdStartArgs): Promise<WitnessdInfo> {
  if (daemon) throw new Error('witnessd already running in this process');
  const base = demoConfig();
  const config: WitnessdConfig = {
    ...base,
    watcher: { ...base.watcher, ...a.watcher },
    auth: { ...base.auth, ...a.auth },
    witness: { ...base.witness, ...a.witness },
    limits: { ...base.limits, ...a.limits },
    nodes: base.nodes.map((n) => (a.nodeSmbAddresses?.[n.name] ? { ...n, smbAddress: a.nodeSmbAddresses[n.name] } : n)),
    // The daemon's own logging (demo: info). BENCH_WITNESSD_LOG_LEVEL is for diagnosis only
    // (how much of a figure is logging); the suite never sets it.
    logging: { ...base.logging, ...(a.logLevel ? { level: a.logLevel } : {}), ...(process.env.BENCH_WITNESSD_LOG_LEVEL ? { level: process.env.BENCH_WITNESSD_LOG_LEVEL as WitnessdConfig['logging']['level'] } : {}) },
  };
  const logger = createLogger(config.logging.level, 'json'); // the daemon's own writer
  daemon = await startWitnessd(config, { epmPort: 0, witnessPort: 0, adminAddress: '127.0.0.1:0', logger });
  return {
    witnessPort: daemon.witnessEndpoint.port,
    epmPort: daemon.epmEndpoint?.port ?? 0,
    adminUrl: daemon.admin.url,
    addresses: daemon.addresses,
    pid: process.pid,
  };
}

serve(
  {
    'witnessd-start': (a: WitnessdStartArgs) => startDaemon(a),
    'witnessd-counts': () => {
      if (!daemon) throw new Error('witnessd not running');
      const reg = daemon.witness.service.registry;
      return { registrations: reg.size, waiting: reg.waitingCalls };
    },
    'witnessd-stop': async () => {
      await daemon?.close();
      daemon = undefined;
    },
    /**
     * For diagnosis (fanout-diag.ts, CALLGRIND=1): each cluster event's raising (the whole
     * synchronous fan-out, writes included; not the observers, which hear of it after it: the
     * stream's hold) is bracketed by a call of a native function nothing else here calls, at
     * which callgrind dumps (--dump-before): the dump between two such calls is the fan-out
     * loop alone. (WitnessService.raise is private: a diagnosis may reach in.)
     */
    'mark-fan-out': () => {
      if (!daemon) throw new Error('witnessd not running');
      const svc = daemon.witness.service as unknown as { raise(ev: unknown): void };
      const raise = svc.raise.bind(svc);
      svc.raise = (ev) => {
        process.getegid!();
        raise(ev);
        process.getegid!();
      };
    },
    /** For diagnosis of the memory figure: a heap snapshot file (after a full GC). */
    'heap-snapshot': (a: { file: string }) => {
      (global as { gc?: () => void }).gc?.();
      return v8.writeHeapSnapshot(a.file);
    },
    /**
     * `primed`: each socket carries what a Witness connection's carried before the fan-out:
     * the client's first message is answered (bind → bind_ack), its second is read and left
     * unanswered (a pending AsyncNotify), so the TCP state and the read side are the same.
     */
    'raw-listen': (a: { host: string; primed?: boolean }) =>
      new Promise<number>((resolve, reject) => {
        raw = net.createServer((s) => {
          s.setNoDelay(true);
          rawSockets.add(s);
          s.on('error', () => undefined);
          s.on('close', () => rawSockets.delete(s));
          if (a.primed) {
            let answered = false;
            s.on('data', () => {
              if (answered) return;
              answered = true;
              s.write(PRIMING_REPLY);
            });
          }
        });
        raw.once('error', reject);
        raw.listen({ host: a.host, port: 0, backlog: 4096 }, () => resolve((raw!.address() as net.AddressInfo).port));
      }),
    'raw-count': () => rawSockets.size,
    /** The physical limit: one message to every socket in one synchronous loop (PERF.md). */
    'raw-blast': (a: { size: number }) => {
      const msg = Buffer.alloc(a.size, 0x5a);
      const c0 = process.cpuUsage();
      const t0 = monoMs();
      for (const s of rawSockets) s.write(msg);
      const loopMs = monoMs() - t0;
      const c = process.cpuUsage(c0);
      return { t0, loopMs, sockets: rawSockets.size, loopUserMs: c.user / 1000, loopSysMs: c.system / 1000 };
    },
    'raw-close': async () => {
      for (const s of rawSockets) s.destroy();
      rawSockets.clear();
      await new Promise<void>((r) => (raw ? raw.close(() => r()) : r()));
      raw = undefined;
    },
  },
  async () => {
    for (const s of rawSockets) s.destroy();
    await daemon?.close();
  },
);
