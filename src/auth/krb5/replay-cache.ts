/**
 * The acceptor's replay cache (RFC 4120 §3.2.3): authenticators seen within the clock-skew
 * window. An entry can only matter while its ctime is within the skew of now (older ones
 * fail the skew check anyway), so entries expire then; the map is insertion-ordered, which is
 * close to ctime order, and bounded: when full, the oldest entry goes first.
 */
export class ReplayCache {
  private readonly seen = new Map<string, number>();
  /** Entries evicted while still inside their window (the cache was too small for the load). */
  evictedEarly = 0;

  constructor(private readonly max: number) {
    if (!(max >= 1)) throw new RangeError('replay cache size must be at least 1');
  }

  get size(): number {
    return this.seen.size;
  }

  /** Record `key` (valid until `expiresAt`, ms); false when it was already there: a replay. */
  checkAndAdd(key: string, expiresAt: number, now: number): boolean {
    this.prune(now);
    const prev = this.seen.get(key);
    if (prev !== undefined && prev > now) return false;
    if (this.seen.size >= this.max) {
      const oldest = this.seen.keys().next().value as string;
      this.seen.delete(oldest);
      this.evictedEarly++;
    }
    this.seen.set(key, expiresAt);
    return true;
  }

  private prune(now: number): void {
    // Bounded work per call: expired entries cluster at the front.
    let n = 0;
    for (const [k, exp] of this.seen) {
      if (exp > now || n++ >= 64) break;
      this.seen.delete(k);
    }
  }
}
