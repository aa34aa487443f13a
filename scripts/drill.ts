/**
 * Failover drill: register N Witness clients spread over the data LIFs, fire one scenario
 * through the admin API, wait (bounded) for every client, check that each received exactly
 * the notification the scenario calls for (and that the others received nothing), and print
 * the latency from the event to each client's notification.
 *
 *   npm run drill -- --clients 200 --scenario unplanned|planned|lif-migrate|share-move|rolling-upgrade|all
 *                    [--protocol v2|v1|mixed] [--admin http://127.0.0.1:8135 [--epm-port 135] [--force]]
 *                    [--timeout-ms 15000]
 *
 * Without --admin it starts witnessd in-process on the embedded demo (witness and endpoint
 * mapper on dynamic ports of the LIF addresses, admin API on a dynamic loopback port). A
 * running witnessd that is not the embedded demo is refused unless --force: the drill fails
 * nodes and moves LIFs there. It only registers clients named drill-…, and afterwards
 * checks that none of them is left registered (force-unregistering and reporting any).
 *
 * rolling-upgrade (the nondisruptive-operations list): each node in turn is taken over and
 * given back; before each move every client on that node's LIFs gets CLIENT_MOVE, the others
 * nothing, and no client ever loses its registration (no re-registration).
 * Exit status: 0 when every client got exactly what it should, 1 otherwise, 2 on usage errors.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { WitnessClient, type ReceivedNotification } from '../src/client/witness-client';
import { CHANGE_TYPE_NAMES, MessageType, MESSAGE_TYPE_NAMES, werrName } from '../src/witness/constants';
import {
  CLIENT_MOVE_NOTIFICATION,
  RESOURCE_CHANGE_NOTIFICATION,
  RESOURCE_STATE_UNAVAILABLE,
  SHARE_MOVE_NOTIFICATION,
} from '../src/gen/witness';
import { DRILL_CLIENT_PREFIX, drillTarget, type DrillTarget, type LifInfo } from './drill-target';

export const SCENARIOS = ['unplanned', 'planned', 'lif-migrate', 'share-move', 'rolling-upgrade'] as const;
export type Scenario = (typeof SCENARIOS)[number];
/** v2: RegisterEx with the CA share (default); v1: Register; mixed: every other client V1. */
export const PROTOCOLS = ['v2', 'v1', 'mixed'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

interface Plan {
  /** What the admin API is asked to do, and how to undo it afterwards. */
  readonly fire: { readonly action: string; readonly args: Record<string, string> };
  readonly restore: { readonly action: string; readonly args: Record<string, string> };
  /** For a client's registered LIF and protocol version: the expected notification, or undefined. */
  expect(clientLif: LifInfo, version: 1 | 2): Expected | undefined;
}

export interface Expected {
  readonly type: MessageType;
  /** RESOURCE_CHANGE: the ChangeType; moves: the addresses listed. */
  readonly changeType?: number;
  readonly addresses?: readonly string[];
}

/** One step of a scenario: an admin action and who should hear what. */
interface Step {
  readonly fire: { readonly action: string; readonly args: Record<string, string> };
  expect(clientLif: LifInfo, version: 1 | 2): Expected | undefined;
}

/** The steps of a scenario, and the actions that put the cluster back afterwards. */
function steps(s: Scenario, lifs: readonly LifInfo[], share: string): { steps: Step[]; restore: Plan['restore'][] } {
  if (s !== 'rolling-upgrade') {
    const p = plan(s, lifs, share);
    return { steps: [p], restore: [p.restore] };
  }
  // Every node in turn: takeover (its LIFs go to the partner), then giveback.
  const nodes = [...new Set(lifs.map((l) => l.node))];
  const out: Step[] = [];
  for (const node of nodes) {
    const clientMove = (l: LifInfo): Expected | undefined => (l.node === node ? { type: CLIENT_MOVE_NOTIFICATION } : undefined);
    out.push({ fire: { action: 'takeover', args: { node } }, expect: clientMove });
    out.push({ fire: { action: 'giveback', args: { node } }, expect: clientMove });
  }
  return { steps: out, restore: [] };
}

/** The plan for a scenario on a model with a node `victim` whose SFO partner is `partner`. */
function plan(s: Exclude<Scenario, 'rolling-upgrade'>, lifs: readonly LifInfo[], share: string): Plan {
  const victimLif = lifs[0];
  const victim = victimLif.node;
  const partner = victimLif.partner as string;
  const partnerAddrs = lifs.filter((l) => l.node === partner && l.name !== victimLif.name).map((l) => l.address);
  switch (s) {
    case 'unplanned':
      return {
        fire: { action: 'node-fail', args: { node: victim } },
        restore: { action: 'node-recover', args: { node: victim } },
        expect: (l) => (l.node === victim ? { type: RESOURCE_CHANGE_NOTIFICATION, changeType: RESOURCE_STATE_UNAVAILABLE } : undefined),
      };
    case 'planned':
      return {
        fire: { action: 'takeover', args: { node: victim } },
        restore: { action: 'giveback', args: { node: victim } },
        expect: (l) => (l.node === victim ? { type: CLIENT_MOVE_NOTIFICATION, addresses: partnerAddrs } : undefined),
      };
    case 'lif-migrate':
      return {
        fire: { action: 'lif-migrate', args: { lif: victimLif.name, to: partner } },
        restore: { action: 'lif-migrate', args: { lif: victimLif.name, to: victim } },
        expect: (l) => (l.name === victimLif.name ? { type: CLIENT_MOVE_NOTIFICATION, addresses: partnerAddrs } : undefined),
      };
    case 'share-move':
      return {
        fire: { action: 'share-move', args: { share, to: partner } },
        restore: { action: 'share-move', args: { share, to: victim } },
        // SHARE_MOVE exists only in V2, and only for registrations that named the share.
        expect: (_l, v) => (v === 2 ? { type: SHARE_MOVE_NOTIFICATION, addresses: lifs.filter((l) => l.node === partner).map((l) => l.address) } : undefined),
      };
  }
}

function describe(n: ReceivedNotification): string {
  if (!n.notification) return `${werrName(n.result)} (no response)`;
  const t = MESSAGE_TYPE_NAMES[n.notification.type];
  if (n.notification.type === RESOURCE_CHANGE_NOTIFICATION) {
    return `${t} ${n.notification.changes.map((c) => `${c.name}:${CHANGE_TYPE_NAMES[c.changeType] ?? c.changeType}`).join(',')}`;
  }
  return `${t} ${n.notification.addresses.map((a) => a.ipv4 ?? a.ipv6).join(',')}`;
}

export function matches(n: ReceivedNotification, e: Expected): boolean {
  if (n.result !== 0 || !n.notification || n.notification.type !== e.type) return false;
  if (n.notification.type === RESOURCE_CHANGE_NOTIFICATION) {
    return n.notification.changes.length === 1 && n.notification.changes[0].changeType === e.changeType;
  }
  if (e.addresses === undefined) return n.notification.addresses.length > 0; // any destination
  const got = n.notification.addresses.map((a) => a.ipv4 ?? a.ipv6 ?? '').sort();
  return JSON.stringify(got) === JSON.stringify([...(e.addresses ?? [])].sort());
}

export interface ScenarioReport {
  readonly scenario: Scenario;
  readonly clients: number;
  readonly expected: number;
  readonly ok: number;
  readonly latenciesMs: readonly number[];
  /** Client-steps that should hear nothing, and of those how many heard nothing. */
  readonly shouldBeQuiet: number;
  readonly quiet: number;
  /** Drill registrations found on the daemon after the clients stopped (then force-removed). */
  readonly leftovers: number;
  readonly problems: readonly string[];
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function formatReport(r: ScenarioReport): string {
  const s = [...r.latenciesMs].sort((a, b) => a - b);
  const f = (x: number) => (Number.isNaN(x) ? '-' : `${x.toFixed(2)} ms`);
  const lines = [
    `${r.scenario}: ${r.ok}/${r.expected} expected notifications correct, ${r.clients} clients` +
      ` | latency min ${f(s[0] ?? NaN)} median ${f(percentile(s, 50))} p99 ${f(percentile(s, 99))} max ${f(s[s.length - 1] ?? NaN)}`,
    `  ${r.quiet}/${r.shouldBeQuiet} that should get nothing got nothing; ${r.leftovers === 0 ? 'nothing left registered or queued' : `${r.leftovers} drill registration(s) were left and force-removed`}`,
  ];
  for (const p of r.problems.slice(0, 50)) lines.push(`  ! ${p}`);
  if (r.problems.length > 50) lines.push(`  ! … and ${r.problems.length - 50} more`);
  return lines.join('\n');
}

const wallNow = (): number => performance.timeOrigin + performance.now();

/** Run one scenario against a target; every client is stopped before returning. */
export async function runScenario(
  target: DrillTarget,
  scenario: Scenario,
  n: number,
  timeoutMs: number,
  log: (s: string) => void = () => undefined,
  protocol: Protocol = 'v2',
): Promise<ScenarioReport> {
  const lifs = await target.lifs();
  if (lifs.length < 2 || !lifs[0].partner) throw new Error('the drill needs two data LIFs of one SVM on an SFO pair');
  const { steps: plan, restore } = steps(scenario, lifs, target.share);
  type Entry = { c: WitnessClient; lif: LifInfo; version: 1 | 2; got: ReceivedNotification[]; at: number[]; reregistered: number };
  const clients: Entry[] = [];
  const problems: string[] = [];
  const latencies: number[] = [];
  let ok = 0;
  let expectedTotal = 0;
  let shouldBeQuiet = 0;
  let quiet = 0;
  let leftovers = 0;
  const allPending = async (): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while ((await target.pendingAsyncNotify()) < n) {
      if (Date.now() > deadline) throw new Error(`only ${await target.pendingAsyncNotify()} of ${n} AsyncNotify calls pending`);
      await new Promise((res) => setTimeout(res, 20));
    }
  };
  try {
    // Register in bounded batches so a big N does not open every connection at once.
    const batch = 100;
    for (let i = 0; i < n; i += batch) {
      const started = [];
      for (let j = i; j < Math.min(n, i + batch); j++) {
        const lif = lifs[j % lifs.length];
        // Mixed: alternate in pairs so that both versions sit on every LIF.
        const version: 1 | 2 = protocol === 'v1' || (protocol === 'mixed' && Math.floor(j / lifs.length) % 2 === 1) ? 1 : 2;
        const base = target.clientOptions(lif);
        const c = new WitnessClient({ ...base, ...(version === 1 ? { version: 1, shareName: undefined } : {}), clientName: `${DRILL_CLIENT_PREFIX}${scenario}-${j}`, retryDelayMs: 200 });
        const entry: Entry = { c, lif, version, got: [], at: [], reregistered: 0 };
        c.on('notification', (x: ReceivedNotification) => {
          entry.got.push(x);
          entry.at.push(performance.timeOrigin + x.receivedAt);
        });
        c.on('reregistering', () => { entry.reregistered++; });
        clients.push(entry);
        started.push(c.start(timeoutMs));
      }
      await Promise.all(started);
    }
    for (const step of plan) {
      // Every client must have its AsyncNotify pending before the event.
      await allPending();
      for (const x of clients) { x.got.length = 0; x.at.length = 0; }
      log(`${scenario}: ${n} clients registered, firing ${step.fire.action} ${JSON.stringify(step.fire.args)}`);
      const t0 = wallNow();
      await target.admin(step.fire.action, step.fire.args);
      const expected = clients.filter((x) => step.expect(x.lif, x.version) !== undefined);
      expectedTotal += expected.length;
      const waitUntil = Date.now() + timeoutMs;
      while (expected.some((x) => x.got.length === 0) && Date.now() < waitUntil) await new Promise((res) => setTimeout(res, 10));
      // A short grace period to catch duplicates and notifications that should not exist.
      await new Promise((res) => setTimeout(res, 300));
      const at = plan.length > 1 ? ` at ${step.fire.action} ${Object.values(step.fire.args).join(' ')}` : '';
      for (const x of clients) {
        const e = step.expect(x.lif, x.version);
        const name = `${x.c.options.clientName} (V${x.version})`;
        if (!e) {
          shouldBeQuiet++;
          if (x.got.length > 0) problems.push(`${name} (${x.lif.name}) should get nothing${at}, got ${x.got.map(describe).join('; ')}`);
          else quiet++;
          continue;
        }
        if (x.got.length === 0) problems.push(`${name} (${x.lif.name}) got nothing${at}`);
        else if (x.got.length > 1) problems.push(`${name} (${x.lif.name}) got ${x.got.length} notifications${at}: ${x.got.map(describe).join('; ')}`);
        else if (!matches(x.got[0], e)) problems.push(`${name} (${x.lif.name}) got ${describe(x.got[0])}${at}, expected ${MESSAGE_TYPE_NAMES[e.type]} ${e.addresses?.join(',') ?? ''}`);
        else {
          ok++;
          latencies.push(x.at[0] - t0);
        }
      }
    }
    // Never lost its witness: no client had to register again.
    for (const x of clients) if (x.reregistered > 0) problems.push(`${x.c.options.clientName} lost its registration ${x.reregistered} time(s) and registered again`);
  } finally {
    await Promise.all(clients.map((x) => x.c.stop().catch(() => undefined)));
    for (const a of restore) {
      try {
        await target.admin(a.action, a.args);
      } catch (err) {
        problems.push(`restore ${a.action} failed: ${(err as Error).message}`);
      }
    }
    // Leave nothing behind: any drill registration still there is reported and removed.
    try {
      const left = await target.ownRegistrations();
      leftovers = left.length;
      for (const l of left) {
        problems.push(`${l.clientName} was still registered after the drill (${l.pendingNotifications} queued); force-unregistered`);
        await target.unregister(l.id);
      }
    } catch (err) {
      problems.push(`could not check for leftover registrations: ${(err as Error).message}`);
    }
  }
  return { scenario, clients: n, expected: expectedTotal, ok, latenciesMs: latencies, shouldBeQuiet, quiet, leftovers, problems };
}

async function main(): Promise<number> {
  const argv = await yargs(hideBin(process.argv))
    .scriptName('drill')
    .option('clients', { type: 'number', default: 100, describe: 'number of Witness clients' })
    .option('scenario', { type: 'string', choices: [...SCENARIOS, 'all'], default: 'all' })
    .option('admin', { type: 'string', describe: 'admin API URL of a running witnessd (default: start one in-process)' })
    .option('timeout-ms', { type: 'number', default: 15_000, describe: 'bound on registering and on waiting for notifications' })
    .option('epm-port', { type: 'number', default: 135, describe: 'endpoint mapper port of a running witnessd' })
    .option('force', { type: 'boolean', default: false, describe: 'drill a running witnessd that is not the embedded demo (it fails nodes and moves LIFs there)' })
    .option('protocol', { type: 'string', choices: [...PROTOCOLS], default: 'v2', describe: 'v2 RegisterEx (with the CA share), v1 Register, or mixed' })
    .strict()
    .parseAsync();
  if (!Number.isInteger(argv.clients) || argv.clients < 1 || argv.clients > 50_000) {
    console.error('--clients must be an integer from 1 to 50000');
    return 2;
  }
  const target = await drillTarget({ admin: argv.admin, epmPort: argv['epm-port'], force: argv.force });
  let failed = false;
  try {
    const list: Scenario[] = argv.scenario === 'all' ? [...SCENARIOS] : [argv.scenario as Scenario];
    for (const s of list) {
      let report: ScenarioReport;
      try {
        report = await runScenario(target, s, argv.clients, argv['timeout-ms'], (m) => console.error(m), argv.protocol as Protocol);
      } catch (err) {
        console.log(`${s}: FAILED: ${(err as Error).message}`);
        failed = true;
        continue;
      }
      console.log(formatReport(report));
      if (report.problems.length > 0 || report.ok !== report.expected) failed = true;
    }
  } finally {
    await target.close();
  }
  console.log(failed ? 'DRILL FAILED' : 'DRILL PASSED');
  return failed ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`drill: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
