/**
 * An RPC context handle as it travels (C706 / MS-RPCE 2.2.5.6): 4 bytes of attributes and a
 * 16-byte UUID, 20 bytes on the wire. A NULL handle is attributes 0 and the nil UUID.
 */
export interface ContextHandle {
  attributes: number;
  uuid: string;
}

export const NIL_UUID = '00000000-0000-0000-0000-000000000000';
