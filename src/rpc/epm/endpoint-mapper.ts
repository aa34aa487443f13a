/**
 * The endpoint mapper (ept, e1af8308-5d1f-11c9-91a4-08002b14a0fa v3.0) as an interface like
 * any other: the generated codec (src/gen/epm.ts) on the wire, EndpointMap for the answers.
 * ept_insert and ept_delete are refused from the network (access denied).
 */
import type { RpcInterface } from '../../ndr/dispatch';
import type { CallContext } from '../call-context';
import type { RpcEndpoint } from '../server';
import {
  createEpmInterface, type EpmServer, type ept_entry_t, type twr_t,
} from '../../gen/epm';
import { EndpointMap, EpmStatus, NIL_UUID } from './endpoint-map';

export { EpmStatus } from './endpoint-map';
export { Epm_SYNTAX as EPM_SYNTAX } from '../../gen/epm';

const nilHandle = () => ({ attributes: 0, uuid: NIL_UUID });

function twr(octets: Buffer): twr_t {
  return { tower_length: octets.length, tower_octet_string: octets };
}

/** What the endpoint mapper needs to know: the endpoints to advertise (RpcServer has it). */
export interface EndpointSource {
  endpoints(): readonly RpcEndpoint[];
}

export interface EndpointMapperInterface extends RpcInterface<CallContext> {
  /** The database behind the interface (open lookup handles, for tests and metrics). */
  readonly map: EndpointMap;
}

export function createEndpointMapper(source: EndpointSource): EndpointMapperInterface {
  const map = new EndpointMap(() => source.endpoints());
  const server: EpmServer<CallContext> = {
    ept_insert() {
      return { status: EpmStatus.ACCESS_DENIED };
    },
    ept_delete() {
      return { status: EpmStatus.ACCESS_DENIED };
    },
    ept_lookup(input, ctx) {
      const r = map.lookup(ctx.associationGroup, {
        inquiryType: input.inquiry_type,
        object: input.object ?? undefined,
        ifId: input.interface_id ? { uuid: input.interface_id.uuid, major: input.interface_id.vers_major, minor: input.interface_id.vers_minor } : undefined,
        versOption: input.vers_option,
        handle: input.entry_handle.uuid,
        maxEnts: input.max_ents,
        localAddress: ctx.localAddress,
      });
      const entries: ept_entry_t[] = r.entries.map((e) => ({
        object: e.object, tower: twr(e.tower), annotation: e.annotation.slice(0, 63),
      }));
      return { entry_handle: { attributes: 0, uuid: r.handle }, num_ents: entries.length, entries, status: r.status };
    },
    ept_map(input, ctx) {
      const tower = input.map_tower ? input.map_tower.tower_octet_string : undefined;
      const r = map.map(tower, input.max_towers, ctx.localAddress);
      return { entry_handle: nilHandle(), num_towers: r.towers.length, towers: r.towers.map(twr), status: r.status };
    },
    ept_lookup_handle_free(input, ctx) {
      return { entry_handle: nilHandle(), status: map.freeHandle(ctx.associationGroup, input.entry_handle.uuid) };
    },
  };
  return Object.assign(createEpmInterface(server), { map });
}
