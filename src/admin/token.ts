/**
 * The admin token (admin.token). Scripts send it as `Authorization: Bearer TOKEN` on every
 * route but /healthz. A browser cannot put a header on a page load or an EventSource, so
 * the status page logs in once with `/status?token=TOKEN`: that answer sets a cookie and
 * redirects to the bare URL (the token leaves the address bar and the history). The cookie
 * holds a value derived from the token, not the token, and is honoured for GET only: it
 * lets a browser read the status page and its event stream, never change anything.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const STATUS_COOKIE = 'witnessd_status';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export class AdminToken {
  private readonly bearer: Buffer | undefined;
  private readonly cookieValue: string | undefined;

  constructor(token: string | undefined) {
    this.bearer = token === undefined ? undefined : digest(token);
    this.cookieValue = token === undefined ? undefined : createHash('sha256').update(`witnessd status page\0${token}`).digest('hex');
  }

  /** False when no token is configured (loopback only; the config refuses anything else). */
  get required(): boolean {
    return this.bearer !== undefined;
  }

  /** The request may proceed: no token configured, the bearer token, or (GET) the page's cookie. */
  allows(req: IncomingMessage): boolean {
    if (!this.bearer) return true;
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (m) return this.matches(m[1].trim());
    if (req.method !== 'GET' || !this.cookieValue) return false;
    const sent = cookie(req, STATUS_COOKIE);
    return sent !== undefined && timingSafeEqual(digest(sent), digest(this.cookieValue));
  }

  /** `text` is the token (compared in constant time over digests). */
  matches(text: string): boolean {
    return this.bearer !== undefined && timingSafeEqual(digest(text), this.bearer);
  }

  /** Set-Cookie for a browser that showed the token: this host only, no scripts, no cross-site sends. */
  setCookie(): string {
    return `${STATUS_COOKIE}=${this.cookieValue ?? ''}; Path=/; HttpOnly; SameSite=Strict`;
  }
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}
