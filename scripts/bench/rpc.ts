/**
 * RPC runtime benchmark: ept_map requests per second on 1 and on 50 connections, and
 * connect + bind + one ept_map + close per second, against witnessd's RpcServer (in a child
 * process) and, in the same run with the same client, Samba's samba-dcerpcd endpoint mapper
 * (PERF.md). Each figure is 3 runs, min / median / max, plus the ratio ours / Samba's.
 *
 *   npx ts-node --transpile-only scripts/bench/rpc.ts [--quick]
 *
 * The client is a light raw-PDU replayer (pre-built bind and request, call_id patched), so
 * the server is the bottleneck; both processes' CPU time is reported. Samba needs port 135
 * on 127.0.0.1: run as root and it re-executes itself in a private network namespace.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeFloors, syntaxFloor } from '../../src/rpc/epm/tower';
import { encodeEpt_mapIn, Epm_SYNTAX } from '../../src/gen/epm';
import { writeGuid } from '../../src/ndr/guid';
import { makeSandboxDirs, sandboxGlobals } from '../lib/samba-sandbox';
import { fmtSummary, pairedRatio, summarize } from './lib/stats';
import type { BenchRow } from './lib/types';

const NDR = { uuid: '8a885d04-1ceb-11c9-9fe8-08002b104860', major: 2, minor: 0 };
const HOST = '127.0.0.1';

// ------------------------------------------------------------------- PDUs

function header(ptype: number, len: number, callId: number): Buffer {
  const h = Buffer.alloc(16);
  h.set([5, 0, ptype, 3, 0x10, 0, 0, 0]);
  h.writeUInt16LE(len, 8);
  h.writeUInt32LE(callId, 12);
  return h;
}

function bindPdu(): Buffer {
  const body = Buffer.alloc(8 + 4 + 4 + 20 + 20);
  body.writeUInt16LE(5840, 0);
  body.writeUInt16LE(5840, 2);
  body.writeUInt8(1, 8);
  body.writeUInt16LE(0, 12); // context id
  body.writeUInt8(1, 14); // one transfer syntax
  writeGuid(body, 16, Epm_SYNTAX.uuid, true, 16);
  body.writeUInt32LE(Epm_SYNTAX.major | (Epm_SYNTAX.minor << 16), 32);
  writeGuid(body, 36, NDR.uuid, true, 36);
  body.writeUInt32LE(NDR.major, 52);
  return Buffer.concat([header(11, 16 + body.length, 1), body]);
}

function mapPdu(): Buffer {
  const tower = encodeFloors([
    syntaxFloor(Epm_SYNTAX), syntaxFloor(NDR),
    { lhs: Buffer.from([0x0b]), rhs: Buffer.from([0, 0]) },
    { lhs: Buffer.from([0x07]), rhs: Buffer.from([0, 135]) },
    { lhs: Buffer.from([0x09]), rhs: Buffer.from([127, 0, 0, 1]) },
  ]);
  const stub = encodeEpt_mapIn({ object: null, map_tower: { tower_length: tower.length, tower_octet_string: tower }, entry_handle: { attributes: 0, uuid: '00000000-0000-0000-0000-000000000000' }, max_towers: 1 });
  const req = Buffer.alloc(8);
  req.writeUInt32LE(stub.length, 0);
  req.writeUInt16LE(3, 6); // opnum 3: ept_map
  return Buffer.concat([header(0, 24 + stub.length, 2), req, stub]);
}

const BIND = bindPdu();
const MAP = mapPdu();

// ------------------------------------------------------------------ client

/** One connection that sends a PDU and waits for a whole PDU back, with as little work as possible. */
class Conn {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: ((pdu: Buffer) => void) | undefined;
  private failer: ((e: Error) => void) | undefined;
  private callId = 2;
  private readonly req = Buffer.from(MAP);

  private constructor(private readonly s: net.Socket) {
    s.setNoDelay(true);
    s.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      if (this.buf.length >= 10) {
        const len = this.buf.readUInt16LE(8);
        if (this.buf.length >= len) {
          const pdu = this.buf.subarray(0, len);
          this.buf = this.buf.subarray(len);
          const w = this.waiter;
          this.waiter = undefined;
          w?.(pdu);
        }
      }
    });
    s.on('error', (e) => this.failer?.(e));
    s.on('close', () => this.failer?.(new Error('connection closed')));
  }

  static open(port: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: HOST, port }, () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }

  private exchange(pdu: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.failer = reject;
      this.s.write(pdu);
    });
  }

  async bind(): Promise<void> {
    const ack = await this.exchange(BIND);
    if (ack[2] !== 12) throw new Error(`bind refused (ptype ${ack[2]})`);
  }

  async map(): Promise<void> {
    this.req.writeUInt32LE(this.callId++, 12);
    const r = await this.exchange(this.req);
    if (r[2] !== 2) throw new Error(`ept_map answered with ptype ${r[2]}`);
  }

  close(): void {
    this.failer = undefined;
    this.s.destroy();
  }
}

export async function requestsPerSecond(port: number, connections: number, ms: number): Promise<number> {
  const conns = await Promise.all(Array.from({ length: connections }, () => Conn.open(port)));
  await Promise.all(conns.map((c) => c.bind()));
  let n = 0;
  const end = Date.now() + ms;
  const t0 = process.hrtime.bigint();
  await Promise.all(conns.map(async (c) => {
    while (Date.now() < end) {
      await c.map();
      n++;
    }
  }));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  conns.forEach((c) => c.close());
  return n / secs;
}

/**
 * The C replay client (lib/rpc-replay.c), built once per run with the machine's C compiler:
 * on one connection the client's own time is part of every round trip, and the Node client's
 * ~20 us per call would hide most of the difference between the servers. Undefined (with the
 * reason logged) when there is no compiler: the Node client measures instead.
 */
let replayBinary: string | undefined | null = null;
function replayClient(log: (m: string) => void): string | undefined {
  if (replayBinary !== null) return replayBinary;
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-rpc-replay-')), 'rpc-replay');
  const cc = spawnSync('cc', ['-O2', '-o', out, path.join(__dirname, 'lib', 'rpc-replay.c')], { encoding: 'utf8' });
  replayBinary = cc.status === 0 ? out : undefined;
  if (!replayBinary) log(`!!! rpc: no C replay client (${cc.error?.message ?? cc.stderr.trim()}); the Node client measures the one-connection cases`);
  return replayBinary;
}

interface Rate { rate: number; /** The client's CPU seconds when it ran in a process of its own. */ clientCpu?: number }

/** One connection (`calls`) or connect+bind+call+close (`connect`) by the C replay client. */
function replay(bin: string, port: number, mode: 'calls' | 'connect', ms: number): Promise<Rate> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, [HOST, String(port), mode, String(ms), BIND.toString('hex'), MAP.toString('hex')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`rpc-replay ${mode}: ${err.trim() || `exit ${code}`}`));
      const r = JSON.parse(out) as { n: number; secs: number; cpu: number };
      resolve({ rate: r.n / r.secs, clientCpu: r.cpu });
    });
  });
}

export async function connectsPerSecond(port: number, ms: number): Promise<number> {
  let n = 0;
  const end = Date.now() + ms;
  const t0 = process.hrtime.bigint();
  while (Date.now() < end) {
    const c = await Conn.open(port);
    await c.bind();
    await c.map();
    c.close();
    n++;
  }
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

// ----------------------------------------------------------------- servers

interface Target {
  readonly name: string;
  readonly port: number;
  /** Processes whose CPU time counts as the server's. */
  pids(): number[];
  stop(): Promise<void>;
}

function cpuSeconds(pids: number[]): number {
  const tick = 100; // USER_HZ on Linux
  let t = 0;
  for (const pid of pids) {
    try {
      const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      t += (Number(f[11]) + Number(f[12])) / tick; // utime, stime
    } catch {
      /* gone */
    }
  }
  return t;
}

function childPids(pid: number): number[] {
  const out = [pid];
  try {
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
      const kids = fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      for (const k of kids ? kids.split(' ') : []) out.push(...childPids(Number(k)));
    }
  } catch {
    /* gone */
  }
  return [...new Set(out)];
}

/**
 * The server runs the transpiled JavaScript from the helpers' cache (lib/register.js), as a
 * compiled install would: under ts-node it would also hold the TypeScript compiler, whose
 * functions V8 keeps optimizing on its worker threads for seconds after start-up, on the
 * benchmark's two cores. A first process fills the cache, so the measured one never loads it.
 */
const SERVER_HOOK = ['-r', path.join(__dirname, 'lib', 'register.js')];

async function startOurs(): Promise<Target> {
  await new Promise<void>((resolve, reject) => {
    const warm = fork(__filename, ['--warm-cache'], { execArgv: SERVER_HOOK, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    warm.once('exit', (c) => (c === 0 ? resolve() : reject(new Error(`cache warm-up exited with ${c}`))));
  });
  // BENCH_SERVER_FLAGS (diagnosis, e.g. --cpu-prof --cpu-prof-dir=DIR): extra node flags for the server.
  const flags = process.env.BENCH_SERVER_FLAGS?.split(' ').filter(Boolean) ?? [];
  const child = fork(__filename, ['--serve'], { execArgv: [...flags, ...SERVER_HOOK], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (c) => reject(new Error(`server child exited with ${c}`)));
  });
  return {
    name: 'witnessd', port, pids: () => [child.pid!],
    stop: () => new Promise((r) => { child.once('exit', () => r()); child.kill('SIGTERM'); }),
  };
}

async function serve(): Promise<void> {
  const { RpcServer } = await import('../../src/rpc/server');
  const { createEndpointMapper } = await import('../../src/rpc/epm/endpoint-mapper');
  if (process.argv.includes('--warm-cache')) process.exit(0);
  const server = new RpcServer();
  const ep = await server.listen({ address: HOST, port: 0, interfaces: [createEndpointMapper(server)], name: 'epmapper' });
  process.send!({ port: ep.port });
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, HOST, () => s.close(() => resolve(true)));
  });
}

async function waitPort(port: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect({ host: HOST, port }, () => { s.destroy(); r(true); });
      s.once('error', () => r(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

const SAMBA = '/usr/libexec/samba/samba-dcerpcd';

async function startSamba(): Promise<Target | string> {
  if (!fs.existsSync(SAMBA)) return `${SAMBA} not installed (Debian package samba-common-bin)`;
  if (!(await portFree(135))) return `port 135 on ${HOST} is taken (run as root: the benchmark then uses a private network namespace)`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-samba-'));
  makeSandboxDirs(dir, ['log']);
  // PERF.md's sandbox configuration.
  fs.writeFileSync(path.join(dir, 'smb.conf'), [
    '[global]',
    '  workgroup = PERFTEST',
    '  netbios name = PERFPEER',
    '  server role = standalone server',
    '  security = user',
    `  passdb backend = tdbsam:${dir}/private/passdb.tdb`,
    ...sandboxGlobals(dir),
    '  log level = 0',
    '  rpc start on demand helpers = false',
    '  interfaces = lo',
    '  bind interfaces only = yes',
    '',
  ].join('\n'));
  const child: ChildProcess = spawn(SAMBA, ['-s', path.join(dir, 'smb.conf'), '-F', '--libexec-rpcds', '-d', '0', `--log-basename=${dir}/log`], { stdio: 'ignore', detached: true });
  if (!(await waitPort(135, 15_000))) {
    try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
    return 'samba-dcerpcd did not listen on 135 within 15 s';
  }
  // Keep one idle bound connection for the whole run: rpcd_epmapper exits after 10 s idle,
  // and a cold worker takes binds one at a time (PERF.md).
  const keep = await Conn.open(135);
  await keep.bind();
  return {
    name: 'samba-dcerpcd', port: 135, pids: () => childPids(child.pid!),
    stop: async () => {
      keep.close();
      try { process.kill(-child.pid!, 'SIGTERM'); } catch { /* gone */ }
      await new Promise((r) => setTimeout(r, 300));
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------- reporting

interface Sample { rate: number; serverCpu: number; clientCpu: number }

/** One measurement with both processes' CPU as percent of one core over the window. */
async function sample(t: Target, fn: () => Promise<Rate>): Promise<Sample> {
  const pids = t.pids();
  const s0 = cpuSeconds(pids);
  const c0 = process.cpuUsage();
  const w0 = process.hrtime.bigint();
  const r = await fn();
  const wall = Number(process.hrtime.bigint() - w0) / 1e9;
  const c = process.cpuUsage(c0);
  const clientCpu = r.clientCpu ?? (c.user + c.system) / 1e6;
  return { rate: r.rate, serverCpu: ((cpuSeconds(pids) - s0) / wall) * 100, clientCpu: (clientCpu / wall) * 100 };
}

/** The figure PERF.md sets for the endpoint mapper: at least 1.5x Samba's rate. */
const TARGET_RATIO = 1.5;

export async function run(opts: { quick: boolean; reps?: number; log?: (m: string) => void }): Promise<BenchRow[]> {
  const ms = opts.quick ? 1000 : 5000;
  const reps = Math.max(opts.reps ?? 3, 1);
  const log = opts.log ?? ((m: string) => console.error(m));
  const ours = await startOurs();
  const samba = await startSamba();
  if (typeof samba === 'string') log(`!!! rpc: Samba baseline unavailable: ${samba}`);
  const bin = replayClient(log);
  const node = (f: (t: Target, d: number) => Promise<number>) => async (t: Target, d: number): Promise<Rate> => ({ rate: await f(t, d) });
  const cases: Array<[string, string, (t: Target, ms: number) => Promise<Rate>]> = [
    ['ept_map, 1 connection', 'req/s', bin ? (t, d) => replay(bin, t.port, 'calls', d) : node((t, d) => requestsPerSecond(t.port, 1, d))],
    ['ept_map, 50 connections', 'req/s', node((t, d) => requestsPerSecond(t.port, 50, d))],
    ['connect+bind+ept_map+close, 1 in flight', 'conn/s', bin ? (t, d) => replay(bin, t.port, 'connect', d) : node((t, d) => connectsPerSecond(t.port, d))],
  ];
  const clientOf = (name: string): string => (bin && !name.includes('50') ? 'C replay client (lib/rpc-replay.c)' : 'Node replay client');
  const rows: BenchRow[] = [];
  try {
    // Warm-up, not measured: both servers reach their steady state (JIT, worker processes).
    for (const [, , fn] of cases) {
      for (const t of typeof samba === 'string' ? [ours] : [ours, samba]) await fn(t, opts.quick ? 300 : 1000);
    }
    for (const [name, unit, fn] of cases) {
      const o: Sample[] = [];
      const b: Sample[] = [];
      // Interleaved, so that both servers see the same background load; ratios are paired.
      for (let i = 0; i < reps; i++) {
        o.push(await sample(ours, () => fn(ours, ms)));
        if (typeof samba !== 'string') b.push(await sample(samba, () => fn(samba, ms)));
      }
      const value = summarize(o.map((x) => x.rate));
      const row: BenchRow = {
        suite: 'rpc', name, unit, better: 'higher', value, notes: [`client: ${clientOf(name)}, the same for both servers`],
        cpu: {
          unit: '%',
          client: summarize(o.map((x) => x.clientCpu)),
          server: summarize(o.map((x) => x.serverCpu)),
          ...(b.length ? { baselineClient: summarize(b.map((x) => x.clientCpu)), baselineServer: summarize(b.map((x) => x.serverCpu)) } : {}),
        },
        ...(b.length ? (() => {
          const ratio = pairedRatio(o.map((x) => x.rate), b.map((x) => x.rate));
          return {
            baseline: { name: 'samba-dcerpcd (rpcd_epmapper)', value: summarize(b.map((x) => x.rate)) },
            ratio,
            target: { text: `>= ${TARGET_RATIO}x Samba`, met: ratio.median >= TARGET_RATIO },
          };
        })() : { notes: [`client: ${clientOf(name)}`, `Samba baseline unavailable: ${samba as string}`] }),
      };
      rows.push(row);
      log(`rpc: ${name}: witnessd ${fmtSummary(row.value, unit)}` +
        (row.baseline ? `; samba ${fmtSummary(row.baseline.value, unit)}; ratio ${fmtSummary(row.ratio)}x` : ''));
    }
  } finally {
    await ours.stop();
    if (typeof samba !== 'string') await samba.stop();
  }
  return rows;
}

function inPrivateNetns(): boolean {
  try {
    const names = fs.readFileSync('/proc/self/net/dev', 'utf8').split('\n').slice(2).map((l) => l.trim().split(':')[0]).filter(Boolean);
    return names.every((n) => n === 'lo');
  } catch {
    return false;
  }
}

if (require.main === module) {
  if (process.argv.includes('--serve') || process.argv.includes('--warm-cache')) {
    void serve();
  } else if (process.getuid?.() === 0 && !inPrivateNetns() && !process.env.RPC_BENCH_NO_NETNS) {
    // Port 135 for Samba without touching the host: the whole benchmark in a private namespace.
    const me = process.argv.slice(1).map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const r = spawnSync('unshare', ['-n', 'sh', '-c', `ip link set lo up && exec "${process.execPath}" ${process.execArgv.join(' ')} ${me}`], { stdio: 'inherit' });
    process.exit(r.status ?? 1);
  } else {
    run({ quick: process.argv.includes('--quick'), log: (m) => console.log(m) }).then((rows) => {
      for (const r of rows) {
        console.log(`${r.name}: witnessd ${fmtSummary(r.value, r.unit)} (server CPU ${fmtSummary(r.cpu?.server, '%')}, client CPU ${fmtSummary(r.cpu?.client, '%')})`);
        if (r.baseline) {
          console.log(`  samba-dcerpcd ${fmtSummary(r.baseline.value, r.unit)} (server CPU ${fmtSummary(r.cpu?.baselineServer, '%')}); ratio ${fmtSummary(r.ratio)}x; ${r.target!.met ? 'MET' : 'MISSED'} ${r.target!.text}`);
        }
      }
      process.exit(0);
    }, (e) => {
      console.error(e);
      process.exit(1);
    });
  }
}
