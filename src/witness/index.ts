/**
 * The Witness service as witnessd assembles it:
 *   const w = createWitnessService({ model, logger, metrics, options });
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
import { WitnessService, type WitnessActivity, type WitnessMetrics, type WitnessOptions } from './service';

export interface CreateWitnessServiceOptions {
  readonly model: ClusterModelView;
  readonly logger: Logger;
  /** Push hooks (admin's witnessMetricsSink fits), plus an optional per-operation result hook. */
  readonly metrics?: WitnessMetrics & { operationResult?: ResultHook };
  /** Operator views (the status page's timeline). */
  readonly activity?: WitnessActivity;
  readonly options?: Partial<WitnessOptions>;
  readonly clock?: Clock;
  /** The rate limit of lines a client causes (the daemon's one limiter); default: the service's own. */
  readonly logLimiter?: LogLimiter;
}

export interface WitnessServiceHandle {
  readonly service: WitnessService;
  readonly rpcInterface: RpcInterface<CallContext>;
  readonly admin: WitnessAdminPort;
  close(): void;
}

export function createWitnessService(o: CreateWitnessServiceOptions): WitnessServiceHandle {
  const service = new WitnessService({ model: o.model, logger: o.logger, metrics: o.metrics, activity: o.activity, options: o.options, clock: o.clock, logLimiter: o.logLimiter });
  const rpcInterface = createWitnessInterface<CallContext>(createWitnessServer(service, o.metrics?.operationResult));
  const admin: WitnessAdminPort = service;
  return { service, rpcInterface, admin, close: () => service.close() };
}

export { WitnessService, DEFAULT_WITNESS_OPTIONS } from './service';
export type { WitnessOptions, WitnessMetrics, WitnessActivity, DeliveredNotification, RegistrationFilter, WitnessCounts } from './service';
export { ManualClock, systemClock } from './clock';
export type { Clock } from './clock';
