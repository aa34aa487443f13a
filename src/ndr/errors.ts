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

  /** Prepend path elements (outermost first): where the error happened, told from outside. */
  within(...elements: string[]): this {
    this.path.unshift(...elements);
    this.refreshMessage();
    return this;
  }

  private refreshMessage(): void {
    const where = this.path.length ? ` in ${this.path.join('.').replace(/\.\[/g, '[')}` : '';
    this.message = `${this.reason} at offset ${this.offset}${where}`;
  }
}
