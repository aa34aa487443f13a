/**
 * The goal figures of issue 23 against a real witnessd process (its own RSS and log): while
 * hostile clients on loopback send 4 MB IpAddresses, drip PDUs in 64-byte pieces over 200
 * connections, send junk opnums and junk bytes, and hold status streams, a healthy client's
 * GetInterfaceList is still answered, witnessd's RSS grows by less than a bound and its log by
 * less than a bound of lines per minute. Latency is measured and printed; asserted only as
 * "every call answered, the median within 1 s" (the machine running the tests is shared; the
 * goal of 100 ms on an idle 2-core machine is read from the printed figure, not asserted).
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Witness_SYNTAX, Witness_OPNUMS, decodeWitnessrRegisterExOut, encodeWitnessrRegisterExIn } from '../../src/gen/witness';
import { RpcClient } from '../../src/client/rpc-client';
import { WITNESS_SYNTAX } from '../../src/client/witness-calls';
import { bind, request, NDR } from './rpc/helpers/pdu-builder';
import { Offender, healthyCall, sleep } from './hostile-helpers';
import { DaemonProcess, writeDaemonConfig, type DaemonConfig, disposeDaemon } from './restart-helpers';

jest.setTimeout(180_000);

/** Bounds asserted (README, "What a hostile client can do"). */
const RSS_GROWTH_BOUND_MB = 128;
const LOG_LINES_PER_MINUTE_BOUND = 3000;
/** The median healthy call under attack; every call must be answered at all (healthyCall's 10 s timeout). */
const MEDIAN_MS = 1000;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

describe('goal figures under attack (a witnessd process)', () => {
  let cfg: DaemonConfig;
  let d: DaemonProcess | undefined;
  const sockets: Offender[] = [];

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await disposeDaemon(d, cfg);
  });

  it('RSS, log lines and a healthy client\'s latency stay bounded', async () => {
    cfg = await writeDaemonConfig(64, 21);
    d = await DaemonProcess.start(cfg);
    const port = cfg.witnessPort;
    const host = cfg.lif1;
    for (let i = 0; i < 5; i++) await healthyCall(port, 10_000, host); // warm-up
    const idle: number[] = [];
    for (let i = 0; i < 10; i++) idle.push(await healthyCall(port, 10_000, host));
    const rss0 = rssMb(d.pid);
    const lines0 = d.logs.length;
    const t0 = Date.now();
    let stop = false;

    // 1. 200 connections dripping GetInterfaceList requests in 64-byte pieces, over and over
    //    (one timer drives them all: this process must measure, not drown in its own timers).
    const W = { id: 0, abstract: Witness_SYNTAX, transfers: [NDR] };
    const drippers: Array<{ o: Offender; wire: Buffer; at: number }> = [];
    const wire = Buffer.concat(Array.from({ length: 100 }, (_, k) => request({ callId: 2 + k, opnum: Witness_OPNUMS.WitnessrGetInterfaceList, stub: Buffer.alloc(0) })));
    for (let i = 0; i < 200; i++) {
      const o = await Offender.connect(port, host);
      sockets.push(o);
      o.send(bind({ callId: 1, contexts: [W] }));
      drippers.push({ o, wire, at: 0 });
    }
    const dripTimer = setInterval(() => {
      for (const x of drippers) {
        if (x.o.closed) continue;
        x.o.send(x.wire.subarray(x.at, x.at + 64));
        x.at = (x.at + 64) % x.wire.length;
        x.o.answers.length = 0;
      }
    }, 20);
    const drips: Promise<void>[] = [];

    // 2. Sixteen 4 MB IpAddresses.
    // (encoded once: encoding 4 MB in this process would stall its own measurement)
    const bigStub = encodeWitnessrRegisterExIn({ Version: 0x00020000, NetName: 'SOFS', ShareName: null, IpAddress: `${'\n'.repeat(2_000_000)}${host}`, ClientComputerName: 'big', Flags: 0, KeepAliveTimeout: 120 });
    const big = (async () => {
      const c = await RpcClient.connect({ host, port });
      try {
        await c.bind(WITNESS_SYNTAX);
        for (let i = 0; i < 16 && !stop; i++) {
          const out = decodeWitnessrRegisterExOut(await c.call(Witness_OPNUMS.WitnessrRegisterEx, bigStub, { timeoutMs: 30_000 }));
          expect(out.ReturnValue).toBe(0x139f);
        }
      } finally {
        await c.close();
      }
    })();

    // 3. Junk opnums and junk bytes on fresh connections (protocol violations, each a log line before).
    const junk = (async () => {
      for (let round = 0; round < 200 && !stop; round++) {
        const o = await Offender.connect(port, host).catch(() => undefined);
        if (!o) continue;
        o.send(bind({ callId: 1, contexts: [W] }));
        o.send(Buffer.concat(Array.from({ length: 50 }, (_, k) => request({ callId: 2 + k, opnum: 100 + round * 50 + k, stub: Buffer.alloc(0) }))));
        const b = await Offender.connect(port, host).catch(() => undefined);
        b?.send(randomBytes(200));
        await sleep(50);
        o.destroy();
        b?.destroy();
      }
    })();

    // 4. Status streams: more readers than allowed, reconnecting.
    const streams = (async () => {
      for (let round = 0; round < 40 && !stop; round++) {
        await Promise.all(Array.from({ length: 20 }, () => new Promise<void>((resolve) => {
          const req = http.get(`http://127.0.0.1:${cfg.adminPort}/v1/events`, (res) => {
            res.resume();
            setTimeout(() => { req.destroy(); resolve(); }, 200);
          });
          req.on('error', () => resolve());
        })));
      }
    })();

    // A healthy client meanwhile.
    await sleep(2000);
    const loaded: number[] = [];
    for (let i = 0; i < 30; i++) {
      loaded.push(await healthyCall(port, 10_000, host));
      await sleep(300);
    }
    stop = true;
    clearInterval(dripTimer);
    await Promise.all([big.catch(() => undefined), junk, streams, ...drips]);
    const seconds = (Date.now() - t0) / 1000;
    const rss1 = rssMb(d.pid);
    const lines = d.logs.length - lines0;
    const perMinute = (lines / seconds) * 60;
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    process.stdout.write(
      `hostile figures (load average ${load}): healthy GetInterfaceList idle p50 ${pct(idle, 0.5).toFixed(1)} ms; ` +
      `under attack p50 ${pct(loaded, 0.5).toFixed(1)} ms, p90 ${pct(loaded, 0.9).toFixed(1)} ms, max ${Math.max(...loaded).toFixed(1)} ms; ` +
      `RSS ${rss0.toFixed(0)} -> ${rss1.toFixed(0)} MB (+${(rss1 - rss0).toFixed(0)}, bound ${RSS_GROWTH_BOUND_MB}); ` +
      `log ${lines} lines in ${seconds.toFixed(0)} s = ${perMinute.toFixed(0)}/min (bound ${LOG_LINES_PER_MINUTE_BOUND})\n`,
    );
    expect(d.exit).toBeUndefined();
    expect(loaded).toHaveLength(30);
    expect(pct(loaded, 0.5)).toBeLessThan(MEDIAN_MS);
    expect(rss1 - rss0).toBeLessThan(RSS_GROWTH_BOUND_MB);
    expect(perMinute).toBeLessThan(LOG_LINES_PER_MINUTE_BOUND);
  });
});
