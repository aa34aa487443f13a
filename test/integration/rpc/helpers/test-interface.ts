/**
 * A hand-written RpcInterface for runtime tests (no generated codec involved).
 *  0 echo     → [littleEndian ? 1 : 0] + stub
 *  1 wait     → stub = u32 tag; answered later on release(tag); listens for its abort (then lets go)
 *  2 ndr      → throws an NdrError (bad stub data)
 *  3 boom     → throws a plain Error (server bug)
 *  4 fault    → DispatchFault(0x00001234)
 *  5 big      → stub = u32 n; returns n bytes i & 0xff
 *  6 whoami   → JSON of the call context (identity, level, group, addresses)
 *  7 waitIgnore → stub = u32 tag; answered later on release(tag); does not listen for its abort
 */
import { NdrError } from '../../../../src/ndr/errors';
import type { CallContext } from '../../../../src/rpc/call-context';
import { DispatchFault, NCA_S_OP_RNG_ERROR, type Reply, type RpcCall, type RpcInterface, type SyntaxId } from '../../../../src/ndr/dispatch';

export const TEST_SYNTAX: SyntaxId = { uuid: '5a1e9c3d-7b42-4f0e-9d6a-2c8b1e4f7a90', major: 1, minor: 1 };
export const OTHER_SYNTAX: SyntaxId = { uuid: '87654321-4321-dcba-00fe-ba9876543210', major: 2, minor: 0 };

export class TestInterface implements RpcInterface<CallContext> {
  readonly name: string;
  readonly operationNames = ['echo', 'wait', 'ndr', 'boom', 'fault', 'big', 'whoami', 'waitIgnore'];
  private readonly waiting = new Map<number, Reply<Buffer>>();
  readonly aborted: Array<{ tag: number; reason: unknown }> = [];
  readonly started: number[] = [];
  readonly contexts: CallContext[] = [];

  constructor(readonly syntax: SyntaxId = TEST_SYNTAX, name = 'test') {
    this.name = name;
  }

  /** Number of calls currently parked in wait/waitIgnore. */
  get parked(): number {
    return this.waiting.size;
  }

  release(tag: number, out: Buffer = Buffer.from([tag & 0xff])): void {
    const w = this.waiting.get(tag);
    if (!w) throw new Error(`no call waiting with tag ${tag}`);
    this.waiting.delete(tag);
    w.send(out);
  }

  dispatch(opnum: number, stub: Buffer, call: RpcCall<CallContext>): Buffer | undefined {
    const { littleEndian, context: ctx } = call;
    this.contexts.push(ctx);
    const tag = () => (stub.length >= 4 ? (littleEndian ? stub.readUInt32LE(0) : stub.readUInt32BE(0)) : 0);
    switch (opnum) {
      case 0:
        return Buffer.concat([Buffer.from([littleEndian ? 1 : 0]), stub]);
      case 1:
      case 7: {
        const t = tag();
        this.started.push(t);
        this.waiting.set(t, call.later((out: Buffer) => out));
        if (opnum === 1) {
          ctx.onAbort({
            callAborted: (reason) => {
              this.waiting.delete(t);
              this.aborted.push({ tag: t, reason });
            },
          });
        }
        return undefined;
      }
      case 2:
        throw new NdrError('stub too short', 0, ['ndr.in']);
      case 3:
        throw new Error('boom');
      case 4:
        throw new DispatchFault(0x1234);
      case 5: {
        const n = tag();
        const out = Buffer.alloc(n);
        for (let i = 0; i < n; i++) out[i] = i & 0xff;
        return out;
      }
      case 6:
        return Buffer.from(JSON.stringify({
          identity: ctx.identity ?? null, authLevel: ctx.authLevel, group: ctx.associationGroup.id,
          callId: ctx.callId, connectionId: ctx.connectionId, localPort: ctx.localPort, remoteAddress: ctx.remoteAddress,
        }));
      default:
        throw new DispatchFault(NCA_S_OP_RNG_ERROR);
    }
  }
}

export function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

export function u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
