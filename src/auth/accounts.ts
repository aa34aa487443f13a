/**
 * Where NTLM finds users: an smbpasswd-format file (so `pdbedit -Lw` output works as is),
 * reloaded when it changes, and an in-memory list (the demo account).
 */
import * as fs from 'node:fs';
import { ntHash } from './ntlm-crypto';
import type { AuthLogger } from './logger';
import { nullLogger } from './logger';

export interface Account {
  /** User name as stored (the canonical spelling reported in the Identity). */
  readonly user: string;
  /** NetBIOS domain the account belongs to; undefined = local to this server. */
  readonly domain?: string;
  /** NTOWFv1 = MD4(UTF-16LE(password)), 16 bytes. */
  readonly ntHash: Buffer;
}

export interface AccountSource {
  /** Look a user up by the names the client sent in AUTHENTICATE (user is case-insensitive). */
  lookup(user: string, domain: string): Account | undefined;
  /** Release timers or watchers, if any. */
  close?(): void;
}

function domainMatches(account: Account, domain: string): boolean {
  return account.domain === undefined || domain === '' || account.domain.toUpperCase() === domain.toUpperCase();
}

export interface MemoryAccountSpec {
  readonly user: string;
  readonly domain?: string;
  /** Either a password or an NT hash (32 hex digits or 16 bytes). */
  readonly password?: string;
  readonly ntHash?: string | Buffer;
}

export class MemoryAccountSource implements AccountSource {
  private readonly byUser = new Map<string, Account[]>();

  constructor(specs: readonly MemoryAccountSpec[]) {
    for (const s of specs) {
      let hash: Buffer;
      if (s.ntHash !== undefined) {
        hash = typeof s.ntHash === 'string' ? parseHexHash(s.ntHash) ?? badHash(s.user) : Buffer.from(s.ntHash);
        if (hash.length !== 16) badHash(s.user);
      } else if (s.password !== undefined) {
        hash = ntHash(s.password);
      } else {
        throw new Error(`account ${s.user}: needs a password or an NT hash`);
      }
      const key = s.user.toUpperCase();
      const list = this.byUser.get(key) ?? [];
      // An empty domain (the config default) means a local account: any client domain matches.
      list.push({ user: s.user, domain: s.domain ? s.domain : undefined, ntHash: hash });
      this.byUser.set(key, list);
    }
  }

  lookup(user: string, domain: string): Account | undefined {
    return this.byUser.get(user.toUpperCase())?.find((a) => domainMatches(a, domain));
  }
}

function badHash(user: string): never {
  throw new Error(`account ${user}: NT hash must be 32 hex digits`);
}

function parseHexHash(s: string): Buffer | undefined {
  return /^[0-9a-fA-F]{32}$/.test(s) ? Buffer.from(s, 'hex') : undefined;
}

/** The demo account of the embedded config: DEMO\demo with password demo-password. */
export function demoAccounts(): MemoryAccountSource {
  return new MemoryAccountSource([{ user: 'demo', domain: 'DEMO', password: 'demo-password' }]);
}

/** Tries each source in turn. */
export class ChainedAccountSource implements AccountSource {
  constructor(private readonly sources: readonly AccountSource[]) {}
  lookup(user: string, domain: string): Account | undefined {
    for (const s of this.sources) {
      const a = s.lookup(user, domain);
      if (a) return a;
    }
    return undefined;
  }
  close(): void {
    for (const s of this.sources) s.close?.();
  }
}

export interface SmbpasswdParseResult {
  readonly accounts: Map<string, Account>;
  readonly errors: string[];
}

/**
 * smbpasswd lines: `name:uid:LMHASH:NTHASH:[flags]:LCT-XXXXXXXX:`. Disabled accounts ([D]),
 * machine/trust accounts ([W], [S], [I]) and entries without an NT hash are skipped.
 */
export function parseSmbpasswd(text: string): SmbpasswdParseResult {
  const accounts = new Map<string, Account>();
  const errors: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const f = t.split(':');
    if (f.length < 4) {
      errors.push(`line ${i + 1}: expected name:uid:lmhash:nthash:[flags]:...`);
      return;
    }
    const [name, , , nt, flagField] = f;
    if (name === '') {
      errors.push(`line ${i + 1}: empty user name`);
      return;
    }
    const flags = (flagField ?? '').replace(/[\[\]\s]/g, '').toUpperCase();
    if (/[DWSI]/.test(flags)) return;
    if (/^X{32}$/i.test(nt) || /^NO ?PASSWORD/i.test(nt)) return;
    const hash = parseHexHash(nt);
    if (!hash) {
      errors.push(`line ${i + 1}: user ${name}: NT hash is not 32 hex digits`);
      return;
    }
    accounts.set(name.toUpperCase(), { user: name, ntHash: hash });
  });
  return { accounts, errors };
}

export interface SmbpasswdOptions {
  readonly logger?: AuthLogger;
  /** At most one stat() of the file per this many ms (default 1000). */
  readonly recheckMs?: number;
  /** Injected clock for tests. */
  readonly now?: () => number;
}

/**
 * An smbpasswd file, re-read when its mtime, size or inode changes. The check is lazy (on
 * lookup, at most once per recheckMs), so there is no timer or watcher to leak. If the file
 * disappears or cannot be read, the last good contents stay in use and a warning is logged.
 */
export class SmbpasswdAccountSource implements AccountSource {
  private accounts = new Map<string, Account>();
  private stamp = '';
  private lastCheck = -Infinity;
  private readonly logger: AuthLogger;
  private readonly recheckMs: number;
  private readonly now: () => number;

  constructor(readonly path: string, opts: SmbpasswdOptions = {}) {
    this.logger = opts.logger ?? nullLogger;
    this.recheckMs = opts.recheckMs ?? 1000;
    this.now = opts.now ?? Date.now;
    // The first load must succeed: a missing file at start-up is a configuration error.
    const st = fs.statSync(path);
    this.load(st);
    this.lastCheck = this.now();
  }

  get size(): number {
    return this.accounts.size;
  }

  lookup(user: string, _domain: string): Account | undefined {
    this.maybeReload();
    return this.accounts.get(user.toUpperCase());
  }

  /** Re-read now if the file changed. */
  maybeReload(force = false): void {
    const t = this.now();
    if (!force && t - this.lastCheck < this.recheckMs) return;
    this.lastCheck = t;
    let st: fs.Stats;
    try {
      st = fs.statSync(this.path);
    } catch (e) {
      this.logger.warn({ path: this.path, err: (e as Error).message }, 'smbpasswd file unreadable; keeping previous accounts');
      return;
    }
    if (stampOf(st) !== this.stamp) this.load(st);
  }

  private load(st: fs.Stats): void {
    let text: string;
    try {
      text = fs.readFileSync(this.path, 'utf8');
    } catch (e) {
      this.logger.warn({ path: this.path, err: (e as Error).message }, 'smbpasswd file unreadable; keeping previous accounts');
      return;
    }
    const { accounts, errors } = parseSmbpasswd(text);
    for (const err of errors) this.logger.warn({ path: this.path }, `smbpasswd: ${err}`);
    this.accounts = accounts;
    this.stamp = stampOf(st);
    this.logger.info({ path: this.path, accounts: accounts.size }, 'smbpasswd accounts loaded');
  }

  close(): void {
    /* nothing held open */
  }
}

function stampOf(st: fs.Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}`;
}

export interface AccountsConfig {
  /** smbpasswd-format file (pdbedit -Lw output), re-read when it changes. */
  readonly accountsFile?: string;
  /** Inline accounts, tried after the file. */
  readonly accounts?: readonly MemoryAccountSpec[];
}

/** The account source a daemon config describes: the file (if any), then the inline list. */
export function accountSourceFromConfig(cfg: AccountsConfig, logger?: AuthLogger): AccountSource {
  const sources: AccountSource[] = [];
  if (cfg.accountsFile !== undefined) sources.push(new SmbpasswdAccountSource(cfg.accountsFile, { logger }));
  if (cfg.accounts && cfg.accounts.length > 0) sources.push(new MemoryAccountSource(cfg.accounts));
  return sources.length === 1 ? sources[0] : new ChainedAccountSource(sources);
}
