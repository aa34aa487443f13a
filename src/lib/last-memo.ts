/**
 * "The same as last time": the value made for the last key, kept until another key comes. A
 * fan-out asks for one thing ten thousand times in a row (the response stub of one
 * notification, the PDU around it, the shared notification itself), so one remembered entry
 * answers all but the first, with no table to grow or to clear. Keys compare by identity
 * (===): a key object must not change while it is remembered.
 *
 * Measured (callgrind, scripts/bench/fanout-diag.ts, 1,000 waiting AsyncNotify calls, node
 * fail/recover, issue 24): sharing the RESOURCE_CHANGE response and encoding it once instead
 * of per call took the fan-out loop from ~22.9k to ~15.4k instructions per delivery.
 *
 *   const stubs = new LastMemo<Buffer>();
 *   const stub = stubs.get(out, encoder, littleEndian, (o, e, le) => e(o, le));
 */
export class LastMemo<V> {
  private a: unknown = NOTHING;
  private b: unknown = undefined;
  private c: unknown = undefined;
  private value: V | undefined = undefined;

  /** The value for (a, b, c): the remembered one if the keys are the last ones, else make's (then remembered). */
  get<A, B, C>(a: A, b: B, c: C, make: (a: A, b: B, c: C) => V): V {
    if (a === this.a && b === this.b && c === this.c) return this.value as V;
    // Made before the keys are stored: a make that throws leaves nothing remembered.
    const v = make(a, b, c);
    this.a = a;
    this.b = b;
    this.c = c;
    this.value = v;
    return v;
  }

  /** The remembered value if (a, b, c) are the last keys, else undefined. */
  find(a: unknown, b: unknown, c: unknown): V | undefined {
    return a === this.a && b === this.b && c === this.c ? this.value : undefined;
  }

  /** Remember `value` for (a, b, c), in place of the entry before. */
  remember(a: unknown, b: unknown, c: unknown, value: V): void {
    this.a = a;
    this.b = b;
    this.c = c;
    this.value = value;
  }

  /** Forget the entry (its keys and value are no longer held). */
  clear(): void {
    this.a = NOTHING;
    this.b = this.c = this.value = undefined;
  }
}

/** A key no caller has: an empty memo matches nothing. */
const NOTHING = Symbol('nothing remembered');
