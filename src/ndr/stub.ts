/**
 * Coding one stub: the parameters of one operation's request or response, in NDR 2.0
 * (NdrStubCodec) or NDR64 (NdrStubCodec64). A generated module makes one per operation,
 * direction and transfer syntax from its write/read functions; what is the same for all of
 * them lives here: the writer's starting size, and the one catch that turns anything thrown
 * into an NdrError naming the stub and the field (the trail, coder.ts). Tests and tools also
 * code a single named type this way.
 */
import { NdrReader64, NdrWriter64 } from './ndr64';
import { NdrReader } from './reader';
import { NdrWriter } from './writer';

/** A size hint above this is not kept: one huge stub must not make every later encode huge. */
const MAX_SIZE_HINT = 0x100000;

export class NdrStubCodec<T> {
  /** Start the next encode with room for the largest stub so far (growing costs more than the bytes). */
  private sizeHint = 256;

  /** `name` starts the path of every error, e.g. 'WitnessrRegister.in'. */
  constructor(
    readonly name: string,
    private readonly write: (w: NdrWriter, value: T) => void,
    private readonly read: (r: NdrReader) => T,
  ) {}

  protected writer(littleEndian: boolean, size: number): NdrWriter {
    return new NdrWriter(littleEndian, size);
  }

  protected reader(stub: Buffer, littleEndian: boolean): NdrReader {
    return new NdrReader(stub, littleEndian);
  }

  encode(value: T, littleEndian = true): Buffer {
    const w = this.writer(littleEndian, this.sizeHint);
    try {
      this.write(w, value);
    } catch (e) {
      throw w.failure(e, this.name);
    }
    const stub = w.finish();
    if (stub.length > this.sizeHint && stub.length <= MAX_SIZE_HINT) this.sizeHint = stub.length;
    return stub;
  }

  decode(stub: Buffer, littleEndian = true): T {
    const r = this.reader(stub, littleEndian);
    try {
      return this.read(r);
    } catch (e) {
      throw r.failure(e, this.name);
    }
  }
}

/** The same in NDR64 (MS-RPCE 2.2.5): 8-byte referent ids and counts (ndr64.ts). */
export class NdrStubCodec64<T> extends NdrStubCodec<T> {
  protected override writer(littleEndian: boolean, size: number): NdrWriter {
    return new NdrWriter64(littleEndian, size);
  }

  protected override reader(stub: Buffer, littleEndian: boolean): NdrReader {
    return new NdrReader64(stub, littleEndian);
  }
}
