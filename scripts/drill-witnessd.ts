/**
 * witnessd for the drill and the Witness integration tests: the daemon's own assembly
 * (src/cli/daemon.ts) on dynamic ports, so it runs without root beside other instances.
 */
import type { Logger } from 'pino';
import pino from 'pino';
import { demoConfig, type WitnessdConfig } from '../src/config';
import { startWitnessd, type Witnessd } from '../src/cli/daemon';
import type { WitnessOptions } from '../src/witness';
import type { Clock } from '../src/witness/clock';
import type { WitnessClientOptions } from '../src/client/witness-client';

export interface TestWitnessd extends Witnessd {
  readonly adminUrl: string;
  readonly epmPort: number;
  readonly witnessPort: number;
  /** What a WitnessClient needs to find this instance (its EPM port). */
  readonly clientBase: Partial<WitnessClientOptions>;
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
  const d = await startWitnessd(o.config ?? demoConfig(), {
    logger: o.logger ?? pino({ level: 'silent' }),
    epmPort: o.epmPort ?? 0,
    witnessPort: 0,
    adminAddress: '127.0.0.1:0',
    witnessOptions: o.witnessOptions,
    clock: o.clock,
  });
  const epmPort = d.epmEndpoint?.port ?? 0;
  return Object.assign(d, {
    adminUrl: d.admin.url,
    epmPort,
    witnessPort: d.witnessEndpoint.port,
    clientBase: { epmPort },
  });
}
