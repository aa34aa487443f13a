/**
 * The Witness service as witnessd assembles it:
 *   const w = createWitnessService({ model, logger, onResult, options }); w.events.subscribe(...);
 *   rpcServer.listen({ ..., interfaces: [w.rpcInterface] }); startAdminServer({ witness: w.admin, ... });
 *   ... w.close();
 *
 * Inside: service.ts the operations; registry.ts the registrations, their AsyncNotify queue
 * and waiting calls; events.ts cluster events → notifications; adapter.ts wire ↔ domain;
 * types.ts the domain shapes (the Registration shape once); constants.ts what the IDL lacks.
 */
import type { Logger } from 'pino';
import type { WitnessAdminPort } from './admin-port';
import type { ClusterModelView } from '../cluster/types';
import { createWitnessInterface } from '../gen/witness';
import type { RpcInterface } from '../ndr/dispatch';
import type { CallContext } from '../rpc/call-context';
import { createWitnessServer, type ResultHook } from './adapter';
import type { Clock } from './clock';
import type { LogLimiter } from '../lib/log-limit';
import { logRegistrationEvents } from './log-events';
import { WitnessService, type WitnessOptions } from './service';
import type { RegistrationStream } from './stream';

export interface CreateWitnessServiceOptions {
  readonly model: ClusterModelView;
  readonly logger: Logger;
  /** Told each operation's WERROR result (metrics); registrations' events are the stream's (handle.events). */
  readonly onResult?: ResultHook;
  readonly options?: Partial<WitnessOptions>;
  readonly clock?: Clock;
  /** The rate limit of lines a client causes (the daemon's one limiter); default: the service's own. */
  readonly logLimiter?: LogLimiter;
}

export interface WitnessServiceHandle {
  readonly service: WitnessService;
  readonly rpcInterface: RpcInterface<CallContext>;
  readonly admin: WitnessAdminPort;
  /** The one stream out of the service: metrics, the status page and logs subscribe (its notification log lines already do). */
  readonly events: RegistrationStream;
  close(): void;
}

export function createWitnessService(o: CreateWitnessServiceOptions): WitnessServiceHandle {
  const service = new WitnessService({ model: o.model, logger: o.logger, options: o.options, clock: o.clock, logLimiter: o.logLimiter });
  const offLog = logRegistrationEvents(service.events, o.logger);
  const rpcInterface = createWitnessInterface<CallContext>(createWitnessServer(service, o.onResult));
  const admin: WitnessAdminPort = service;
  return {
    service, rpcInterface, admin, events: service.events,
    close: () => {
      service.close();
      offLog();
    },
  };
}

export { WitnessService, DEFAULT_WITNESS_OPTIONS } from './service';
export type { WitnessOptions, RegistrationFilter, WitnessCounts } from './service';
export { RegistrationStream, type RegistrationEvent, type RegistrationEventType } from './stream';
export { ManualClock, systemClock } from './clock';
export type { Clock } from './clock';
