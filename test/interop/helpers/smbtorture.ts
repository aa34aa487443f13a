/**
 * smbtorture runner and subunit parser. smbtorture prints subunit v1 text on stdout:
 * `test: NAME`, then `success: NAME`, `failure: NAME [`…`]`, `error: NAME [`…`]` or
 * `skip: NAME [`…`]`; the bracketed lines are the reason. The test report quotes the reason
 * lines so a regression is readable without rerunning anything.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTool, RunningTool, startTool, ToolResult } from './process';

export type SubunitStatus = 'success' | 'failure' | 'error' | 'skip' | 'xfail' | 'uxsuccess';

export interface SubunitResult {
  readonly name: string;
  readonly status: SubunitStatus;
  readonly reason: string;
}

const STATUS_RE = /^(success|successful|failure|fail|error|skip|xfail|uxsuccess):\s+(.+?)(\s+\[)?\s*$/;

function normalise(s: string): SubunitStatus {
  if (s === 'successful') return 'success';
  if (s === 'fail') return 'failure';
  return s as SubunitStatus;
}

/** Parse subunit v1 text; tests that started but never finished are reported as 'error'. */
export function parseSubunit(text: string): SubunitResult[] {
  const out: SubunitResult[] = [];
  const started = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const t = /^test:\s+(.+?)\s*$/.exec(line);
    if (t) {
      started.add(t[1]);
      continue;
    }
    const m = STATUS_RE.exec(line);
    if (!m) continue;
    const name = m[2];
    let reason = '';
    if (m[3]) {
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== ']'; i++) body.push(lines[i]);
      reason = body.join('\n');
    }
    started.delete(name);
    out.push({ name, status: normalise(m[1]), reason });
  }
  for (const name of started) out.push({ name, status: 'error', reason: 'started but never finished (crash or timeout?)' });
  return out;
}

export interface SmbtortureRun {
  readonly tool: ToolResult;
  readonly results: SubunitResult[];
  /** Result per short test name (the part after the last dot: "Register", "AsyncNotify"). */
  byName(short: string): SubunitResult | undefined;
  /** Human-readable summary for assertion messages. */
  summary(): string;
}

export interface SmbtortureOptions {
  /** e.g. `ncacn_ip_tcp:127.0.0.11[49701]` */
  readonly binding: string;
  /** `-U` value: '%' for anonymous, or 'DOM\\user%pass'. */
  readonly user: string;
  /** Full test names, e.g. rpc.witness.witness.Register. */
  readonly tests: readonly string[];
  /** torture:net_name (the NetName witness registrations use). */
  readonly netName?: string;
  readonly extraOptions?: readonly string[];
  readonly timeoutMs: number;
  /** argv prefix that runs smbtorture elsewhere, e.g. ['ip', 'netns', 'exec', NS] (a cluster's client namespace). */
  readonly prefix?: readonly string[];
}

/** The command and argv for `o` (smbtorture itself, or behind `o.prefix`). */
function argv(o: SmbtortureOptions): [string, string[]] {
  const p = o.prefix ?? [];
  return p.length ? [p[0], [...p.slice(1), 'smbtorture', ...smbtortureArgs(o)]] : ['smbtorture', smbtortureArgs(o)];
}

function smbtortureArgs(o: SmbtortureOptions): string[] {
  const args = ['-s', '/dev/null', o.binding, `-U${o.user}`];
  if (o.netName !== undefined) args.push(`--option=torture:net_name=${o.netName}`);
  args.push(...(o.extraOptions ?? []), ...o.tests);
  return args;
}

function toRun(tool: ToolResult): SmbtortureRun {
  const results = parseSubunit(tool.stdout);
  return {
    tool,
    results,
    byName: (short) => results.find((r) => r.name === short || r.name.endsWith(`.${short}`)),
    summary: () =>
      [
        `$ ${tool.command}`,
        `exit ${tool.code}${tool.signal ? ` (signal ${tool.signal})` : ''}${tool.timedOut ? ' TIMED OUT' : ''}`,
        ...results.map((r) => `${r.status}: ${r.name}${r.reason ? `\n    ${r.reason.split('\n').join('\n    ')}` : ''}`),
        '--- stderr (tail) ---',
        tool.stderr.split('\n').slice(-25).join('\n'),
      ].join('\n'),
  };
}

/** Run smbtorture from a scratch directory (it leaves an smbtortureXXXXXX dir in its CWD). */
export async function runSmbtorture(o: SmbtortureOptions): Promise<SmbtortureRun> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smbtorture-'));
  try {
    const [cmd, args] = argv(o);
    return toRun(await runTool(cmd, args, { timeoutMs: o.timeoutMs, cwd }));
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
}

/** smbtorture running in the background: watch its output as it goes, await `done`. */
export interface BackgroundSmbtorture {
  readonly tool: RunningTool;
  /** Resolves when smbtorture exits (never rejects). */
  readonly done: Promise<SmbtortureRun>;
}

export function startSmbtorture(o: SmbtortureOptions): BackgroundSmbtorture {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smbtorture-'));
  const [cmd, args] = argv(o);
  const tool = startTool(cmd, args, { timeoutMs: o.timeoutMs, cwd });
  const done = tool.exited.then(({ code, signal }) => {
    fs.rmSync(cwd, { recursive: true, force: true });
    return toRun({
      command: tool.command,
      code,
      signal,
      stdout: tool.stdout,
      stderr: tool.stderr,
      timedOut: code === 124 || code === 137,
    });
  });
  return { tool, done };
}
