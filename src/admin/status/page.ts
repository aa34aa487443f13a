/**
 * The live status page's routes on the admin server: `/` (redirect), `/status` (the page),
 * `/status/app.js` and `/status/style.css` (plain files beside this module, no build step)
 * and `/v1/events` (the stream, stream.ts). The token rules are the admin API's
 * (src/admin/token.ts); a browser logs in once with `/status?token=TOKEN`.
 */
import * as fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';
import type { AdminToken } from '../token';
import { StatusStream, StreamBusyError } from './stream';

const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

/** The page may load only its own files and talk only to this server. */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/**
 * Where the page's files are: beside this module when it runs from the sources (ts-node),
 * or in the source tree when it runs from `npm run build`'s dist/ (tsc copies no HTML).
 */
export function statusAssetDir(moduleDir: string = __dirname): string {
  const candidates = [moduleDir, path.resolve(moduleDir, '..', '..', '..', '..', 'src', 'admin', 'status')];
  return candidates.find((d) => fs.existsSync(path.join(d, 'index.html'))) ?? candidates[0];
}

export interface StatusPageOptions {
  readonly stream: StatusStream;
  readonly token: AdminToken;
  readonly assetDir?: string;
}

export class StatusPage {
  private readonly assetDir: string;
  private readonly cache = new Map<string, Buffer>();

  constructor(private readonly o: StatusPageOptions) {
    this.assetDir = o.assetDir ?? statusAssetDir();
  }

  /** True for the paths this module serves (the caller passes them here before its own token check). */
  handles(parts: readonly string[]): boolean {
    const p = parts.join('/');
    return p === '' || p === 'status' || (parts.length === 2 && parts[0] === 'status' && Object.hasOwn(ASSETS, parts[1]) && parts[1] !== 'index.html') || p === 'v1/events';
  }

  /** Serve one request; returns the route name for the metrics. Errors are written here. */
  serve(req: IncomingMessage, res: ServerResponse, url: URL, parts: readonly string[]): string {
    const p = parts.join('/');
    const route = p === 'v1/events' ? 'events' : 'status-page';
    // HEAD for the files only: a HEAD stream would hold a reader's place with nothing to read.
    if (req.method !== 'GET' && (req.method !== 'HEAD' || route === 'events')) {
      this.error(res, route, 405, 'use GET', { allow: route === 'events' ? 'GET' : 'GET, HEAD' });
      return route;
    }
    if (p === '') {
      res.writeHead(302, { location: '/status', 'cache-control': 'no-store' }).end();
      return route;
    }
    const login = url.searchParams.get('token');
    if (p === 'status' && login !== null && this.o.token.required) {
      if (!this.o.token.matches(login)) {
        this.error(res, route, 401, 'wrong admin token');
        return route;
      }
      // The token leaves the address bar and the history: a cookie carries the login on.
      res.writeHead(303, { location: '/status', 'set-cookie': this.o.token.setCookie(), 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' }).end();
      return route;
    }
    if (!this.o.token.allows(req)) {
      this.error(res, route, 401, 'this admin API needs its token: open /status?token=TOKEN once (a cookie keeps the login), or send Authorization: Bearer TOKEN');
      return route;
    }
    if (p === 'v1/events') {
      try {
        this.o.stream.attach(req, res, (req.headers['last-event-id'] as string | undefined) ?? url.searchParams.get('since') ?? undefined);
      } catch (e) {
        if (!(e instanceof StreamBusyError)) throw e;
        this.error(res, route, 503, e.message, { 'retry-after': '10' });
      }
      return route;
    }
    const file = p === 'status' ? 'index.html' : parts[1];
    let body: Buffer;
    try {
      body = this.asset(file);
    } catch (e) {
      this.error(res, route, 500, `the status page's ${file} is missing (${(e as Error).message})`);
      return route;
    }
    res.writeHead(200, { ...PAGE_HEADERS, 'content-type': ASSETS[file], 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
    return route;
  }

  private asset(file: string): Buffer {
    let b = this.cache.get(file);
    if (!b) {
      b = fs.readFileSync(path.join(this.assetDir, file));
      this.cache.set(file, b);
    }
    return b;
  }

  /** JSON like every admin API error, or a short page for a person at a browser. */
  private error(res: ServerResponse, route: string, status: number, message: string, headers: Record<string, string> = {}): void {
    const html = route === 'status-page';
    const text = html
      ? `<!doctype html><html lang="en"><meta charset="utf-8"><title>witnessd: ${status}</title><h1>witnessd status page: ${status}</h1><p>${escapeHtml(message)}</p></html>\n`
      : JSON.stringify({ error: message }) + '\n';
    res.writeHead(status, {
      ...headers,
      ...(html ? PAGE_HEADERS : { 'cache-control': 'no-store' }),
      'content-type': html ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
