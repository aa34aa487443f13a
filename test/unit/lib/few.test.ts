import { Few } from '../../../src/lib/few';

describe('Few: a usually-empty-or-one list in one field', () => {
  const a = { n: 1 };
  const b = { n: 2 };
  const c = { n: 3 };

  test('empty is undefined, one is the item itself, several an array', () => {
    let s: Few<{ n: number }>;
    expect(Few.size(s)).toBe(0);
    expect(Few.list(s)).toEqual([]);
    s = Few.add(s, a);
    expect(s).toBe(a);
    expect(Few.size(s)).toBe(1);
    s = Few.add(s, b);
    expect(Array.isArray(s)).toBe(true);
    s = Few.add(s, c);
    expect(Few.list(s)).toEqual([a, b, c]);
    expect(Few.first(s)).toBe(a);
  });

  test('remove keeps the order and goes back to one item, then to undefined', () => {
    let s: Few<{ n: number }> = Few.add(Few.add(Few.add(undefined, a), b), c);
    s = Few.remove(s, b);
    expect(Few.list(s)).toEqual([a, c]);
    s = Few.remove(s, a);
    expect(s).toBe(c);
    expect(Few.remove(s, a)).toBe(c); // not in it: unchanged
    expect(Few.remove(s, c)).toBeUndefined();
  });

  test('find and has look at one item or all', () => {
    expect(Few.find(a, (x) => x.n === 1)).toBe(a);
    expect(Few.find(a, (x) => x.n === 2)).toBeUndefined();
    expect(Few.find([a, b], (x) => x.n === 2)).toBe(b);
    expect(Few.find(undefined, () => true)).toBeUndefined();
    expect(Few.has([a, b], b)).toBe(true);
    expect(Few.has(a, b)).toBe(false);
  });

  test('the empty list handed out is shared and frozen', () => {
    expect(Few.list(undefined)).toBe(Few.list(undefined));
    expect(Object.isFrozen(Few.list(undefined))).toBe(true);
  });
});
