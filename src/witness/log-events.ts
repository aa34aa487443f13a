/**
 * The Witness service's log lines for what happens to registrations after they are made, as
 * one subscriber of its stream: one line per notification, written after the fan-out (a
 * fan-out to thousands of clients must not wait for thousands of log writes: ~70 % of the
 * server's CPU before the first response left was this line, in the fan-out profile), and
 * debug lines for calls that ended unanswered.
 */
import type { Logger } from 'pino';
import { RESOURCE_CHANGE_NOTIFICATION } from '../gen/witness';
import { MESSAGE_TYPE_NAMES, werrName } from './constants';
import type { RegistrationStream } from './stream';

/** Subscribe `log` to `events`; returns the unsubscribe (which writes what is still deferred). */
export function logRegistrationEvents(events: RegistrationStream, log: Logger): () => void {
  const deferred: object[] = [];
  let flushing: NodeJS.Immediate | undefined;
  const flush = (): void => {
    if (flushing) clearImmediate(flushing);
    flushing = undefined;
    for (const rec of deferred.splice(0)) log.info(rec, 'notification');
  };
  const off = events.subscribe((e) => {
    switch (e.type) {
      case 'delivered': {
        if (!log.isLevelEnabled('info')) return;
        const r = e.response;
        const type = r ? MESSAGE_TYPE_NAMES[r.type] ?? `type-${r.type}` : 'NONE';
        const messages = r?.type === RESOURCE_CHANGE_NOTIFICATION ? r.changes : r?.addresses;
        const reg = e.registration;
        deferred.push({ event: 'notification', registration: reg.id, client: reg.clientName, type, forced: e.forced, result: werrName(e.result), messages });
        flushing ??= setImmediate(flush);
        return;
      }
      case 'abandoned':
        log.debug({ op: 'AsyncNotify', registration: e.registration.id, client: e.registration.clientName }, 'AsyncNotify call abandoned');
        return;
      case 'timed-out':
        log.debug({ op: 'AsyncNotify', registration: e.registration.id, client: e.registration.clientName }, 'keep-alive timeout');
        return;
    }
  });
  return () => {
    off();
    flush();
  };
}
