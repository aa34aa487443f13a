/**
 * A small client for the admin API (witnessctl, the drill, tests). Every failure becomes an
 * AdminError with one clear line: the server's own error text, or why it could not be reached.
 */
import { request as httpRequest } from 'node:http';
import type { ClusterEvent } from '../cluster/types';
import { DEFAULT_ADMIN_ADDRESS } from '../config';

export const DEFAULT_ADMIN_URL = `http://${DEFAULT_ADMIN_ADDRESS}`;

export class AdminError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 when the server could not be reached. */
    readonly status: number,
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

export interface AdminClientOptions {
  readonly url?: string;
  readonly token?: string;
  readonly timeoutMs?: number;
}

const MAX_RESPONSE = 64 * 1024 * 1024;

export class AdminClient {
  readonly url: string;
  private readonly base: URL;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;

  constructor(opts: AdminClientOptions = {}) {
    this.url = (opts.url ?? DEFAULT_ADMIN_URL).replace(/\/+$/, '');
    try {
      this.base = new URL(this.url);
    } catch {
      throw new AdminError(`bad admin URL "${this.url}" (expected e.g. ${DEFAULT_ADMIN_URL})`, 0);
    }
    if (this.base.protocol !== 'http:') throw new AdminError(`admin URL must be http:// (got ${this.base.protocol})`, 0);
    this.token = opts.token;
    this.timeoutMs = opts.timeoutMs ?? 15_000;
  }

  get<T = unknown>(path: string, query: Record<string, string | undefined> = {}): Promise<T> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, v);
    const q = qs.toString();
    return this.send<T>('GET', q ? `${path}?${q}` : path);
  }

  post<T = unknown>(path: string, body: unknown = {}): Promise<T> {
    return this.send<T>('POST', path, body);
  }

  /** GET text (for /metrics). */
  async text(path: string): Promise<string> {
    const r = await this.raw('GET', path);
    if (r.status >= 400) {
      let msg = `HTTP ${r.status}`;
      try {
        const e = (JSON.parse(r.text) as { error?: unknown }).error;
        if (typeof e === 'string') msg = e;
      } catch {
        /* not JSON: keep the status */
      }
      throw new AdminError(msg, r.status);
    }
    return r.text;
  }

  /**
   * Every registration matching `filter`, page by page (GET /v1/registrations answers at most
   * a page; nextOffset says where the next one starts). Bounded by `max` pages.
   */
  async registrations<T = Record<string, unknown>>(filter: Record<string, string> = {}, maxPages = 1000): Promise<T[]> {
    const out: T[] = [];
    let offset = 0;
    for (let page = 0; page < maxPages; page++) {
      const r = await this.get<{ registrations: T[]; nextOffset?: number }>('/v1/registrations', { ...filter, ...(offset ? { offset: String(offset) } : {}) });
      out.push(...r.registrations);
      if (r.nextOffset === undefined || r.nextOffset <= offset) break;
      offset = r.nextOffset;
    }
    return out;
  }

  // Convenience wrappers used by the drill and tests.
  status(): Promise<Record<string, unknown>> {
    return this.get('/v1/status');
  }
  nodeFail(node: string): Promise<{ events: ClusterEvent[] }> {
    return this.post(`/v1/nodes/${encodeURIComponent(node)}/fail`);
  }
  nodeRecover(node: string): Promise<{ events: ClusterEvent[] }> {
    return this.post(`/v1/nodes/${encodeURIComponent(node)}/recover`);
  }
  takeover(node: string): Promise<{ events: ClusterEvent[] }> {
    return this.post(`/v1/nodes/${encodeURIComponent(node)}/takeover`);
  }
  giveback(node: string): Promise<{ events: ClusterEvent[] }> {
    return this.post(`/v1/nodes/${encodeURIComponent(node)}/giveback`);
  }
  lifMigrate(lif: string, to: string): Promise<{ events: ClusterEvent[] }> {
    return this.post(`/v1/lifs/${encodeURIComponent(lif)}/migrate`, { to });
  }
  shareMove(share: string, to: string, svm?: string): Promise<{ events: ClusterEvent[] }> {
    return this.post(`/v1/shares/${encodeURIComponent(share)}/move`, svm === undefined ? { to } : { to, svm });
  }
  clientMove(client: string, to: string): Promise<{ events: ClusterEvent[] }> {
    return this.post('/v1/clients/move', { client, to });
  }

  private async send<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.raw(method, path, body);
    let parsed: unknown;
    try {
      parsed = r.text === '' ? {} : JSON.parse(r.text);
    } catch {
      throw new AdminError(`admin API at ${this.url} answered HTTP ${r.status} with something that is not JSON`, r.status);
    }
    if (r.status >= 400) {
      const msg = typeof (parsed as { error?: unknown }).error === 'string' ? (parsed as { error: string }).error : `HTTP ${r.status}`;
      throw new AdminError(msg, r.status);
    }
    return parsed as T;
  }

  private raw(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    } else if (method !== 'GET') {
      headers['content-length'] = 0;
    }
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    const target = new URL(path, this.base);
    return new Promise((resolve, reject) => {
      const req = httpRequest(target, { method, headers, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE) {
            req.destroy(new AdminError(`admin API answer over ${MAX_RESPONSE} bytes`, res.statusCode ?? 0));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => reject(this.reachError(e)));
      });
      req.on('timeout', () => req.destroy(new AdminError(`admin API at ${this.url} did not answer within ${this.timeoutMs} ms`, 0)));
      req.on('error', (e) => reject(this.reachError(e)));
      req.end(payload);
    });
  }

  private reachError(e: Error): AdminError {
    if (e instanceof AdminError) return e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ECONNREFUSED' ? 'connection refused (is witnessd running?)' : code === 'ENOTFOUND' ? 'host not found' : code ?? e.message;
    return new AdminError(`cannot reach the witnessd admin API at ${this.url}: ${why}`, 0);
  }
}
