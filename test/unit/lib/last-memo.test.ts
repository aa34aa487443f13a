import { LastMemo } from '../../../src/lib/last-memo';

describe('LastMemo', () => {
  it('makes a value once for the same keys in a row', () => {
    const m = new LastMemo<{ n: number }>();
    let made = 0;
    const make = (a: object, b: number, c: boolean) => ({ n: ++made + b + (c ? 100 : 0) + (a ? 0 : 1) });
    const key = {};
    const first = m.get(key, 1, true, make);
    expect(m.get(key, 1, true, make)).toBe(first);
    expect(made).toBe(1);
  });

  it('makes a new value when any key differs, by identity', () => {
    const m = new LastMemo<string>();
    let made = 0;
    const make = () => `v${++made}`;
    const key = { x: 1 };
    expect(m.get(key, 'b', 1, make)).toBe('v1');
    expect(m.get({ x: 1 }, 'b', 1, make)).toBe('v2'); // an equal but other object
    expect(m.get(key, 'b', 1, make)).toBe('v3'); // only the last entry is kept
    expect(m.get(key, 'c', 1, make)).toBe('v4');
    expect(m.get(key, 'c', 2, make)).toBe('v5');
    expect(m.get(key, 'c', 2, make)).toBe('v5');
  });

  it('matches undefined keys (an empty memo does not)', () => {
    const m = new LastMemo<number>();
    let made = 0;
    expect(m.get(undefined, undefined, undefined, () => ++made)).toBe(1);
    expect(m.get(undefined, undefined, undefined, () => ++made)).toBe(1);
    m.clear();
    expect(m.get(undefined, undefined, undefined, () => ++made)).toBe(2);
  });

  it('remembers nothing when make throws', () => {
    const m = new LastMemo<number>();
    const key = {};
    expect(() => m.get(key, 0, 0, () => {
      throw new Error('no');
    })).toThrow('no');
    expect(m.get(key, 0, 0, () => 7)).toBe(7);
  });
});

describe('LastMemo find and remember', () => {
  it('finds only what was remembered for the last keys', () => {
    const m = new LastMemo<string>();
    const key = {};
    expect(m.find(key, 1, undefined)).toBeUndefined();
    m.remember(key, 1, undefined, 'x');
    expect(m.find(key, 1, undefined)).toBe('x');
    expect(m.find(key, 2, undefined)).toBeUndefined();
    expect(m.get(key, 1, undefined, () => 'y')).toBe('x');
    m.remember({}, 1, undefined, 'z');
    expect(m.find(key, 1, undefined)).toBeUndefined();
  });
});
