/**
 * 10,000 idle connections against a real witnessd process (its own file-descriptor budget; this
 * process holds only the client ends). Connections that never bind are kept until the unbound
 * idle limit (30 s by default); at the connection limit (10,000) the oldest of them makes room
 * for a newcomer. The server stays up and a healthy client is answered below and at the limit.
 */
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { Witness_SYNTAX, Witness_OPNUMS, encodeWitnessrAsyncNotifyIn, encodeWitnessrRegisterIn, decodeWitnessrRegisterOut } from '../../src/gen/witness';
import { bind, request, NDR, PT } from './rpc/helpers/pdu-builder';
import { Offender, healthyCall, startHostileTarget } from './hostile-helpers';
import { listenerReserve } from '../../src/rpc/server';
import { DaemonProcess, writeDaemonConfig, type DaemonConfig, disposeDaemon } from './restart-helpers';

const IDLE = 10_000;

/** Soft limit on open files of this process (the daemon inherits the same). */
function fdLimit(): number {
  try {
    const m = /Max open files\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    return !m || m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    return 1024;
  }
}
// 10,000 (the default maxConnections) plus 200 past it, plus room for everything else.
const FD_OK = fdLimit() >= IDLE + 1_000;
if (!FD_OK) process.stdout.write(`hostile-connections: open-file limit ${fdLimit()} is below ${IDLE + 1_000}; testing ${Math.max(100, fdLimit() - 800)} idle connections and skipping the at-the-limit part\n`);

function open(host: string, port: number): Promise<net.Socket | undefined> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => resolve(s));
    s.once('error', () => resolve(undefined));
    s.on('error', () => undefined);
  });
}

describe('10,000 idle connections', () => {
  let cfg: DaemonConfig;
  let d: DaemonProcess | undefined;
  const sockets: net.Socket[] = [];

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await disposeDaemon(d, cfg);
  });

  it('the server stays up and answers a healthy client below and at the connection limit', async () => {
    cfg = await writeDaemonConfig(64, 11);
    d = await DaemonProcess.start(cfg);
    const port = cfg.witnessPort;
    const addresses = [cfg.lif1, cfg.lif2];
    const fill = async (n: number) => {
      for (let i = 0; i < n; i += 500) {
        const batch = await Promise.all(Array.from({ length: Math.min(500, n - i) }, (_, k) => open(addresses[(i + k) % 2], port)));
        for (const s of batch) if (s) sockets.push(s);
      }
    };
    const first = FD_OK ? 9_000 : Math.max(100, fdLimit() - 800);
    await fill(first);
    expect(sockets.length).toBe(first);
    const ms = await healthyCall(port, 10_000, cfg.lif1).catch(() => -1);
    expect(ms).toBeGreaterThan(0);
    if (!FD_OK) {
      process.stdout.write(`idle connections: held ${first} (open-file limit), healthy call ${ms.toFixed(0)} ms\n`);
      return;
    }

    // Up to 10,000 and past it: the server stays at its limit, evicting the oldest connections
    // that never bound, so a healthy client is still answered with 10,000 idle sockets held.
    await fill(IDLE - 9_000 + 200);
    await new Promise((r) => setTimeout(r, 1000));
    const atLimit = await healthyCall(port, 10_000, cfg.lif1).catch(() => -1);
    await new Promise((r) => setTimeout(r, 500));
    const alive = sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
    const closed = sockets.length - alive;
    process.stdout.write(`idle connections: opened ${sockets.length}, still open ${alive}, closed by the server ${closed}; healthy call with 9,000 idle ${ms.toFixed(0)} ms, at the 10,000 limit ${atLimit.toFixed(0)} ms\n`);
    expect(atLimit).toBeGreaterThan(0);
    expect(alive).toBeLessThanOrEqual(IDLE);
    expect(alive).toBeGreaterThanOrEqual(IDLE - 50);
    expect(closed).toBeGreaterThanOrEqual(150);
    expect(d.exit).toBeUndefined();
    expect(d.logs.some((l) => l.includes('connection limit: closing a connection to admit a new one'))).toBe(true);

    // Release them: the daemon is still healthy.
    for (const s of sockets.splice(0)) s.destroy();
    await new Promise((r) => setTimeout(r, 1000));
    expect(await healthyCall(port, 10_000, cfg.lif1)).toBeGreaterThan(0);
    d.kill('SIGTERM');
    expect(await d.waitExit(6000)).toBe(true);
    d = undefined;
  }, 90_000);
});

describe('bound idle connections at the connection limit (in-process, limit lowered)', () => {
  it('an idle bound connection makes room for a healthy client; one with a waiting AsyncNotify is never evicted', async () => {
    const LIMIT = 300;
    const t = await startHostileTarget({ rpcLimits: { maxConnections: LIMIT, idleEvictMs: 500 } });
    const held: Offender[] = [];
    try {
      // A registered client with its AsyncNotify waiting: the first (oldest) connection.
      const keeper = await Offender.connect(t.port);
      keeper.send(bind({ callId: 1, contexts: [{ id: 0, abstract: Witness_SYNTAX, transfers: [NDR] }] }));
      keeper.send(request({ callId: 2, opnum: Witness_OPNUMS.WitnessrRegister, stub: encodeWitnessrRegisterIn({ Version: 0x10001, NetName: 'SOFS', IpAddress: '127.0.0.11', ClientComputerName: 'KEEPER' }) }));
      expect(await keeper.until(() => keeper.answers.length >= 2)).toBe(true);
      const handle = decodeWitnessrRegisterOut(keeper.answers[1].raw.subarray(24)).ppContext;
      keeper.send(request({ callId: 3, opnum: Witness_OPNUMS.WitnessrAsyncNotify, stub: encodeWitnessrAsyncNotifyIn({ pContext: handle }) }));
      held.push(keeper);
      // Fill the witness port's share (the rest is kept for the endpoint mapper) with bound connections that then sit idle.
      const SHARE = LIMIT - listenerReserve(LIMIT);
      while (held.length < SHARE) {
        const o = await Offender.connect(t.port);
        o.send(bind({ callId: 1, contexts: [{ id: 0, abstract: Witness_SYNTAX, transfers: [NDR] }] }));
        held.push(o);
      }
      expect(await held[SHARE - 1].until(() => held.every((o) => o.answers.some((a) => a.ptype === PT.BIND_ACK)), 10_000)).toBe(true);
      expect(t.d.rpc.connectionCount).toBe(SHARE);
      await new Promise((r) => setTimeout(r, 700)); // all idle past idleEvictMs
      expect(await healthyCall(t.port)).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 200));
      expect(held.filter((o) => o.closed).length).toBeGreaterThanOrEqual(1);
      expect(keeper.closed).toBe(false);
      // The keeper's AsyncNotify still waits and is still answered.
      await fetch(`${t.d.admin.url}/v1/notify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clientName: 'KEEPER', result: 0x5b4 }) });
      expect(await keeper.until(() => keeper.answers.some((a) => a.callId === 3))).toBe(true);
      expect(t.logs.some((l) => l.includes('closing a connection to admit a new one'))).toBe(true);
    } finally {
      for (const o of held) o.destroy();
      await t.d.close();
    }
  }, 60_000);
});
