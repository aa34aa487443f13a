/**
 * Benchmark helper processes: the parent forks a TypeScript entry with ts-node and talks to
 * it by request/response over the IPC channel; the child serves named commands. Every
 * request has a time limit, and a child exits when its parent goes away, so a crashed
 * benchmark leaves nothing behind.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import * as path from 'node:path';
import * as v8 from 'node:v8';

interface Request { readonly id: number; readonly cmd: string; readonly args: unknown }
interface Reply { readonly id: number; readonly ok: boolean; readonly result?: unknown; readonly error?: string }

export interface ForkOptions {
  /** Expose global.gc (memory measurements). */
  readonly gc?: boolean;
  /** stdout and stderr of the child go here (default: discarded). */
  readonly logFile?: string;
  /** Extra node flags (e.g. --cpu-prof). */
  readonly nodeFlags?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly readyTimeoutMs?: number;
  /**
   * Run in a private network namespace (unshare -n, as root): ports 135/445 are free there
   * and loopback addresses can be added without touching the host.
   */
  readonly netns?: boolean;
  /** A command that runs node, with its arguments (e.g. valgrind --tool=callgrind): node's path and flags follow them. */
  readonly wrapper?: readonly string[];
}

/** Transpile-and-cache hook (lib/register.js): forking a helper costs well under a second. */
const TS_HOOK = ['-r', path.join(__dirname, 'register.js')];

export class Child {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private exitError: Error | undefined;

  private constructor(readonly name: string, readonly proc: ChildProcess) {
    proc.on('message', (m: Reply) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      clearTimeout(w.timer);
      if (m.ok) w.resolve(m.result);
      else w.reject(new Error(`${name}: ${m.error}`));
    });
    proc.on('exit', (code, signal) => {
      this.exitError = new Error(`${name} exited (code ${code}, signal ${signal})`);
      for (const [id, w] of this.waiting) {
        this.waiting.delete(id);
        clearTimeout(w.timer);
        w.reject(this.exitError);
      }
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** Fork `script` (a .ts file under scripts/bench/lib) and wait for its 'ready'. */
  static async fork(name: string, script: string, o: ForkOptions = {}): Promise<Child> {
    const out = o.logFile ? fs.openSync(o.logFile, 'a') : 'ignore';
    const execArgv = [...(o.gc ? ['--expose-gc'] : []), ...(o.nodeFlags ?? []), ...TS_HOOK];
    const file = path.resolve(__dirname, script);
    const cwd = path.resolve(__dirname, '../../..');
    const env = { ...process.env, ...o.env };
    const quote = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
    // The IPC channel is fd 3 and NODE_CHANNEL_FD says so; it survives unshare and exec.
    const proc = o.netns
      ? spawn('unshare', ['-n', 'sh', '-c', `ip link set lo up && exec ${[process.execPath, ...execArgv, file].map(quote).join(' ')}`], {
        cwd, env, stdio: ['ignore', out, out, 'ipc'],
      })
      : o.wrapper
        ? fork(file, [], { execPath: o.wrapper[0], execArgv: [...o.wrapper.slice(1), process.execPath, ...execArgv], cwd, env, stdio: ['ignore', out, out, 'ipc'] })
        : fork(file, [], { execArgv, cwd, env, stdio: ['ignore', out, out, 'ipc'] });
    if (typeof out === 'number') fs.closeSync(out);
    const child = new Child(name, proc);
    await child.request('ping', {}, o.readyTimeoutMs ?? 60_000);
    return child;
  }

  request<T = unknown>(cmd: string, args: unknown = {}, timeoutMs = 60_000): Promise<T> {
    if (this.exitError) return Promise.reject(this.exitError);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.name}: '${cmd}' took longer than ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      const failed = (e: Error | null): void => {
        if (!e || !this.waiting.has(id)) return;
        this.waiting.delete(id);
        clearTimeout(timer);
        reject(new Error(`${this.name}: cannot send '${cmd}': ${e.message}`));
      };
      // A child that died leaves a closed channel: send throws or calls back with the error.
      if (!this.proc.connected) return failed(new Error('the helper process is gone'));
      try {
        this.proc.send({ id, cmd, args } satisfies Request, failed);
      } catch (e) {
        failed(e as Error);
      }
    });
  }

  /** CPU time (user+system, ms) the child has used so far. */
  async cpuMs(): Promise<number> {
    return this.request<number>('cpu', {}, 10_000);
  }

  /** Ask it to exit; kill it (by its pid) when it does not within `graceMs`. */
  async close(graceMs = 10_000): Promise<void> {
    if (this.exitError) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    try {
      await this.request('exit', {}, graceMs);
    } catch {
      /* it may exit before answering */
    }
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

export type Handler = (args: any) => unknown | Promise<unknown>;

let profiler: inspector.Session | undefined;
const post = (s: inspector.Session, method: string, params?: object): Promise<unknown> =>
  new Promise((resolve, reject) => s.post(method, params ?? {}, (err, r) => (err ? reject(err) : resolve(r))));

/** Child side: serve commands until the parent disconnects or says 'exit'. */
export function serve(handlers: Record<string, Handler>, onExit?: () => Promise<void> | void): void {
  if (!process.send) throw new Error('this script is a benchmark helper: run it through Child.fork');
  const all: Record<string, Handler> = {
    ping: () => 'pong',
    cpu: () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    },
    mem: () => {
      const g = (global as { gc?: () => void }).gc;
      if (g) for (let i = 0; i < 3; i++) g();
      const spaces: Record<string, { size: number; used: number }> = {};
      for (const sp of v8.getHeapSpaceStatistics()) spaces[sp.space_name] = { size: sp.space_size, used: sp.space_used_size };
      return { ...process.memoryUsage(), spaces };
    },
    /** CPU profile of a window only (node --cpu-prof would cover the whole setup too). */
    'profile-start': async (a: { intervalUs?: number }) => {
      profiler ??= new inspector.Session();
      profiler.connect();
      await post(profiler, 'Profiler.enable');
      await post(profiler, 'Profiler.setSamplingInterval', { interval: a.intervalUs ?? 100 });
      await post(profiler, 'Profiler.start');
      return true;
    },
    'profile-stop': async (a: { file: string }) => {
      if (!profiler) throw new Error('profile-start first');
      const r = (await post(profiler, 'Profiler.stop')) as { profile: unknown };
      fs.writeFileSync(a.file, JSON.stringify(r.profile));
      profiler.disconnect();
      profiler = undefined;
      return a.file;
    },
    ...handlers,
  };
  let exiting = false;
  const exit = async (): Promise<void> => {
    if (exiting) return;
    exiting = true;
    const t = setTimeout(() => process.exit(0), 15_000);
    t.unref();
    try {
      await onExit?.();
    } finally {
      process.exit(0);
    }
  };
  process.on('disconnect', () => void exit());
  process.on('message', async (m: Request) => {
    const reply = (r: Reply): void => {
      if (process.connected) process.send?.(r);
    };
    if (m.cmd === 'exit') {
      reply({ id: m.id, ok: true });
      await exit();
      return;
    }
    const h = all[m.cmd];
    if (!h) return reply({ id: m.id, ok: false, error: `unknown command '${m.cmd}'` });
    try {
      reply({ id: m.id, ok: true, result: await h(m.args) });
    } catch (e) {
      reply({ id: m.id, ok: false, error: (e as Error).stack ?? String(e) });
    }
  });
}
