/**
 * What the NDR reader and writer share: where in the value they are. Generated codecs name
 * each field as they reach it (field), each array element (element), and enter / leave each
 * constructed type; nothing is unwound on the way out, so when anything throws, the trail
 * still says where, and the one catch at the top (stub.ts) turns it into the NdrError's path.
 * No generated function needs a try/catch or path bookkeeping of its own.
 */
import { NdrError } from './errors';

/**
 * How deep constructed types may nest in one stub. Only recursive types (linked lists) come
 * near it: a hostile chain or a cyclic value ends in an NdrError, not a stack overflow.
 */
export const MAX_DEPTH = 256;

/** The base of NdrReader and NdrWriter: the trail, and the nesting bound that comes with it. */
export abstract class NdrCoder {
  /** Constructed types entered and not left: 0 while coding the stub's parameters. */
  private level = 0;
  /** The field being coded at the current level ('' before the first) and its array element (-1: none). */
  private fieldName = '';
  private elementIndex = -1;
  /** The same for each enclosing level, saved by enter() and restored by leave(). */
  private readonly outerFields: string[] = [];
  private readonly outerElements: number[] = [];

  /** The stub offset errors are reported at. */
  abstract get offset(): number;

  abstract fail(reason: string): never;

  /** Enter a constructed type (one level deeper in the path). */
  enter(): void {
    const level = this.level;
    if (level >= MAX_DEPTH) this.fail(`data nested deeper than ${MAX_DEPTH} levels (recursive, or a cycle)`);
    this.outerFields[level] = this.fieldName;
    this.outerElements[level] = this.elementIndex;
    this.level = level + 1;
    this.fieldName = '';
    this.elementIndex = -1;
  }

  leave(): void {
    const level = --this.level;
    this.fieldName = this.outerFields[level];
    this.elementIndex = this.outerElements[level];
  }

  /** The field of the current construct (or the stub parameter) coded next. */
  field(name: string): void {
    this.fieldName = name;
    this.elementIndex = -1;
  }

  /** The element of the current field's array coded next. */
  element(index: number): void {
    this.elementIndex = index;
  }

  /** Where the coder is, outermost first, e.g. ['InterfaceList', 'InterfaceInfo', '[3]', 'Flags']. */
  path(): string[] {
    const path: string[] = [];
    const add = (name: string, index: number): void => {
      if (name !== '') path.push(name);
      if (index >= 0) path.push(`[${index}]`);
    };
    for (let l = 0; l < this.level; l++) add(this.outerFields[l], this.outerElements[l]);
    add(this.fieldName, this.elementIndex);
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
