/**
 * Endpoint mapper lookup (ept_map, opnum 3) the way rpcclient does it: a separate,
 * anonymous connection to port 135, one request for the interface over ncacn_ip_tcp,
 * only the TCP port floor of the answer is used.
 */
import { Epm_OPNUMS, Epm_SYNTAX, decodeEpt_mapOut, encodeEpt_mapIn } from '../gen/epm';
import { NIL_UUID } from '../ndr';
import { EPM_TCP_PORT } from '../rpc/constants';
import type { Syntax } from './pdu';
import { RpcClient } from './rpc-client';
import { buildTcpTower, parseTower } from './tower';

export interface EpmLookupOptions {
  readonly port?: number;
  readonly localAddress?: string;
  readonly timeoutMs?: number;
}

export class EpmNotRegistered extends Error {
  constructor(readonly status: number) {
    super(`endpoint mapper: interface not registered (status 0x${status.toString(16)})`);
    this.name = 'EpmNotRegistered';
  }
}

/** The TCP port `iface` is served on at `host`, asked from the endpoint mapper there. */
export async function epmMapTcpPort(host: string, iface: Syntax, opts: EpmLookupOptions = {}): Promise<number> {
  const rpc = await RpcClient.connect({ host, port: opts.port ?? EPM_TCP_PORT, localAddress: opts.localAddress, connectTimeoutMs: opts.timeoutMs });
  try {
    await rpc.bind(Epm_SYNTAX);
    const tower = buildTcpTower(iface);
    const stub = encodeEpt_mapIn({
      object: null,
      map_tower: { tower_length: tower.length, tower_octet_string: tower },
      entry_handle: { attributes: 0, uuid: NIL_UUID },
      max_towers: 1,
    });
    const out = decodeEpt_mapOut(await rpc.call(Epm_OPNUMS.ept_map, stub, { timeoutMs: opts.timeoutMs ?? 10_000 }));
    if (out.status !== 0) throw new EpmNotRegistered(out.status);
    for (const t of out.towers) {
      if (!t) continue;
      const parsed = parseTower(t.tower_octet_string);
      if (parsed.port !== undefined && parsed.port !== 0) return parsed.port;
    }
    throw new EpmNotRegistered(out.status);
  } finally {
    await rpc.close();
  }
}
