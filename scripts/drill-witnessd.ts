/**
 * witnessd assembled in-process (model + Witness service + RpcServer with the endpoint
 * mapper + admin API) for the drill and the Witness integration tests. The daemon proper is
 * src/cli/witnessd.ts; this one binds dynamic ports so it runs without root beside others.
 */
import type { Logger } from 'pino';
import pino from 'pino';
import { startAdminServer, type AdminServer } from '../src/admin/server';
import { WitnessdMetrics, witnessMetricsSink } from '../src/admin/metrics';
import { demoConfig, type WitnessdConfig } from '../src/cluster/config';
import { ClusterModel } from '../src/cluster/model';
import { RpcServer } from '../src/rpc';
import { createEndpointMapper } from '../src/rpc/epm/endpoint-mapper';
import { createWitnessService, type WitnessServiceHandle, type WitnessOptions } from '../src/witness';
import type { Clock } from '../src/witness/clock';
import type { WitnessClientOptions } from '../src/client/witness-client';

export interface TestWitnessd {
  readonly model: ClusterModel;
  readonly witness: WitnessServiceHandle;
  readonly rpc: RpcServer;
  readonly metrics: WitnessdMetrics;
  readonly admin: AdminServer;
  readonly adminUrl: string;
  readonly epmPort: number;
  readonly witnessPort: number;
  readonly addresses: readonly string[];
  /** What a WitnessClient needs to find this instance (its EPM port). */
  readonly clientBase: Partial<WitnessClientOptions>;
  close(): Promise<void>;
}

export interface TestWitnessdOptions {
  readonly config?: WitnessdConfig;
  readonly logger?: Logger;
  readonly witnessOptions?: Partial<WitnessOptions>;
  readonly clock?: Clock;
  /** Default 0 (dynamic); 135 for rpcclient inside a private network namespace. */
  readonly epmPort?: number;
}

export async function startTestWitnessd(o: TestWitnessdOptions = {}): Promise<TestWitnessd> {
  const logger = o.logger ?? pino({ level: 'silent' });
  const config = o.config ?? demoConfig();
  const model = new ClusterModel(config, { logger });
  const metrics = new WitnessdMetrics();
  const witness = createWitnessService({
    model,
    logger: logger.child({ room: 'witness' }),
    metrics: { ...witnessMetricsSink(metrics), operationResult: (operation, result) => metrics.witnessResults.inc({ operation, result: `0x${result.toString(16)}` }) },
    options: {
      unusedTimeoutMs: config.timeouts.unusedRegistrationSeconds * 1000,
      keepAliveMaxSeconds: config.timeouts.keepAliveMaxSeconds,
      ...o.witnessOptions,
    },
    clock: o.clock,
  });
  const rpc = new RpcServer({ logger: logger.child({ room: 'rpc' }) });
  const addresses = [...config.listener.addresses];
  let admin: AdminServer | undefined;
  try {
    const w = await rpc.listen({ address: addresses, port: 0, interfaces: [witness.rpcInterface], name: 'witness' });
    const e = await rpc.listen({ address: addresses, port: o.epmPort ?? 0, interfaces: [createEndpointMapper(rpc)], name: 'epmapper' });
    admin = await startAdminServer({ model, witness: witness.admin, metrics, config, logger: logger.child({ room: 'admin' }), address: '127.0.0.1:0' });
    const a = admin;
    return {
      model,
      witness,
      rpc,
      metrics,
      admin: a,
      adminUrl: a.url,
      epmPort: e.port,
      witnessPort: w.port,
      addresses,
      clientBase: { epmPort: e.port },
      async close() {
        witness.close();
        await Promise.all([rpc.close(), a.close()]);
      },
    };
  } catch (err) {
    witness.close();
    await rpc.close();
    await admin?.close();
    throw err;
  }
}
