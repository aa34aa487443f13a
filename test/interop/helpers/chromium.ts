/**
 * Headless Chromium (Debian's `chromium`) driven over the DevTools protocol on a pipe
 * (`--remote-debugging-pipe`: JSON messages ended by NUL, ours on fd 3, its on fd 4).
 * Why not playwright-core: a pipe needs no WebSocket client (Node 20 has none built in), no
 * port and no dependency, and the four commands used here (navigate, evaluate, screenshot,
 * close) are a few lines each. Chromium runs under `timeout` in its own process group with a
 * new, empty profile that is removed afterwards.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { peerPath } from './peers';
import { onEmergencyExit, startTool, tail, type RunningTool } from './process';

/** Flags known to work here as root, headless, with no network but loopback. */
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--hide-scrollbars', '--remote-debugging-pipe',
];

interface CdpMessage {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
  sessionId?: string;
}

export class Chromium {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: CdpMessage) => void; reject: (e: Error) => void; method: string }>();
  private buf: Buffer = Buffer.alloc(0);

  private constructor(
    private readonly tool: RunningTool,
    private readonly toBrowser: Writable,
    fromBrowser: Readable,
    private readonly profile: string,
    private readonly unregisterEmergency: () => void,
  ) {
    fromBrowser.on('data', (chunk: Buffer) => this.receive(chunk));
    void tool.exited.then(() => {
      for (const p of this.pending.values()) p.reject(new Error(`chromium exited during ${p.method}\n${tail(tool.stderr, 20)}`));
      this.pending.clear();
    });
  }

  static async launch(o: { width?: number; height?: number; lifetimeMs?: number } = {}): Promise<Chromium> {
    const exe = peerPath('chromium');
    if (!exe) throw new Error('chromium is not installed (Debian package chromium)');
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'witnessd-chromium-'));
    const unregister = onEmergencyExit(() => fs.rmSync(profile, { recursive: true, force: true }));
    const tool = startTool(exe, [...FLAGS, `--user-data-dir=${profile}`, `--window-size=${o.width ?? 1400},${o.height ?? 1000}`, 'about:blank'], {
      timeoutMs: o.lifetimeMs ?? 5 * 60_000,
      stdin: 'ignore',
      extraPipes: 2,
    });
    const browser = new Chromium(tool, tool.child.stdio[3] as Writable, tool.child.stdio[4] as Readable, profile, unregister);
    await browser.send('Browser.getVersion', {}, undefined, 30_000);
    return browser;
  }

  /** One DevTools command; rejects on a protocol error, on timeout or when Chromium exits. */
  send(method: string, params: Record<string, unknown> = {}, sessionId?: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`chromium: ${method} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        method,
        resolve: (m) => {
          clearTimeout(timer);
          if (m.error) reject(new Error(`chromium: ${method}: ${m.error.message}`));
          else resolve(m.result ?? {});
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.toBrowser.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    });
  }

  async newPage(): Promise<Page> {
    const { targetId } = (await this.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await this.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    await this.send('Page.enable', {}, sessionId);
    await this.send('Runtime.enable', {}, sessionId);
    return new Page(this, sessionId);
  }

  /** Browser.close, then the process group; the profile directory is removed. */
  async close(): Promise<void> {
    if (this.tool.running) await this.send('Browser.close', {}, undefined, 5000).catch(() => undefined);
    await this.tool.stop(3000);
    fs.rmSync(this.profile, { recursive: true, force: true });
    this.unregisterEmergency();
  }

  private receive(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let i: number;
    while ((i = this.buf.indexOf(0)) >= 0) {
      const m = JSON.parse(this.buf.subarray(0, i).toString('utf8')) as CdpMessage;
      this.buf = this.buf.subarray(i + 1);
      if (m.id !== undefined) {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        p?.resolve(m);
      }
    }
  }
}

export class Page {
  constructor(
    private readonly browser: Chromium,
    private readonly sessionId: string,
  ) {}

  async navigate(url: string): Promise<void> {
    const r = (await this.browser.send('Page.navigate', { url }, this.sessionId)) as { errorText?: string };
    if (r.errorText) throw new Error(`navigating to ${url}: ${r.errorText}`);
  }

  /** Evaluate an expression in the page (awaiting a promise it returns); the value as JSON. */
  async evaluate<T>(expression: string, timeoutMs = 15_000): Promise<T> {
    const r = (await this.browser.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, this.sessionId, timeoutMs)) as {
      result: { value?: T };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    };
    if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value as T;
  }

  /**
   * Wait in the page until `condition` (a JS expression) is truthy, polling every 10 ms;
   * resolves with Date.now() in the page when it first was. Rejects after timeoutMs.
   */
  waitFor(condition: string, timeoutMs = 10_000): Promise<number> {
    return this.evaluate<number>(
      `new Promise((resolve, reject) => {
        const start = Date.now();
        const tick = () => {
          let ok = false;
          try { ok = !!(${condition}); } catch (e) { /* not there yet */ }
          if (ok) return resolve(Date.now());
          if (Date.now() - start > ${timeoutMs}) return reject(new Error(${JSON.stringify(`timed out waiting for ${condition}`)}));
          setTimeout(tick, 10);
        };
        tick();
      })`,
      timeoutMs + 5000,
    );
  }

  async screenshot(): Promise<Buffer> {
    const { data } = (await this.browser.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true }, this.sessionId, 30_000)) as { data: string };
    return Buffer.from(data, 'base64');
  }
}
