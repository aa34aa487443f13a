import { AssociationGroupTable } from '../../../src/rpc/association-group';
import { DEFAULT_LIMITS, resolveOptions } from '../../../src/rpc/options';
import { AuthLevel } from '../../../src/rpc/security';

/** Connections stand for themselves: any object. */
const conn = Array.from({ length: 9 }, () => ({}));

describe('association groups', () => {
  it('closes once, after the last connection, and tells every listener once', () => {
    const errors: unknown[] = [];
    const t = new AssociationGroupTable((e) => errors.push(e));
    const g = t.create(conn[1]);
    expect(g.id).toBeGreaterThan(0);
    expect(t.find(g.id)).toBe(g);
    expect(g.isClosed).toBe(false);
    g.add(conn[2]);
    g.add(conn[2]);
    const calls: string[] = [];
    g.onClose(() => calls.push('a'));
    const off = g.onClose(() => calls.push('b'));
    g.onClose(() => { throw new Error('listener bug'); });
    off();
    g.remove(conn[1]);
    expect(calls).toEqual([]);
    g.remove(conn[2]);
    g.remove(conn[2]);
    expect(calls).toEqual(['a']);
    expect(errors).toHaveLength(1);
    expect(g.isClosed).toBe(true);
    expect(t.find(g.id)).toBeUndefined();
    expect(t.size).toBe(0);
  });

  it('a listener added after the close is told at once (asynchronously)', async () => {
    const t = new AssociationGroupTable(() => undefined);
    const g = t.create(conn[7]);
    g.remove(conn[7]);
    g.add(conn[8]); // a closed group takes nobody back
    expect(g.isClosed).toBe(true);
    let told = false;
    g.onClose(() => { told = true; });
    expect(told).toBe(false);
    await Promise.resolve();
    expect(told).toBe(true);
  });

  it('gives distinct ids', () => {
    const t = new AssociationGroupTable(() => undefined);
    const ids = new Set(Array.from({ length: 200 }, () => t.create(conn[1]).id));
    expect(ids.size).toBe(200);
  });
});

describe('options', () => {
  it('fills defaults and keeps overrides', () => {
    const o = resolveOptions({ limits: { maxConnections: 5 }, minAuthLevel: AuthLevel.Integrity });
    expect(o.limits).toEqual({ ...DEFAULT_LIMITS, maxConnections: 5 });
    expect(o.minAuthLevel).toBe(AuthLevel.Integrity);
    expect(o.shutdownGraceMs).toBe(2000);
    expect(() => resolveOptions({ minAuthLevel: 9 as AuthLevel })).toThrow(/minAuthLevel/);
    expect(() => resolveOptions({ limits: { unboundIdleMs: Number.NaN } })).toThrow(/unboundIdleMs/);
  });
});
