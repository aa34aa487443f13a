/**
 * Public API of the DCE/RPC runtime: a server that serves any RpcInterface<CallContext> over
 * ncacn_ip_tcp, the endpoint mapper, and the numbers a service may need.
 *
 *   const rpc = new RpcServer({ logger, minAuthLevel: AuthLevel.Integrity, limits: {...},
 *                               securityProviders: [ntlmssp, spnego] });
 *   const witness = await rpc.listen({ address: ['0.0.0.0', '::'], port: 0, interfaces: [witnessIface], name: 'witness' });
 *   // The endpoint mapper answers anonymous lookups whatever the server's minimum level:
 *   await rpc.listen({ address: ['0.0.0.0', '::'], port: 135, name: 'epmapper',
 *                      interfaces: [{ iface: createEndpointMapper(rpc), minAuthLevel: AuthLevel.None }] });
 *   ...
 *   await rpc.close(); // pending calls are told (ctx.onAbort, CallAborted 'shutdown') and answered or faulted
 */
export { RpcServer } from './server';
export type { ListenOptions, RpcEndpoint, ServedInterface } from './server';
export { DEFAULT_LIMITS } from './options';
export type { RpcServerOptions, RpcLimits } from './options';
export type { CallContext, CallAbortListener, AssociationGroupRef } from './call-context';
export { CallAborted, abortSignalOf } from './call-context';
export { FaultStatus, BindNakReason, NDR_SYNTAX, NDR64_SYNTAX, faultName } from './constants';
export { AuthLevel, AuthType, AuthRejected, IntegrityError, principalName } from './security';
export type { SecurityProvider, SecurityContext, Identity, AcceptResult, ConnectionInfo } from './security';
export { DispatchFault, NCA_S_OP_RNG_ERROR } from '../ndr/dispatch';
export type { Reply, RpcCall, RpcInterface, SyntaxId } from '../ndr/dispatch';
export { createEndpointMapper, EpmStatus, EPM_SYNTAX } from './epm/endpoint-mapper';
// Every listener also serves the DCE management interface (mgmt) on its own.
export { MGMT_SYNTAX, MgmtStatus } from './mgmt/management';
export type { RpcStats } from './stats';
export type { EndpointMapperInterface, EndpointSource } from './epm/endpoint-mapper';
