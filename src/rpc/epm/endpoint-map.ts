/**
 * The endpoint mapper's database and its answers (C706 appendix O, MS-RPCE 3.1.1.x), free of
 * any codec: what ept_map and ept_lookup return for the endpoints an RpcServer listens on.
 * The RPC interface wrapper (endpoint-mapper.ts) only translates these to and from NDR.
 */
import { randomUUID } from 'node:crypto';
import type { SyntaxId } from '../../ndr/dispatch';
import type { AssociationGroupRef } from '../call-context';
import type { RpcEndpoint } from '../server';
import { NDR64_SYNTAX, NDR_SYNTAX } from '../constants';
import { syntaxEquals } from '../wire';
import { FloorProtocol, TowerError, decodeMapRequest, encodeTcpTower } from './tower';

/** error_status_t values of the endpoint mapper. */
export const EpmStatus = {
  OK: 0,
  ACCESS_DENIED: 0x00000005,
  /** EPT_S_CANT_PERFORM_OP (MS-RPCE 2.2.1.2.1). */
  CANT_PERFORM_OP: 0x000006d8,
  /** ept_s_not_registered: no (more) matching entries; also ends an ept_lookup enumeration. */
  NOT_REGISTERED: 0x16c9a0d6,
} as const;

/** ept_lookup inquiry_type. */
export const Inquiry = { ALL_ELTS: 0, MATCH_BY_IF: 1, MATCH_BY_OBJ: 2, MATCH_BY_BOTH: 3 } as const;
/** ept_lookup vers_option. */
export const VersOption = { ALL: 1, COMPATIBLE: 2, EXACT: 3, MAJOR_ONLY: 4, UPTO: 5 } as const;

export const NIL_UUID = '00000000-0000-0000-0000-000000000000';

export interface EpmEntry {
  readonly object: string;
  readonly tower: Buffer;
  readonly annotation: string;
}

interface Cursor {
  readonly entries: EpmEntry[];
  pos: number;
}

/** Distinct (address, tower) answers kept; a client sending ever new towers only churns it. */
const MAX_MAP_CACHE = 256;
/** Towers one ept_map answer can hold at most (one per listening port that serves the interface). */
const MAX_MAP_TOWERS = 64;

/** Lookup cursors an association group may hold at once (the oldest is dropped beyond). */
const MAX_CURSORS_PER_GROUP = 32;

function ipv4Of(address: string): string | undefined {
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return /^\d+\.\d+\.\d+\.\d+$/.test(a) ? a : undefined;
}

export class EndpointMap {
  private readonly cursors = new Map<number, Map<string, Cursor>>();
  private readonly mapCache = new Map<string, { towers: Buffer[]; status: number }>();
  private mapCacheEndpoints = -1;
  /** Encoded towers by interface, port and IP (bounded by what we listen on and how we are reached). */
  private readonly towers = new Map<string, Buffer>();

  constructor(private readonly endpoints: () => readonly RpcEndpoint[]) {}

  /** Endpoints serving `localAddress` (the address the client reached us on) come first. */
  private reachable(localAddress: string): RpcEndpoint[] {
    const all = this.endpoints();
    const ip = ipv4Of(localAddress) ?? localAddress;
    const here = all.filter((e) => e.addresses.some((a) => a === '::' || a === '0.0.0.0' || (ipv4Of(a) ?? a) === ip));
    return here.length ? here : [...all];
  }

  private towerFor(iface: SyntaxId, e: RpcEndpoint, localAddress: string, transfer = NDR_SYNTAX): Buffer {
    // The IP floor: the address the client used if the endpoint serves it, else one it listens on.
    const local = ipv4Of(localAddress);
    const fixed = e.addresses.map(ipv4Of).find((a) => a !== undefined && a !== '0.0.0.0');
    const wildcard = e.addresses.some((a) => a === '::' || a === '0.0.0.0');
    const ip = local && (wildcard || e.addresses.some((a) => ipv4Of(a) === local)) ? local : fixed ?? '0.0.0.0';
    const key = `${iface.uuid}/${iface.major}.${iface.minor}|${e.port}|${ip}|${transfer.uuid}`;
    let t = this.towers.get(key);
    if (!t) {
      if (this.towers.size > 4096) this.towers.clear();
      t = encodeTcpTower({ iface, transfer, port: e.port, ip });
      this.towers.set(key, t);
    }
    return t;
  }

  /**
   * ept_map: towers for the interface named by the request tower, at most maxTowers. Answers
   * are cached per (address reached, request tower) until the set of endpoints changes:
   * clients send the same few towers over and over.
   */
  map(tower: Buffer | undefined, maxTowers: number, localAddress: string): { towers: Buffer[]; status: number } {
    if (!tower || maxTowers === 0) return { towers: [], status: EpmStatus.CANT_PERFORM_OP };
    const n = this.endpoints().length;
    if (n !== this.mapCacheEndpoints || this.mapCache.size >= MAX_MAP_CACHE) {
      this.mapCache.clear();
      this.mapCacheEndpoints = n;
    }
    const key = `${localAddress}|${tower.toString('latin1')}`;
    let all = this.mapCache.get(key);
    if (!all) {
      all = this.mapUncached(tower, localAddress);
      this.mapCache.set(key, all);
    }
    return all.towers.length > maxTowers ? { towers: all.towers.slice(0, maxTowers), status: all.status } : all;
  }

  private mapUncached(tower: Buffer, localAddress: string): { towers: Buffer[]; status: number } {
    const maxTowers = MAX_MAP_TOWERS;
    let req;
    try {
      req = decodeMapRequest(tower);
    } catch (err) {
      if (err instanceof TowerError) return { towers: [], status: EpmStatus.CANT_PERFORM_OP };
      throw err;
    }
    const tcp = req.protocols[0] === FloorProtocol.NCACN && req.protocols[1] === FloorProtocol.TCP;
    // A tower asking for NDR64 is answered by the endpoints that serve the interface in NDR64.
    const ndr64 = req.transfer !== undefined && syntaxEquals(req.transfer, NDR64_SYNTAX);
    const ndr = req.transfer === undefined || ndr64 || syntaxEquals(req.transfer, NDR_SYNTAX);
    if (!tcp || !ndr) return { towers: [], status: EpmStatus.NOT_REGISTERED };
    const towers: Buffer[] = [];
    const ports = new Set<number>();
    for (const e of this.reachable(localAddress)) {
      const iface = (ndr64 ? e.ndr64Interfaces : e.interfaces).find((i) => i.uuid === req.iface.uuid && i.major === req.iface.major && req.iface.minor <= i.minor);
      if (!iface || ports.has(e.port)) continue;
      ports.add(e.port);
      towers.push(this.towerFor(iface, e, localAddress, ndr64 ? NDR64_SYNTAX : NDR_SYNTAX));
      if (towers.length >= maxTowers) break;
    }
    return { towers, status: towers.length ? EpmStatus.OK : EpmStatus.NOT_REGISTERED };
  }

  private entries(inquiry: number, ifId: SyntaxId | undefined, versOption: number, localAddress: string): EpmEntry[] | undefined {
    const byIf = inquiry === Inquiry.MATCH_BY_IF || inquiry === Inquiry.MATCH_BY_BOTH;
    if (inquiry > Inquiry.MATCH_BY_BOTH || (byIf && !ifId)) return undefined;
    const out: EpmEntry[] = [];
    for (const e of this.reachable(localAddress)) {
      for (const i of e.interfaces) {
        if (byIf && ifId && !versionMatches(i, ifId, versOption)) continue;
        // We register no object UUIDs, so matching by object finds only the nil object.
        out.push({ object: NIL_UUID, tower: this.towerFor(i, e, localAddress), annotation: e.name });
      }
    }
    return out;
  }

  /**
   * ept_lookup: a nil handle starts an enumeration; each call returns up to maxEnts entries and
   * a handle to continue. When the entries run out the status is NOT_REGISTERED and the handle
   * nil (with the last entries if fewer than maxEnts were left, else on the following call).
   */
  lookup(group: AssociationGroupRef, a: {
    inquiryType: number; object: string | undefined; ifId: SyntaxId | undefined; versOption: number;
    handle: string; maxEnts: number; localAddress: string;
  }): { handle: string; entries: EpmEntry[]; status: number } {
    const table = this.groupTable(group);
    let handle = a.handle;
    let cur: Cursor | undefined;
    if (handle === NIL_UUID) {
      const list = this.entries(a.inquiryType, a.ifId, a.versOption, a.localAddress);
      if (!list) return { handle: NIL_UUID, entries: [], status: EpmStatus.CANT_PERFORM_OP };
      if (a.object && a.object !== NIL_UUID && a.inquiryType >= Inquiry.MATCH_BY_OBJ) list.length = 0;
      if (list.length === 0) return { handle: NIL_UUID, entries: [], status: EpmStatus.NOT_REGISTERED };
      cur = { entries: list, pos: 0 };
      handle = randomUUID();
      if (table.size >= MAX_CURSORS_PER_GROUP) table.delete(table.keys().next().value as string);
      table.set(handle, cur);
    } else {
      cur = table.get(handle);
      if (!cur) return { handle: NIL_UUID, entries: [], status: EpmStatus.CANT_PERFORM_OP };
    }
    const n = Math.min(a.maxEnts, cur.entries.length - cur.pos);
    if (n <= 0) {
      table.delete(handle);
      return { handle: NIL_UUID, entries: [], status: EpmStatus.NOT_REGISTERED };
    }
    const entries = cur.entries.slice(cur.pos, cur.pos + n);
    cur.pos += n;
    if (cur.pos >= cur.entries.length && n < a.maxEnts) {
      // Exhausted with room to spare: end the enumeration now (smbtorture's Lookup_simple and
      // Map_simple expect this). A call that fills max_ents exactly keeps the handle, so a
      // client asking one at a time (rpcclient epmlookup) gets the last entry with OK and
      // NOT_REGISTERED on the following call.
      table.delete(handle);
      return { handle: NIL_UUID, entries, status: EpmStatus.NOT_REGISTERED };
    }
    return { handle, entries, status: EpmStatus.OK };
  }

  /** ept_lookup_handle_free. */
  freeHandle(group: AssociationGroupRef, handle: string): number {
    const table = this.cursors.get(group.id);
    if (!table || !table.delete(handle)) return handle === NIL_UUID ? EpmStatus.OK : EpmStatus.CANT_PERFORM_OP;
    return EpmStatus.OK;
  }

  /** Open lookup cursors (for tests and metrics). */
  get openHandles(): number {
    let n = 0;
    for (const t of this.cursors.values()) n += t.size;
    return n;
  }

  private groupTable(group: AssociationGroupRef): Map<string, Cursor> {
    let t = this.cursors.get(group.id);
    if (!t) {
      t = new Map();
      this.cursors.set(group.id, t);
      // Entry handles are context handles: they die with the association group.
      group.onClose(() => this.cursors.delete(group.id));
    }
    return t;
  }
}

function versionMatches(have: SyntaxId, want: SyntaxId, opt: number): boolean {
  if (have.uuid !== want.uuid) return false;
  switch (opt) {
    case VersOption.ALL: return true;
    case VersOption.EXACT: return have.major === want.major && have.minor === want.minor;
    case VersOption.MAJOR_ONLY: return have.major === want.major;
    case VersOption.UPTO: return have.major < want.major || (have.major === want.major && have.minor <= want.minor);
    case VersOption.COMPATIBLE:
    default: return have.major === want.major && have.minor >= want.minor;
  }
}
