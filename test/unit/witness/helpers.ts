import pino from 'pino';
import { ClusterModel } from '../../../src/cluster/model';
import { demoConfig, parseConfig } from '../../../src/config';
import type { CallContext } from '../../../src/rpc/call-context';
import type { Identity } from '../../../src/rpc/security';
import { TestCall } from '../../helpers/calls';
export { asyncNotify } from '../../helpers/calls';
import { ManualClock } from '../../../src/witness/clock';
import { WitnessService, type WitnessOptions } from '../../../src/witness/service';

export const silent = pino({ level: 'silent' });

export class FakeGroup {
  private listeners: Array<(g: FakeGroup) => void> = [];
  constructor(readonly id: number) {}
  onClose(listener: (g: FakeGroup) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }
  close(): void {
    for (const l of this.listeners.splice(0)) l(this);
  }
  get listenerCount(): number {
    return this.listeners.length;
  }
}

export function ctx(group: FakeGroup, localAddress = '127.0.0.12', identity?: Identity): TestCall {
  return new TestCall({ associationGroup: group, localAddress, identity });
}

export function setup(options: Partial<WitnessOptions> = {}, yaml?: string) {
  const clock = new ManualClock(1_000);
  const model = new ClusterModel(yaml ? parseConfig(yaml, 'test.yaml') : demoConfig());
  const svc = new WitnessService({ model, logger: silent, clock, options });
  return { clock, model, svc };
}

/** Register V1 on the demo: NetName SOFS, IpAddress = lif1 (node1), witness via lif2. */
export function registerV1(svc: WitnessService, c: CallContext, ip = '127.0.0.11', netName = 'SOFS', client = 'host1'): string {
  const r = svc.register(c, { version: 0x00010001, netName, ipAddress: ip, clientName: client }, false);
  if (r.result !== 0 || !r.handle) throw new Error(`register failed 0x${r.result.toString(16)}`);
  return r.handle;
}

export function registerV2(
  svc: WitnessService,
  c: CallContext,
  extra: { ip?: string; share?: string; flags?: number; keepAlive?: number; client?: string } = {},
): string {
  const r = svc.register(
    c,
    {
      version: 0x00020000,
      netName: 'sofs.demo.local',
      ipAddress: extra.ip ?? '127.0.0.11',
      clientName: extra.client ?? 'host2',
      shareName: extra.share,
      flags: extra.flags ?? 0,
      keepAliveTimeout: extra.keepAlive ?? 120,
    },
    true,
  );
  if (r.result !== 0 || !r.handle) throw new Error(`registerEx failed 0x${r.result.toString(16)}`);
  return r.handle;
}

/** Whether a promise has settled, after letting microtasks run. */
export async function settled<T>(p: Promise<T>): Promise<{ done: boolean; value?: T }> {
  let done = false;
  let value: T | undefined;
  p.then((v) => {
    done = true;
    value = v;
  });
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return { done, value };
}
