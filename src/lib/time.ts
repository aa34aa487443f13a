/**
 * Times held by the ten thousand (per registration, per waiting call, per connection) as
 * small integers: V8 keeps an integer below 2^31 inside the object, while a fraction or an
 * epoch in milliseconds is a 16 B heap number in every field that holds it (memory
 * benchmark, issue 14).
 */

/** Whole milliseconds since the process started (monotonic; a small integer for 24 days). */
export function monotonicMs(): number {
  return Math.floor(performance.now());
}

/** Whole seconds since the epoch (a small integer until 2038). */
export function epochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
