export { NdrError, ndrWithin } from './errors';
export { NdrReader } from './reader';
export { NdrWriter } from './writer';
export { isGuidText, readGuid, writeGuid } from './guid';
export type { ContextHandle, NdrFieldCodec, NdrTypeCodec } from './types';
export { NIL_UUID } from './types';
export type { RpcInterface, SyntaxId } from './dispatch';
export { DispatchFault, NCA_S_OP_RNG_ERROR } from './dispatch';
