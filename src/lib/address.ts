/**
 * IP address helpers (the cluster model's LIFs, the config, the admin API): addresses are
 * compared as addresses, not strings (an IPv6 address has many spellings; a dual-stack
 * socket reports an IPv4 peer as ::ffff:a.b.c.d).
 */
import { isIP, isIPv4, isIPv6, SocketAddress } from 'node:net';

/** Canonical text of an IPv6 address as Node's net module prints it; undefined if invalid. */
export function canonicalIpv6(text: string): string | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (!isIPv6(bare)) return undefined;
  return new SocketAddress({ address: bare, family: 'ipv6' }).address;
}

/**
 * The key under which an address is looked up: dotted quad for IPv4 (also for an
 * IPv4-mapped IPv6 address), canonical text for IPv6. Undefined when not an IP literal.
 */
export function addressKey(text: string): string | undefined {
  const trimmed = text.trim();
  if (isIPv4(trimmed)) return trimmed;
  const v6 = canonicalIpv6(trimmed);
  if (v6 === undefined) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(v6);
  return mapped ? mapped[1] : v6;
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const key = addressKey(host);
  if (key === undefined) return false;
  return key === '::1' || (isIPv4(key) && key.startsWith('127.'));
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * Parse "host", "host:port", "[v6]:port" or a bare IPv6 literal. Throws Error with a short
 * reason; callers add the context (file, field).
 */
export function parseHostPort(text: string, defaultPort?: number): HostPort {
  const s = text.trim();
  let host: string;
  let portText: string | undefined;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) throw new Error(`"${text}": missing "]"`);
    host = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new Error(`"${text}": expected ":port" after "]"`);
      portText = rest.slice(1);
    }
  } else if (isIP(s) === 6) {
    host = s;
  } else {
    const colon = s.lastIndexOf(':');
    if (colon >= 0) {
      host = s.slice(0, colon);
      portText = s.slice(colon + 1);
    } else {
      host = s;
    }
  }
  if (host === '') throw new Error(`"${text}": empty host`);
  if (isIP(host) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/.test(host)) {
    throw new Error(`"${text}": "${host}" is neither an IP address nor a host name`);
  }
  let port: number;
  if (portText === undefined) {
    if (defaultPort === undefined) throw new Error(`"${text}": a port is required (host:port)`);
    port = defaultPort;
  } else {
    if (!/^\d{1,5}$/.test(portText)) throw new Error(`"${text}": port "${portText}" is not a number`);
    port = Number(portText);
    if (port > 65535) throw new Error(`"${text}": port ${port} is out of range`);
  }
  return { host, port };
}

export function formatHostPort(hp: HostPort): string {
  return isIPv6(hp.host) ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/** The /64 an IPv6 address is in, as text ('2001:db8:0:1::/64'); undefined for anything else. */
export function ipv6Prefix64(text: string): string | undefined {
  const v6 = canonicalIpv6(text.trim());
  if (v6 === undefined) return undefined;
  const [head, tail] = v6.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}
