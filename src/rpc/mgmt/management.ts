/**
 * The DCE remote management interface (mgmt, afa8bd80-7d8a-11c9-bef4-08002b102989 v1.0,
 * C706 appendix Q) that every listener serves beside its own interfaces, as Windows and Samba
 * do: the generated codec (src/gen/mgmt.ts) on the wire, this file for the answers. MS-SWN
 * 3.2.4.1 product note <11>: Windows Server 2012 R2 and older Witness clients read the server's
 * principal name through rpc__mgmt_inq_princ_name.
 */
import { DispatchFault, type RpcInterface, type SyntaxId } from '../../ndr/dispatch';
import { FaultStatus } from '../constants';
import type { CallContext } from '../call-context';
import type { RpcStats } from '../stats';
import {
  createMgmtInterface, type MgmtServer, type rpc_if_id_t,
  rpc_c_stats_array_max_size, rpc_c_stats_calls_in, rpc_c_stats_calls_out, rpc_c_stats_pkts_in, rpc_c_stats_pkts_out,
} from '../../gen/mgmt';

export { Mgmt_SYNTAX as MGMT_SYNTAX } from '../../gen/mgmt';

/**
 * error_status_t values the interface answers. Windows answers mgmt calls with Win32 codes
 * (as Samba's dcesrv_mgmt.c does with WERRORs), not C706's rpc_s_* numbers.
 */
export const MgmtStatus = {
  OK: 0,
  /** stop_server_listening from the network (Windows and Samba refuse it the same way). */
  ACCESS_DENIED: 5,
  /** The principal name does not fit princ_name_size. */
  INSUFFICIENT_BUFFER: 122,
  /** RPC_S_UNKNOWN_AUTHN_SERVICE: no security provider for that authn_proto. */
  UNKNOWN_AUTHN_SERVICE: 1747,
} as const;

/** What the interface reads from the server it runs in (RpcServer has it all). */
export interface ManagementSource {
  /** The interfaces served on the port a call arrived on (mgmt included). */
  interfacesAt(port: number): readonly SyntaxId[];
  /** The server's principal name for an authentication service (auth_type), if it has one. */
  principalName(authnProto: number): string | undefined;
  readonly stats: RpcStats;
}

const ifId = (s: SyntaxId): rpc_if_id_t => ({ uuid: s.uuid, vers_major: s.major, vers_minor: s.minor });

export function createManagementInterface(source: ManagementSource): RpcInterface<CallContext> {
  const server: MgmtServer<CallContext> = {
    rpc__mgmt_inq_if_ids(_input, ctx) {
      const ids = source.interfacesAt(ctx.localPort).map(ifId);
      return { if_id_vector: { count: ids.length, if_id: ids }, status: MgmtStatus.OK };
    },
    rpc__mgmt_inq_stats(input) {
      const s = source.stats;
      const all = [];
      all[rpc_c_stats_calls_in] = s.callsIn;
      all[rpc_c_stats_calls_out] = s.callsOut;
      all[rpc_c_stats_pkts_in] = s.pktsIn;
      all[rpc_c_stats_pkts_out] = s.pktsOut;
      // The client says how many it has room for; counters wrap as unsigned32.
      const statistics = all.slice(0, Math.min(input.count, rpc_c_stats_array_max_size)).map((n) => n >>> 0);
      return { count: statistics.length, statistics, status: MgmtStatus.OK };
    },
    rpc__mgmt_is_server_listening() {
      return { status: MgmtStatus.OK, ReturnValue: 1 };
    },
    rpc__mgmt_stop_server_listening() {
      return { status: MgmtStatus.ACCESS_DENIED };
    },
    rpc__mgmt_inq_princ_name(input) {
      // princ_name is [string, size_is(princ_name_size)]: even a refusal carries a string (empty),
      // which needs room for its NUL; Samba faults a size of 0 the same way.
      const size = input.princ_name_size;
      if (size < 1) throw new DispatchFault(FaultStatus.BAD_STUB_DATA, 'rpc__mgmt_inq_princ_name: princ_name_size 0');
      const name = source.principalName(input.authn_proto);
      if (name === undefined) return { princ_name: '', princ_name_size: size, status: MgmtStatus.UNKNOWN_AUTHN_SERVICE };
      if (name.length + 1 > size) return { princ_name: '', princ_name_size: size, status: MgmtStatus.INSUFFICIENT_BUFFER };
      return { princ_name: name, princ_name_size: size, status: MgmtStatus.OK };
    },
  };
  return createMgmtInterface(server);
}
