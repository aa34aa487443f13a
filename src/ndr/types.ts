import type { NdrReader } from './reader';
import type { NdrWriter } from './writer';

/**
 * An RPC context handle as it travels (C706 / MS-RPCE 2.2.5.6): 4 bytes of attributes and a
 * 16-byte UUID, 20 bytes on the wire. A NULL handle is attributes 0 and the nil UUID.
 */
export interface ContextHandle {
  attributes: number;
  uuid: string;
}

export const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/**
 * A hand-written codec for one field whose declared IDL type has no pointers. The generator
 * aligns to the declared type's NDR alignment before calling it; the codec must write
 * exactly the bytes the declared type occupies (it changes how the bytes read, not how many).
 */
export interface NdrFieldCodec<T> {
  write(w: NdrWriter, value: T): void;
  read(r: NdrReader): T;
}

/**
 * A hand-written codec for a whole constructed type, split into the two NDR phases like the
 * generated code: scalars (inline part, referent ids) and buffers (deferred pointees).
 * readScalars returns a value that readBuffers completes in place.
 */
export interface NdrTypeCodec<T> {
  writeScalars(w: NdrWriter, value: T): void;
  writeBuffers(w: NdrWriter, value: T): void;
  readScalars(r: NdrReader): T;
  readBuffers(r: NdrReader, value: T): void;
}
