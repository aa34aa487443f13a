/**
 * "Usually none or one": a list held in one field as `undefined` (empty), the item itself
 * (one), or an array (several). Calls in flight per connection, listeners per call, waiting
 * AsyncNotify calls per registration and queued resource changes are such lists, held by the
 * ten thousand: an empty array each is ~32 B, a one-item array ~56 B, and an array pushed to
 * from empty reserves room for 16 more (memory benchmark, issue 7). Items must not be arrays.
 * A connection's presentation contexts are such a list too, its one context an object shared
 * by every connection (src/rpc/presentation.ts). The empty list handed out is one frozen array.
 *
 *   this.calls = Few.add(this.calls, call); ... this.calls = Few.remove(this.calls, call);
 */
export type Few<T extends object> = T | T[] | undefined;

const NONE: readonly never[] = Object.freeze([]);

export const Few = {
  size<T extends object>(s: Few<T>): number {
    return s === undefined ? 0 : Array.isArray(s) ? s.length : 1;
  },

  /** The items, oldest first (a shared empty list, or a new one-item list, when not an array). */
  list<T extends object>(s: Few<T>): readonly T[] {
    return s === undefined ? NONE : Array.isArray(s) ? s : [s];
  },

  /** The oldest item. */
  first<T extends object>(s: Few<T>): T | undefined {
    return Array.isArray(s) ? s[0] : s;
  },

  find<T extends object>(s: Few<T>, match: (item: T) => boolean): T | undefined {
    if (!Array.isArray(s)) return s !== undefined && match(s) ? s : undefined;
    for (const x of s) if (match(x)) return x;
    return undefined;
  },

  /** The list with `item` appended. */
  add<T extends object>(s: Few<T>, item: T): Few<T> {
    if (s === undefined) return item;
    if (!Array.isArray(s)) return [s, item];
    s.push(item);
    return s;
  },

  /** The list without `item` (the same list when it was not in it). */
  remove<T extends object>(s: Few<T>, item: T): Few<T> {
    if (s === item) return undefined;
    if (!Array.isArray(s)) return s;
    const i = s.indexOf(item);
    if (i < 0) return s;
    s.splice(i, 1);
    return s.length === 0 ? undefined : s.length === 1 ? s[0] : s;
  },

  has<T extends object>(s: Few<T>, item: T): boolean {
    return s === item || (Array.isArray(s) && s.includes(item));
  },
};
