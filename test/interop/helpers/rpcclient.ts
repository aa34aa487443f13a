/**
 * rpcclient (Samba 4.17) drivers. Facts from INTEROP.md §1: it always asks the endpoint
 * mapper on HOST:135 (the [PORT] in a binding is ignored); binding flags sign/seal/spnego
 * choose the auth; with `-c "a; b"` the exit status reflects only the last command, so
 * callers assert on the printed output of every command, never on the exit code alone.
 */
import { runTool, startTool, RunningTool, ToolResult } from './process';

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
 * rpcclient reading commands from stdin (one association for all of them). Needed for
 * Register → AsyncNotify, where the handle is only known at run time.
 */
export class InteractiveRpcclient {
  private constructor(readonly tool: RunningTool) {}

  static start(binding: string, user: string, lifetimeMs: number): InteractiveRpcclient {
    return new InteractiveRpcclient(startTool('rpcclient', ['-s', '/dev/null', `-U${user}`, binding], { timeoutMs: lifetimeMs }));
  }

  /** Send one command line. */
  send(command: string): void {
    this.tool.write(`${command}\n`);
  }

  /** Register / RegisterEx and return the printed handle `<type>:<guid>`. */
  async register(args: string, timeoutMs = 15_000, command: 'Register' | 'RegisterEx' = 'Register'): Promise<string> {
    const before = this.tool.stdout.length;
    this.send(`${command} ${args}`);
    return this.tool.waitFor(
      (out) => /^([0-9a-fA-F]+:[0-9a-fA-F-]{36})\s*$/m.exec(out.slice(before))?.[1],
      timeoutMs,
      `a context handle after "${command} ${args}"`,
    );
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
