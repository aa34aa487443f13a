/**
 * What a browser must not be made to do to the admin API (issue 23: with no token, the default
 * on loopback, a page served from another loopback address made Chromium fail a node):
 *  - DNS rebinding: without a token, the Host header must name the server by an IP address or
 *    `localhost` (a rebinding attack needs a DNS name of its own; with a token the browser
 *    has no credential to send under that name);
 *  - cross-site requests: a state-changing request (anything but GET and HEAD) that a browser
 *    marks as coming from another origin (Origin, Sec-Fetch-Site) is refused;
 *  - forms and no-cors fetches: a state-changing request's body must be declared JSON (a
 *    cross-origin page cannot send application/json without a CORS preflight, which this
 *    server never grants).
 * Scripts (witnessctl, curl, the CTDB event script) send neither Origin nor Sec-Fetch-Site.
 */
import type { IncomingMessage } from 'node:http';
import { addressKey } from '../lib/address';

export interface Refusal {
  readonly status: number;
  readonly message: string;
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** The Host header's host part ('[::1]:8135' → '::1'), or undefined when there is none. */
function hostOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(header) ?? /^([^:]+)(?::\d+)?$/.exec(header);
  return m ? m[1].toLowerCase() : undefined;
}

/** Why the request is refused, or undefined when it may proceed. */
export function refuseForeign(req: IncomingMessage, tokenRequired: boolean): Refusal | undefined {
  const host = hostOf(req.headers.host);
  if (!tokenRequired && host !== undefined && host !== 'localhost' && addressKey(host) === undefined) {
    return { status: 421, message: `Host ${host} is not this server's address: use http://<IP address>:<port> or http://localhost:<port> (a DNS name is refused without admin.token: DNS rebinding)` };
  }
  if (SAFE_METHODS.has(req.method ?? 'GET')) return undefined;
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${req.headers.host ?? ''}`) {
    return { status: 403, message: `cross-origin request from ${origin} refused (state changes come from witnessctl or scripts, not from web pages)` };
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return { status: 403, message: `${site} request refused (state changes come from witnessctl or scripts, not from web pages)` };
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
  if ((hasBody || type !== '') && type !== 'application/json') {
    return { status: 415, message: `a request body must be JSON (Content-Type: application/json), not ${type || 'undeclared'}` };
  }
  return undefined;
}
