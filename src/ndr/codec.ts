/**
 * The shapes of hand-written codecs, for what plain NDR cannot express (a conformance file's
 * FIELD and TYPE lines point the generator at them; src/ndr/overrides/ has the ones in use).
 */
import type { NdrReader } from './reader';
import type { NdrWriter } from './writer';

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
 * readScalars returns what the buffers phase needs (`S`: the referent ids and counts read so
 * far), readBuffers turns it into the value.
 */
export interface NdrTypeCodec<T, S = T> {
  writeScalars(w: NdrWriter, value: T): void;
  writeBuffers(w: NdrWriter, value: T): void;
  readScalars(r: NdrReader): S;
  readBuffers(r: NdrReader, scalars: S): T;
}
