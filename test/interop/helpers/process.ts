/**
 * Bounded child processes for interop tests. Every tool runs under coreutils `timeout`
 * (so a hung peer can never hang the suite, even if jest's own timer is lost) and in its
 * own process group (so stopping it also stops whatever it forked). Everything started
 * here is remembered and killed on process exit as a last resort.
 */
import { spawn, ChildProcess } from 'node:child_process';

/** Output kept per stream; a chatty tool cannot make the test allocate without bound. */
const MAX_CAPTURE = 8 * 1024 * 1024;

const live = new Set<ChildProcess>();
const emergencyCleanups = new Set<() => void>();
let exitHookInstalled = false;

function emergencyStop(): void {
  for (const child of live) killGroup(child, 'SIGKILL');
  for (const fn of emergencyCleanups) {
    try {
      fn();
    } catch {
      /* best effort */
    }
  }
}

/**
 * Last resort when the test process ends without its afterAll hooks (a jest timeout, a
 * `timeout` wrapper's SIGTERM, Ctrl-C): kill every process group we started and run the
 * registered synchronous cleanups (smbd's helpers live in sessions of their own).
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', emergencyStop);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      emergencyStop();
      // Die of the same signal (the listener is gone now, so the default action applies
      // unless someone else listens too).
      process.kill(process.pid, sig);
    });
  }
}

/** Register a synchronous cleanup for an abnormal exit; returns its unregister function. */
export function onEmergencyExit(fn: () => void): () => void {
  installExitHook();
  emergencyCleanups.add(fn);
  return () => emergencyCleanups.delete(fn);
}

/** Signal a child's whole process group (it was spawned detached, so pgid == pid). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

export interface ToolResult {
  readonly command: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** True when `timeout` ended the tool (exit 124/137) or our own backstop fired. */
  readonly timedOut: boolean;
}

export interface RunOptions {
  /** Hard limit for the tool; `timeout` sends TERM, then KILL 5 s later. */
  readonly timeoutMs: number;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Written to stdin, then stdin is closed. */
  readonly input?: string;
}

function quote(a: string): string {
  return /^[\w@%+=:,./[\]-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

export function describeCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map(quote).join(' ');
}

function timeoutArgv(cmd: string, args: readonly string[], timeoutMs: number): string[] {
  const secs = Math.max(1, Math.ceil(timeoutMs / 1000));
  return ['--signal=TERM', '--kill-after=5', String(secs), cmd, ...args];
}

class Capture {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  push(b: Buffer): void {
    if (this.size >= MAX_CAPTURE) {
      this.truncated = true;
      return;
    }
    const room = MAX_CAPTURE - this.size;
    const part = b.length > room ? b.subarray(0, room) : b;
    this.chunks.push(part);
    this.size += part.length;
    if (part.length < b.length) this.truncated = true;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** Run a tool to completion under `timeout`. Never rejects for a non-zero exit. */
export function runTool(cmd: string, args: readonly string[], opts: RunOptions): Promise<ToolResult> {
  installExitHook();
  const command = describeCommand(cmd, args);
  return new Promise((resolve, reject) => {
    const child = spawn('timeout', timeoutArgv(cmd, args, opts.timeoutMs), {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(child);
    const out = new Capture();
    const err = new Capture();
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(opts.input ?? '');
    // Backstop in case `timeout` itself is stuck (it should not be).
    let backstopFired = false;
    const backstop = setTimeout(() => {
      backstopFired = true;
      killGroup(child, 'SIGKILL');
    }, opts.timeoutMs + 10_000);
    child.on('error', (e) => {
      clearTimeout(backstop);
      live.delete(child);
      reject(new Error(`${command}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(backstop);
      live.delete(child);
      resolve({
        command,
        code,
        signal,
        stdout: out.text(),
        stderr: err.text(),
        timedOut: backstopFired || code === 124 || code === 137,
      });
    });
  });
}

/** A long-running tool (rpcclient waiting in AsyncNotify, tshark capturing, a daemon). */
export class RunningTool {
  private readonly out = new Capture();
  private readonly err = new Capture();
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(readonly command: string, readonly child: ChildProcess) {
    live.add(child);
    child.stdout?.on('data', (b: Buffer) => {
      this.out.push(b);
      this.wake();
    });
    child.stderr?.on('data', (b: Buffer) => {
      this.err.push(b);
      this.wake();
    });
    child.stdin?.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        live.delete(child);
        this.exitInfo = { code, signal };
        this.wake();
        resolve(this.exitInfo);
      });
      child.on('error', () => {
        live.delete(child);
        this.exitInfo = { code: null, signal: null };
        this.wake();
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }
  get stdout(): string {
    return this.out.text();
  }
  get stderr(): string {
    return this.err.text();
  }
  get running(): boolean {
    return this.exitInfo === undefined;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  write(text: string): void {
    this.child.stdin?.write(text);
  }

  /**
   * Wait until `pred(stdout, stderr)` returns something truthy; reject on timeout or when
   * the tool exits first (the message then carries its output, for the test report).
   */
  waitFor<T>(pred: (stdout: string, stderr: string) => T | undefined | null | false, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const v = pred(this.stdout, this.stderr);
        if (v) {
          done();
          resolve(v as T);
          return true;
        }
        if (!this.running) {
          done();
          reject(new Error(`${this.command} exited (${JSON.stringify(this.exitInfo)}) before ${what}\nstdout:\n${tail(this.stdout)}\nstderr:\n${tail(this.stderr)}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} from ${this.command}\nstdout:\n${tail(this.stdout)}\nstderr:\n${tail(this.stderr)}`));
      }, timeoutMs);
      const waiter = (): void => void check();
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
      check();
    });
  }

  /** TERM the process group, then KILL after `graceMs`; resolves when it is gone. */
  async stop(graceMs = 5000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return;
    try {
      this.child.stdin?.end();
    } catch {
      /* ignore */
    }
    killGroup(this.child, signal);
    const killer = setTimeout(() => killGroup(this.child, 'SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(killer);
    // Stragglers of the group (children that outlived the leader).
    if (this.child.pid !== undefined) {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        /* group empty */
      }
    }
  }
}

export function tail(s: string, lines = 40): string {
  const a = s.split('\n');
  return a.slice(Math.max(0, a.length - lines)).join('\n');
}

export interface StartOptions {
  /** Hard lifetime limit (coreutils `timeout`); the tool is killed when it is exceeded. */
  readonly timeoutMs: number;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Run without the `timeout` wrapper (for processes whose pid must be the real one, e.g. smbd). */
  readonly unwrapped?: boolean;
  /**
   * 'ignore' gives the tool /dev/null as stdin. Needed for smbd: Node's pipes are socket
   * pairs, and smbd with a socket on fd 0 thinks inetd started it and serves that socket.
   */
  readonly stdin?: 'pipe' | 'ignore';
  /** Extra pipes from fd 3 on (child.stdio[3], …), e.g. Chromium's --remote-debugging-pipe. */
  readonly extraPipes?: number;
}

/** Start a long-running tool in its own process group, bounded by `timeout`. */
export function startTool(cmd: string, args: readonly string[], opts: StartOptions): RunningTool {
  installExitHook();
  const command = describeCommand(cmd, args);
  const [file, argv] = opts.unwrapped ? [cmd, [...args]] : ['timeout', timeoutArgv(cmd, args, opts.timeoutMs)];
  const child = spawn(file, argv, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true,
    stdio: [opts.stdin ?? 'pipe', 'pipe', 'pipe', ...Array<'pipe'>(opts.extraPipes ?? 0).fill('pipe')],
  });
  const tool = new RunningTool(command, child);
  if (opts.unwrapped) {
    // No `timeout` wrapper: enforce the lifetime limit ourselves (unref'd: never keeps jest alive).
    const t = setTimeout(() => void tool.stop(2000), opts.timeoutMs);
    t.unref();
    void tool.exited.then(() => clearTimeout(t));
  }
  return tool;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
