/**
 * The detection benchmark's process, in a private network namespace: a real smbd on both
 * demo node addresses (port 445), witnessd with the default watcher settings (SMB2 NEGOTIATE
 * probes every 500 ms, 400 ms timeout, 3 failures), and one Witness client registered for
 * node1's LIF with an AsyncNotify pending. It kills smbd and measures until the
 * RESOURCE_CHANGE arrives; and it watches for false failovers while other processes keep
 * both cores busy.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { startWitnessd, type Witnessd } from '../../../src/cli/daemon';
import { WitnessClient } from '../../../src/client/witness-client';
import type { ClusterEvent } from '../../../src/cluster';
import { demoConfig } from '../../../src/config';
import { serve } from './child';
import { addLoopback, startSmbd, type Smbd } from './smbd';
import { sleep } from './stats';
import { waitUntil } from './util';

const NODE_ADDRESSES = ['127.0.0.11', '127.0.0.12'];
let dir = '';
/** One smbd per node, like two real nodes; node1's is the one killed. */
let smbd: Smbd | undefined;
let smbd2: Smbd | undefined;
let daemon: Witnessd | undefined;
let client: WitnessClient | undefined;
const events: Array<{ at: number; ev: ClusterEvent }> = [];

async function setup(): Promise<{ watcher: unknown }> {
  addLoopback(NODE_ADDRESSES);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'witnessd-bench-smbd-'));
  smbd = await startSmbd(path.join(dir, 'node1'), [NODE_ADDRESSES[0]]);
  smbd2 = await startSmbd(path.join(dir, 'node2'), [NODE_ADDRESSES[1]]);
  const base = demoConfig();
  // The demo simulates node health; this benchmark uses the default watcher settings.
  const config = { ...base, watcher: { mode: 'smb2-negotiate' as const, intervalMs: 500, timeoutMs: 400, failureThreshold: 3, recoveryThreshold: 2 } };
  daemon = await startWitnessd(config, { epmPort: 0, witnessPort: 0, adminAddress: '127.0.0.1:0', logger: pino({ level: config.logging.level }) });
  daemon.model.subscribe((ev) => events.push({ at: performance.now(), ev }));
  client = new WitnessClient({
    server: '127.0.0.12', witnessAddress: '127.0.0.12', witnessPort: daemon.witnessEndpoint.port,
    ipAddress: '127.0.0.11', netName: 'SOFS', clientName: 'DETECT-BENCH', keepAliveTimeout: 600,
  });
  await client.start(20_000);
  return { watcher: config.watcher };
}

const asyncNotifyPending = (): boolean => (daemon?.witness.service.registry.waitingCalls ?? 0) >= 1;

/** Kill smbd; time to the NodeDown in the model and to the notification at the client. */
async function killOnce(): Promise<{ notifiedMs: number; nodeDownMs: number; changeType: number | undefined }> {
  if (!smbd || !client || !daemon) throw new Error('setup first');
  client.take();
  await waitUntil('AsyncNotify pending', asyncNotifyPending, 10_000, 10);
  events.length = 0;
  const t0 = performance.now();
  smbd.kill();
  const n = await client.next(10_000);
  const down = events.find((e) => e.ev.type === 'NodeDown');
  const note = n.notification;
  const changeType = note && 'changes' in note ? note.changes[0]?.changeType : undefined;
  return { notifiedMs: n.receivedAt - t0, nodeDownMs: down ? down.at - t0 : NaN, changeType };
}

/** Start smbd again and wait until both nodes are up and the client heard AVAILABLE. */
async function restore(): Promise<void> {
  if (!client || !daemon) throw new Error('setup first');
  smbd = await startSmbd(path.join(dir, 'node1'), [NODE_ADDRESSES[0]]);
  await client.next(15_000); // RESOURCE_CHANGE AVAILABLE
  await waitUntil('both nodes up', () => daemon!.model.nodes().every((x) => x.up), 15_000, 50);
}

/** Busy-loop processes on every core for `ms`; count cluster events meanwhile. */
async function saturate(ms: number): Promise<{ nodeDown: number; events: string[]; notifications: number; busyProcesses: number }> {
  if (!client) throw new Error('setup first');
  client.take();
  events.length = 0;
  const cores = os.cpus().length;
  const code = `const end = Date.now() + ${ms}; let x = 0; while (Date.now() < end) { x++; }`;
  const procs = Array.from({ length: cores }, () => spawn(process.execPath, ['-e', code], { stdio: 'ignore' }));
  const timer = setTimeout(() => procs.forEach((p) => p.kill('SIGKILL')), ms + 10_000);
  await Promise.all(procs.map((p) => new Promise((r) => p.once('exit', r))));
  clearTimeout(timer);
  await sleep(2_000); // a failure declared at the very end would show up now
  return {
    nodeDown: events.filter((e) => e.ev.type === 'NodeDown').length,
    events: events.map((e) => e.ev.type),
    notifications: client.take().length,
    busyProcesses: cores,
  };
}

async function teardown(): Promise<void> {
  await client?.stop?.();
  await daemon?.close();
  smbd?.kill();
  smbd2?.kill();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

serve({ setup, kill: killOnce, restore, saturate: (a: { ms: number }) => saturate(a.ms), teardown }, teardown);
