/**
 * MIT keytab files (format 0x0502, big-endian; what `samba-tool domain exportkeytab`, `ktpass`
 * and `ktutil` write) and the choice of a service key for a ticket. All SPNs of one account
 * share its keys, and the ticket's sname is whatever name the client asked for (host/, cifs/,
 * short or DNS), so a key is chosen by (enctype, kvno) among the configured principals;
 * name_type differs per SPN and is ignored (KERBEROS.md §1, §4).
 */

export class KeytabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeytabError';
  }
}

export interface KeytabEntry {
  /** 'cifs/sofs.example.test@EXAMPLE.TEST' */
  readonly principal: string;
  readonly realm: string;
  /** Components without the realm: ['cifs', 'sofs.example.test']. */
  readonly components: readonly string[];
  readonly timestamp: number;
  readonly kvno: number;
  readonly enctype: number;
  readonly key: Buffer;
}

const MAX_ENTRIES = 10000;
const MAX_COMPONENTS = 16;

export function parseKeytab(buf: Buffer): KeytabEntry[] {
  if (buf.length < 2) throw new KeytabError('keytab is empty');
  const version = buf.readUInt16BE(0);
  if (version !== 0x0502) {
    throw new KeytabError(version === 0x0501 ? 'keytab version 0x0501 (native byte order) is not supported' : `not a keytab (starts 0x${version.toString(16).padStart(4, '0')})`);
  }
  const out: KeytabEntry[] = [];
  let pos = 2;
  while (pos < buf.length) {
    if (pos + 4 > buf.length) throw new KeytabError(`truncated record header at offset ${pos}`);
    const size = buf.readInt32BE(pos);
    pos += 4;
    if (size < 0) { // a hole left by a deleted entry
      pos += -size;
      continue;
    }
    if (size === 0) break; // zero fill at the end, as some writers leave
    if (pos + size > buf.length) throw new KeytabError(`record at offset ${pos - 4} runs past the end of the file`);
    if (out.length >= MAX_ENTRIES) throw new KeytabError(`more than ${MAX_ENTRIES} entries`);
    out.push(parseEntry(buf.subarray(pos, pos + size), pos));
    pos += size;
  }
  return out;
}

function parseEntry(r: Buffer, at: number): KeytabEntry {
  let p = 0;
  const need = (n: number) => {
    if (p + n > r.length) throw new KeytabError(`record at offset ${at} is truncated`);
  };
  const u16 = () => { need(2); const v = r.readUInt16BE(p); p += 2; return v; };
  const u32 = () => { need(4); const v = r.readUInt32BE(p); p += 4; return v; };
  const counted = () => { const n = u16(); need(n); const b = r.subarray(p, p + n); p += n; return b; };
  const ncomp = u16();
  if (ncomp === 0 || ncomp > MAX_COMPONENTS) throw new KeytabError(`record at offset ${at} has ${ncomp} name components`);
  const realm = counted().toString('utf8');
  const components: string[] = [];
  for (let i = 0; i < ncomp; i++) components.push(counted().toString('utf8'));
  u32(); // name_type: differs per SPN (host/ 3, cifs/ 1), not used for matching
  const timestamp = u32();
  need(1);
  let kvno = r[p++];
  const enctype = u16();
  const key = Buffer.from(counted());
  // Optional 32-bit kvno (MIT 1.14+, Samba): authoritative when present and non-zero.
  if (p + 4 <= r.length) {
    const kvno32 = r.readUInt32BE(p);
    if (kvno32 !== 0) kvno = kvno32;
  }
  return { principal: `${components.join('/')}@${realm}`, realm, components, timestamp, kvno, enctype, key };
}

/** Write a keytab (for tests and tools): one record per entry, kvno in both fields. */
export function encodeKeytab(entries: readonly Omit<KeytabEntry, 'principal'>[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0x05, 0x02])];
  const counted = (s: Buffer) => { const b = Buffer.alloc(2); b.writeUInt16BE(s.length); return Buffer.concat([b, s]); };
  for (const e of entries) {
    const head = Buffer.alloc(2); head.writeUInt16BE(e.components.length);
    const mid = Buffer.alloc(9); mid.writeUInt32BE(1, 0); mid.writeUInt32BE(e.timestamp >>> 0, 4); mid[8] = e.kvno & 0xff;
    const et = Buffer.alloc(2); et.writeUInt16BE(e.enctype);
    const tail = Buffer.alloc(4); tail.writeUInt32BE(e.kvno >>> 0);
    const rec = Buffer.concat([head, counted(Buffer.from(e.realm)), ...e.components.map((c) => counted(Buffer.from(c))), mid, et, counted(e.key), tail]);
    const size = Buffer.alloc(4); size.writeInt32BE(rec.length);
    parts.push(size, rec);
  }
  return Buffer.concat(parts);
}

/**
 * Samba (4.21+) writes a keytab whose `sync machine password to keytab` line lacks `sync_kvno`
 * with placeholder kvnos: -1 the current password, -2 the old, -3 the older, -4 the next change
 * (and -11..-14 while it rewrites the file), stored as 32-bit two's complement. Such an entry
 * does not say which kvno its key has, so it may open a ticket of any kvno. Rank (lower first)
 * of such an entry, undefined for a real kvno.
 */
export function placeholderKvnoRank(kvno: number): number | undefined {
  const n = kvno | 0; // 0xffffffff → -1
  if (n >= -4 && n <= -1) return [1, 2, 3, 4][[-1, -4, -2, -3].indexOf(n)];
  if (n >= -14 && n <= -11) return 10 - n; // mid-rewrite copies, last
  return undefined;
}

/**
 * 'cifs/sofs.example.test', 'cifs/sofs.example.test@EXAMPLE.TEST' → comparable form: the
 * components in lower case (host names are case-insensitive in AD SPNs), the realm in upper case.
 */
export function normalizePrincipal(name: string): { components: string; realm?: string } {
  const at = name.lastIndexOf('@');
  const comps = at >= 0 ? name.slice(0, at) : name;
  return { components: comps.toLowerCase(), realm: at >= 0 ? name.slice(at + 1).toUpperCase() : undefined };
}

function matches(e: KeytabEntry, want: { components: string; realm?: string }): boolean {
  return e.components.join('/').toLowerCase() === want.components && (want.realm === undefined || e.realm.toUpperCase() === want.realm);
}

/** The keys a server uses: the keytab entries of the configured principals (all when none are configured). */
export class ServiceKeys {
  readonly entries: readonly KeytabEntry[];

  constructor(all: readonly KeytabEntry[], principals?: readonly string[]) {
    if (principals && principals.length) {
      const wanted = principals.map(normalizePrincipal);
      const missing = principals.filter((p, i) => !all.some((e) => matches(e, wanted[i])));
      if (missing.length) throw new KeytabError(`no key for ${missing.join(', ')}`);
      this.entries = all.filter((e) => wanted.some((w) => matches(e, w)));
    } else {
      this.entries = all;
    }
    if (this.entries.length === 0) throw new KeytabError('no keys');
  }

  get principals(): string[] {
    return [...new Set(this.entries.map((e) => e.principal))];
  }

  /**
   * Candidate keys for a ticket's enc-part: same enctype, same kvno when the ticket names one,
   * the ticket's own sname first (then the account's other SPNs, which share its key); then the
   * entries with Samba's placeholder kvnos (current password first), which fit any kvno.
   */
  candidates(etype: number, kvno: number | undefined, sname: readonly string[], realm: string): KeytabEntry[] {
    const own = normalizePrincipal(`${sname.join('/')}@${realm}`);
    const sameType = this.entries.filter((e) => e.enctype === etype);
    const fit = sameType.filter((e) => kvno === undefined || e.kvno === kvno);
    const first = fit.filter((e) => matches(e, own));
    const placeholders = sameType
      .filter((e) => placeholderKvnoRank(e.kvno) !== undefined)
      .sort((a, b) => (placeholderKvnoRank(a.kvno) as number) - (placeholderKvnoRank(b.kvno) as number));
    const seen = new Set<string>();
    return [...first, ...fit, ...placeholders].filter((e) => {
      const id = e.key.toString('hex');
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
  }
}
