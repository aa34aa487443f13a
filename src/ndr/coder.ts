/**
 * What the NDR reader and writer share: where in the value they are. Generated codecs enter /
 * leave each constructed type (struct, union, array) and name each field (field) or array
 * element (element) as they reach it, one store each. Nothing is unwound when something
 * throws, so the trail still says where, and the one catch at the top (stub.ts) turns it into
 * the NdrError's path: no generated function needs a try/catch or path bookkeeping.
 */
import { NdrError } from './errors';

/**
 * How deep constructed types may nest in one stub. Only recursive types (linked lists) come
 * near it: a hostile chain or a cyclic value ends in an NdrError, not a stack overflow.
 */
export const MAX_DEPTH = 256;

/** The base of NdrReader and NdrWriter: the trail, and the nesting bound that comes with it. */
export abstract class NdrCoder {
  /** Where the coder is in the current construct: a field's name, an array element's index, or '' before either. */
  private current: string | number = '';
  /** The same for each enclosing construct (structs, unions, arrays entered and not left), outermost first. */
  private readonly outer: (string | number)[] = [];

  /** The stub offset errors are reported at. */
  abstract get offset(): number;

  abstract fail(reason: string): never;

  /** Enter a constructed type: a struct, a union or an array (one level deeper in the path). */
  enter(): void {
    if (this.outer.push(this.current) > MAX_DEPTH) this.tooDeep();
    this.current = '';
  }

  private tooDeep(): never {
    return this.fail(`data nested deeper than ${MAX_DEPTH} levels (recursive, or a cycle)`);
  }

  leave(): void {
    this.current = this.outer.pop()!;
  }

  /** The field of the current struct (or the stub parameter, or union arm) coded next. */
  field(name: string): void {
    this.current = name;
  }

  /** The element of the current array coded next. */
  element(index: number): void {
    this.current = index;
  }

  /** Where the coder is, outermost first, e.g. ['InterfaceList', 'InterfaceInfo', '[3]', 'Flags']. */
  path(): string[] {
    const path: string[] = [];
    for (const at of [...this.outer, this.current]) {
      if (typeof at === 'number') path.push(`[${at}]`);
      else if (at !== '') path.push(at);
    }
    return path;
  }

  /**
   * Anything thrown while coding `what` (a stub or a type), as an NdrError at the current
   * offset whose path says where. Only NdrErrors are expected; anything else is a codec bug or
   * a value of the wrong shape, and still becomes an NdrError so that nothing else escapes.
   */
  failure(e: unknown, what: string): NdrError {
    const err = e instanceof NdrError ? e : new NdrError(`internal codec error: ${e instanceof Error ? e.message : String(e)}`, this.offset);
    return err.within(what, ...this.path());
  }
}
