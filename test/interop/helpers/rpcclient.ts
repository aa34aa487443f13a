/**
 * rpcclient (Samba 4.17) drivers. Facts from INTEROP.md §1: it always asks the endpoint
 * mapper on HOST:135 (the [PORT] in a binding is ignored); binding flags sign/seal/spnego
 * choose the auth; with `-c "a; b"` the exit status reflects only the last command, so
 * callers assert on the printed output of every command, never on the exit code alone.
 */
import { runTool, sleep, startTool, RunningTool, ToolResult } from './process';

export type RpcclientAuth = 'anonymous' | 'sign' | 'seal' | 'spnego-sign' | 'spnego-seal';

/** The binding string and -U value for one auth variant against `host`. */
export function rpcclientTarget(host: string, auth: RpcclientAuth, credentials: string): { binding: string; user: string } {
  switch (auth) {
    case 'anonymous':
      return { binding: `ncacn_ip_tcp:${host}`, user: '%' };
    case 'sign':
      return { binding: `ncacn_ip_tcp:${host}[sign]`, user: credentials };
    case 'seal':
      return { binding: `ncacn_ip_tcp:${host}[seal]`, user: credentials };
    case 'spnego-sign':
      return { binding: `ncacn_ip_tcp:${host}[spnego,ntlm,sign]`, user: credentials };
    case 'spnego-seal':
      return { binding: `ncacn_ip_tcp:${host}[spnego,ntlm,seal]`, user: credentials };
  }
}

/** Run `rpcclient -c "<commands joined by ;>"` once. */
export function runRpcclient(binding: string, user: string, commands: readonly string[], timeoutMs = 30_000): Promise<ToolResult> {
  return runTool('rpcclient', ['-s', '/dev/null', `-U${user}`, binding, '-c', commands.join('; ')], { timeoutMs });
}

/**
 * rpcclient reads stdin with poll() + fgets(): when two lines reach it in one read, the second
 * sits in stdio's buffer while rpcclient waits in poll() for the fd — it is only read when
 * more input arrives, and every later command then lags one line behind. So lines are written
 * one at a time: the next one only after the previous one produced output and the output went
 * quiet, or (commands that print nothing on success, like UnRegister) after SETTLE_MS.
 */
const SETTLE_MS = 400;
const QUIET_MS = 60;

/**
 * rpcclient reading commands from stdin (one association for all of them). Needed for
 * Register → AsyncNotify, where the handle is only known at run time. Do not send a command
 * while a blocking one (AsyncNotify) is still waiting: wait for its output first.
 */
export class InteractiveRpcclient {
  private chain: Promise<unknown> = Promise.resolve();
  private lastWriteAt = 0;
  private outputAtWrite = 0;

  private constructor(readonly tool: RunningTool) {}

  static start(binding: string, user: string, lifetimeMs: number): InteractiveRpcclient {
    return InteractiveRpcclient.over(startTool('rpcclient', ['-s', '/dev/null', `-U${user}`, binding], { timeoutMs: lifetimeMs }));
  }

  /** Drive an rpcclient started some other way (Kerberos: other options, a wrapper, an environment). */
  static over(tool: RunningTool): InteractiveRpcclient {
    return new InteractiveRpcclient(tool);
  }

  private outputLength(): number {
    return this.tool.stdout.length + this.tool.stderr.length;
  }

  private async settle(): Promise<void> {
    if (this.lastWriteAt === 0) return;
    for (;;) {
      if (!this.tool.running) return;
      const grew = this.outputLength() > this.outputAtWrite;
      if (!grew && Date.now() - this.lastWriteAt >= SETTLE_MS) return;
      if (grew) {
        const len = this.outputLength();
        await sleep(QUIET_MS);
        if (this.outputLength() === len) return;
        continue;
      }
      await sleep(20);
    }
  }

  /**
   * Send one command line (after the previous one was consumed). Resolves with the stdout
   * offset at the moment it was written: its output starts there.
   */
  send(command: string): Promise<number> {
    const p = this.chain.then(async () => {
      await this.settle();
      const at = this.tool.stdout.length;
      this.tool.write(`${command}\n`);
      this.lastWriteAt = Date.now();
      this.outputAtWrite = this.outputLength();
      return at;
    });
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Send a command and wait until its output matches `re`. */
  async command(command: string, re: RegExp, timeoutMs: number, what = `output of "${command}"`): Promise<RegExpExecArray> {
    const from = await this.send(command);
    return this.waitFor(re, timeoutMs, what, from);
  }

  /** Register / RegisterEx and return the printed handle `<type>:<guid>`. */
  async register(args: string, timeoutMs = 15_000, command: 'Register' | 'RegisterEx' = 'Register'): Promise<string> {
    const m = await this.command(`${command} ${args}`, /^([0-9a-fA-F]+:[0-9a-fA-F-]{36})\s*$/m, timeoutMs, `a context handle after "${command} ${args}"`);
    return m[1];
  }

  /** Wait until stdout (after `from`) matches `re`. */
  waitFor(re: RegExp, timeoutMs: number, what: string, from = 0): Promise<RegExpExecArray> {
    return this.tool.waitFor((out) => re.exec(out.slice(from)), timeoutMs, what);
  }

  get stdout(): string {
    return this.tool.stdout;
  }

  stop(): Promise<void> {
    return this.tool.stop(3000);
  }
}
