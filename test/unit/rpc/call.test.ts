import { CallAborted, type CallAbortListener } from '../../../src/rpc/call-context';
import { type CallOrigin, Reassembly, ServerCall } from '../../../src/rpc/call';
import { DEFAULT_LIMITS } from '../../../src/rpc/options';
import type { PduHeader } from '../../../src/rpc/pdu';
import type { PresentationContext } from '../../../src/rpc/presentation';

const pc = { id: 3, iface: { name: 'test' }, abstractSyntax: { uuid: '', major: 1, minor: 0 }, ndr64: false } as unknown as PresentationContext;

function origin(): CallOrigin & { answers: Buffer[]; errors: unknown[]; deferred: ServerCall[] } {
  const o = {
    id: 7, associationGroup: undefined,
    stream: { localAddress: '127.0.0.11', localPort: 49152, remoteAddress: '127.0.0.1', remotePort: 40000 },
    answers: [] as Buffer[], errors: [] as unknown[], deferred: [] as ServerCall[],
    callDeferred: (c: ServerCall) => o.deferred.push(c),
    answer: (_c: ServerCall, stub: Buffer) => o.answers.push(stub),
    answerError: (_c: ServerCall, err: unknown) => o.errors.push(err),
  };
  return o;
}

describe('ServerCall', () => {
  it('keeps what the request decided, the opnum and flags packed, and reads addresses from its connection', () => {
    const o = origin();
    for (const [opnum, littleEndian, noReply] of [[0, true, false], [0xffff, false, true], [12, true, true]] as const) {
      const c = new ServerCall(o, { callId: 0xfffffffe, pc, opnum, littleEndian, auth: undefined, noReply });
      expect([c.callId, c.opnum, c.littleEndian, c.noReply, c.done, c.contextId]).toEqual([0xfffffffe, opnum, littleEndian, noReply, false, 3]);
      c.done = true;
      expect([c.opnum, c.littleEndian, c.noReply, c.done]).toEqual([opnum, littleEndian, noReply, true]);
    }
    const c = new ServerCall(o, { callId: 1, pc, opnum: 1, littleEndian: true, auth: undefined, noReply: false });
    expect([c.connectionId, c.localAddress, c.localPort, c.remoteAddress, c.remotePort]).toEqual([7, '127.0.0.11', 49152, '127.0.0.1', 40000]);
  });

  it('tells each abort listener once, at once when added after the abort, and remembers that one listened', () => {
    const c = new ServerCall(origin(), { callId: 1, pc, opnum: 0, littleEndian: true, auth: undefined, noReply: false });
    const told: string[] = [];
    const l = (name: string): CallAbortListener => ({ callAborted: (r) => told.push(`${name}:${r.kind}`) });
    expect(c.listened).toBe(false);
    c.onAbort(l('a'));
    c.onAbort(l('b'));
    expect(c.listened).toBe(true);
    c.abort(new CallAborted('cancel'));
    c.abort(new CallAborted('closed'));
    c.onAbort(l('late'));
    expect(told).toEqual(['a:cancel', 'b:cancel', 'late:cancel']);
    expect(c.listened).toBe(true);
  });

  it('answers later through its connection with the encoder later() was given', () => {
    const o = origin();
    const c = new ServerCall(o, { callId: 1, pc, opnum: 0, littleEndian: false, auth: undefined, noReply: false });
    const reply = c.later((out: number, le: boolean) => Buffer.from([out, le ? 1 : 0]));
    expect(c.deferred).toBe(true);
    expect(o.deferred).toEqual([c]);
    reply.send(9);
    expect(o.answers).toEqual([Buffer.from([9, 0])]);
  });
});

describe('Reassembly', () => {
  const first = { callId: 5, drep: 0x10000000, le: true } as PduHeader;
  const init = { callId: 5, pc, opnum: 0, littleEndian: true, auth: undefined, noReply: false };

  it('keeps copies of the fragments and gives the whole stub in order', () => {
    const r = new Reassembly(first, init);
    const a = Buffer.from('abc');
    expect(r.add(a, DEFAULT_LIMITS)).toBe(true);
    a.fill(0); // the receive buffer is reused: the kept bytes must not change
    expect(r.add(Buffer.from('de'), DEFAULT_LIMITS)).toBe(true);
    expect(r.length).toBe(5);
    expect(r.stub().toString()).toBe('abcde');
  });

  it('has maxRequestSize as its budget (one call in reassembly per connection) and refuses the fragment that passes it', () => {
    const limits = { ...DEFAULT_LIMITS, maxRequestSize: 8 };
    expect(Reassembly.budget(limits)).toBe(8);
    expect(Reassembly.budget({ ...limits, maxRequestSize: 32 })).toBe(32);
    const r = new Reassembly(first, init);
    expect(r.add(Buffer.alloc(8, 1), limits)).toBe(true);
    expect(r.add(Buffer.alloc(1, 2), limits)).toBe(false);
    expect(r.stub()).toEqual(Buffer.alloc(8, 1));
  });
});
