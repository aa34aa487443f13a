/**
 * The one stream out of the Witness service (STYLE.md §9): what happened to a registration,
 * named once. Metrics, the status page's timeline, the notification log lines and the
 * operator's completion signal subscribe to it; the service grows no hook per observer.
 *
 * A node:diagnostics_channel channel of its own per service (named by a Symbol, so two
 * services in one process never hear each other). Publishers check `active` first: with no
 * subscriber a fan-out to 10,000 registrations makes no event object at all.
 */
import { channel, type Channel } from 'node:diagnostics_channel';
import type { Notification, Owner, RegistrationFacts } from './types';

/** A registration as observers see it (the registry's Registration, read-only). */
export interface Registration extends RegistrationFacts, Owner {
  /** Something is queued for the client's next AsyncNotify. */
  hasPending(): boolean;
}

/**
 * registered   a Register/RegisterEx succeeded
 * waiting      an AsyncNotify call waits for something to tell (the call is held open)
 * queued       a notification was raised while no AsyncNotify call waited: it waits in the
 *              registration's queue for the client's next AsyncNotify
 * delivered    a response was handed to an AsyncNotify call (the RPC runtime writes it next)
 * abandoned    a waiting call ended without an answer (cancelled, orphaned, connection closed)
 * timed-out    a waiting V2 call reached its keep-alive timeout (answered ERROR_TIMEOUT)
 * removed      the registration is gone (UnRegister, association closed, unused, operator, ...)
 */
export type RegistrationEvent =
  | { readonly type: 'registered'; readonly registration: Registration }
  | { readonly type: 'waiting'; readonly registration: Registration }
  | {
      readonly type: 'queued';
      readonly registration: Registration;
      /** The message type's name (RESOURCE_CHANGE, CLIENT_MOVE, ..., FORCED). */
      readonly message: string;
      readonly detail: string;
      /** performance.now() when the raising began (the cluster event's handling, the operator's force). */
      readonly raisedAt: number;
    }
  | {
      readonly type: 'delivered';
      readonly registration: Registration;
      /** Undefined: a NULL response (a forced result without one). */
      readonly response: Notification | undefined;
      readonly forced: boolean;
      /** The WERROR result. */
      readonly result: number;
      /** performance.now() when the raising that delivered it began; undefined when a call took it from the queue. */
      readonly raisedAt: number | undefined;
      /** performance.now() at the delivery (absent: when the event is heard; it may be heard later: hold()). */
      readonly deliveredAt?: number;
    }
  | { readonly type: 'abandoned'; readonly registration: Registration }
  | { readonly type: 'timed-out'; readonly registration: Registration }
  | { readonly type: 'removed'; readonly registration: Registration; readonly reason: string };

export type RegistrationEventType = RegistrationEvent['type'];

export class RegistrationStream {
  private readonly ch: Channel = channel(Symbol('witnessd.registrations'));
  /** Events published while hold() runs, in order; undefined when not holding. */
  private held: RegistrationEvent[] | undefined = undefined;

  /** Someone listens: only then is an event made (the fan-out's hot path asks this first). */
  get active(): boolean {
    return this.ch.hasSubscribers;
  }

  publish(e: RegistrationEvent): void {
    if (this.held) this.held.push(e);
    else this.ch.publish(e);
  }

  /**
   * Run `fn` with what it publishes held back, then published in order as soon as it returns
   * (or throws): a fan-out issues every response's write before its observers (metrics, the
   * status page, the logs) hear of the first one. Observers hear the same events in the same
   * order, later within the same turn; what they must know of the moment comes with the event
   * (a delivery's deliveredAt). Nested holds are one hold.
   *
   * Measured (callgrind, scripts/bench/fanout-diag.ts, 1,000 clients, issue 24): the fan-out
   * loop (the writes; the observers after it) went from 12.3k to 10.9k instructions per delivery.
   */
  hold<T>(fn: () => T): T {
    if (this.held) return fn();
    const held: RegistrationEvent[] = (this.held = []);
    try {
      return fn();
    } finally {
      this.held = undefined;
      for (let i = 0; i < held.length; i++) this.ch.publish(held[i]);
    }
  }

  /** Events in the order they happen, synchronously; returns the unsubscribe. */
  subscribe(listener: (e: RegistrationEvent) => void): () => void {
    const handler = (m: unknown): void => listener(m as RegistrationEvent);
    this.ch.subscribe(handler);
    return () => {
      this.ch.unsubscribe(handler);
    };
  }
}
