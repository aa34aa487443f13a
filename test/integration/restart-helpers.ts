/**
 * witnessd as a real process (scripts/bin/witnessd.js) for the crash, restart, signal and reload tests:
 * a temporary YAML config on 127.0.0.x addresses with fixed non-privileged ports (so clients
 * find it again after a restart), the endpoint mapper off, logs captured from stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DEMO_CONFIG_YAML } from '../../src/config';

const ROOT = path.resolve(__dirname, '../..');

export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ host, port: 0 }, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface DaemonConfig {
  readonly dir: string;
  readonly file: string;
  readonly lif1: string;
  readonly lif2: string;
  readonly witnessPort: number;
  readonly adminPort: number;
  readonly yaml: string;
}

/** A config from the demo one with its own two loopback addresses (x.y = the third/fourth octets). */
export async function writeDaemonConfig(a: number, b: number, edit: (y: string) => string = (y) => y): Promise<DaemonConfig> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'witnessd-'));
  const lif1 = `127.0.${a}.${b}`;
  const lif2 = `127.0.${a}.${b + 1}`;
  const witnessPort = await freePort(lif1);
  const adminPort = await freePort('127.0.0.1');
  const yaml = edit(
    DEMO_CONFIG_YAML.replace(/127\.0\.0\.11/g, lif1).replace(/127\.0\.0\.12/g, lif2)
      .replace('witnessPort: 0 ', `witnessPort: ${witnessPort} `)
      .replace('epmPort: 135', 'epmPort: 0')
      .replace('127.0.0.1:8135', `127.0.0.1:${adminPort}`),
  );
  const file = path.join(dir, 'witnessd.yaml');
  writeFileSync(file, yaml);
  return { dir, file, lif1, lif2, witnessPort, adminPort, yaml };
}

export class DaemonProcess {
  readonly logs: string[] = [];
  stderr = '';
  exit: { code: number | null; signal: NodeJS.Signals | null; at: number } | undefined;
  private readonly exited: Promise<void>;

  private constructor(readonly child: ChildProcess) {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const lines = out.split('\n');
      out = lines.pop() ?? '';
      this.logs.push(...lines.filter((l) => l.length > 0));
    });
    child.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString('utf8'); });
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => { this.exit = { code, signal, at: Date.now() }; resolve(); }));
  }

  /** Start and wait for the banner (the listeners are up). */
  static async start(cfg: DaemonConfig, timeoutMs = 30_000): Promise<DaemonProcess> {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts/bin/witnessd.js'), '--config', cfg.file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const d = new DaemonProcess(child);
    const ok = await d.until(() => d.stderr.includes('witnessd is serving') || d.exit !== undefined, timeoutMs);
    if (!ok || d.exit) {
      d.kill('SIGKILL');
      throw new Error(`witnessd did not start: ${d.stderr.slice(-2000)}`);
    }
    return d;
  }

  get pid(): number {
    return this.child.pid!;
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.exit) this.child.kill(signal);
  }

  waitExit(ms: number): Promise<boolean> {
    return Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
  }

  async until(pred: () => boolean, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
    return pred();
  }

  /** Parsed pino lines. */
  entries(): Record<string, unknown>[] {
    return this.logs.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }
}

/** Test teardown: kill the daemon (if started), wait for it, remove its config directory. */
export async function disposeDaemon(d: DaemonProcess | undefined, cfg: DaemonConfig | undefined): Promise<void> {
  d?.kill('SIGKILL');
  await d?.waitExit(5000);
  if (cfg) rmSync(cfg.dir, { recursive: true, force: true });
}
