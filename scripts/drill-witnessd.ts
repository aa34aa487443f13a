/**
 * witnessd in-process for the drill and the Witness integration/interop tests: the daemon's
 * own assembly (src/cli/daemon.ts) on the embedded demo, with dynamic ports (the endpoint
 * mapper too, unless epmPort says otherwise) so it runs without root beside other tests.
 */
import type { Logger } from 'pino';
import pino from 'pino';
import { startWitnessd, type Witnessd } from '../src/cli/daemon';
import { demoConfig, type WitnessdConfig } from '../src/cluster/config';
import type { WitnessClientOptions } from '../src/client/witness-client';
import type { WitnessOptions } from '../src/witness';

export interface TestWitnessd {
  readonly daemon: Witnessd;
  readonly model: Witnessd['model'];
  readonly witness: Witnessd['witness'];
  readonly adminUrl: string;
  readonly epmPort: number;
  readonly witnessPort: number;
  readonly addresses: readonly string[];
  /** What a WitnessClient needs to find this instance (its endpoint mapper port). */
  readonly clientBase: Partial<WitnessClientOptions>;
  close(): Promise<void>;
}

export interface TestWitnessdOptions {
  readonly config?: WitnessdConfig;
  readonly logger?: Logger;
  readonly witnessOptions?: Partial<WitnessOptions>;
  /** Default 0 (dynamic); 135 for rpcclient inside a private network namespace. */
  readonly epmPort?: number;
}

export async function startTestWitnessd(o: TestWitnessdOptions = {}): Promise<TestWitnessd> {
  const daemon = await startWitnessd(o.config ?? demoConfig(), {
    logger: o.logger ?? pino({ level: 'silent' }),
    epmPort: o.epmPort ?? 0,
    witnessPort: 0,
    adminAddress: '127.0.0.1:0',
    witnessOptions: o.witnessOptions,
  });
  const epmPort = daemon.epmEndpoint?.port ?? 0;
  return {
    daemon,
    model: daemon.model,
    witness: daemon.witness,
    adminUrl: daemon.admin.url,
    epmPort,
    witnessPort: daemon.witnessEndpoint.port,
    addresses: daemon.addresses,
    clientBase: { epmPort },
    close: () => daemon.close(),
  };
}
