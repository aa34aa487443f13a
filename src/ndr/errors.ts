/**
 * The one error type the NDR runtime and generated codecs raise for bad stub data (on
 * decode) or for a value that cannot be represented (on encode). It carries the stub
 * offset where the problem was seen and the field path, outermost first, so a hostile
 * or truncated stub can be diagnosed without a debugger.
 */
export class NdrError extends Error {
  /** Field path, outermost first, e.g. ['WitnessrGetInterfaceList.out', 'InterfaceList', 'InterfaceInfo', '[3]', 'Flags']. */
  readonly path: string[];
  constructor(readonly reason: string, readonly offset: number, path: string[] = []) {
    super('');
    this.name = 'NdrError';
    this.path = path;
    this.refreshMessage();
  }

  /** Prepend a path element while the error unwinds through enclosing constructs. */
  within(element: string): this {
    this.path.unshift(element);
    this.refreshMessage();
    return this;
  }

  private refreshMessage(): void {
    const where = this.path.length ? ` in ${this.path.join('.').replace(/\.\[/g, '[')}` : '';
    this.message = `${this.reason} at offset ${this.offset}${where}`;
  }
}

/**
 * Turn anything thrown while coding into an NdrError with the given path element.
 * Generated code wraps each construct with this so that no other exception type escapes
 * (a RangeError from a Buffer call would otherwise leak through on a runtime bug).
 */
export function ndrWithin(e: unknown, element: string, offset: number): NdrError {
  if (e instanceof NdrError) return e.within(element);
  const msg = e instanceof Error ? e.message : String(e);
  return new NdrError(`internal codec error: ${msg}`, offset, [element]);
}
