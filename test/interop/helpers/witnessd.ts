/**
 * Start the real daemon (scripts/bin/witnessd.js --config FILE) for an interop test, with the test
 * cluster below written as YAML, and wait until its endpoint mapper and witness port accept
 * connections on every listener address. The daemon runs in its own process group under a
 * lifetime limit; stop() ends the group.
 *
 * The test cluster is the demo topology (DOMAIN.md): one SFO pair node1/node2, one SVM vs1
 * whose CIFS server is SOFS (sofs.demo.local), one data LIF per node on the node's address,
 * and a CA share. smbd (helpers/smbd.ts) listens on the same node addresses.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { addLoopbackAddresses, freePort, waitForPort } from './net';
import { onEmergencyExit, RunningTool, startTool, tail } from './process';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** Names and addresses of the test cluster (what tests assert against). */
export const TEST_CLUSTER = {
  node1: { name: 'node1', address: '127.0.0.11' },
  node2: { name: 'node2', address: '127.0.0.12' },
  svm: 'vs1',
  netbiosName: 'SOFS',
  dnsName: 'sofs.demo.local',
  lif1: { name: 'lif1', address: '127.0.0.11', node: 'node1' },
  lif2: { name: 'lif2', address: '127.0.0.12', node: 'node2' },
  share: 'vmstore',
  account: { domain: 'DEMO', user: 'demo', password: 'demo-password' },
} as const;

/** smbtorture/rpcclient `-U` value for the test account. */
export const TEST_CREDENTIALS = `${TEST_CLUSTER.account.domain}\\${TEST_CLUSTER.account.user}%${TEST_CLUSTER.account.password}`;

export type WatcherMode = 'smb2-negotiate' | 'tcp-connect' | 'simulated';

export interface WitnessdOptions {
  /** Node-health watcher: 'simulated' (default) leaves nodes up; the real probes need smbd. */
  readonly watcher?: { mode: WatcherMode; intervalMs?: number; timeoutMs?: number; failureThreshold?: number; recoveryThreshold?: number };
  /** Fixed witness port; default: a free port chosen now (so tests can put it in bindings). */
  readonly witnessPort?: number;
  readonly epmPort?: number;
  readonly auth?: { minimumLevel?: string; allowAnonymous?: boolean };
  readonly logLevel?: string;
  /** Deep-merged over the generated document last (for tests that need something unusual). */
  readonly extra?: Record<string, unknown>;
  /** Lifetime limit of the daemon (default 20 min). */
  readonly lifetimeMs?: number;
}

export interface WitnessdInstance {
  readonly dir: string;
  readonly configPath: string;
  readonly config: Record<string, unknown>;
  readonly witnessPort: number;
  readonly epmPort: number;
  readonly adminPort: number;
  readonly addresses: readonly string[];
  readonly tool: RunningTool;
  /** Daemon output so far (for failure messages). */
  output(lines?: number): string;
  stop(): Promise<void>;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)) {
      out[k] = deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>);
    } else out[k] = v;
  }
  return out;
}

export function testClusterConfig(o: WitnessdOptions & { witnessPort: number; epmPort: number; adminPort: number }): Record<string, unknown> {
  const c = TEST_CLUSTER;
  const doc: Record<string, unknown> = {
    nodes: [
      { name: c.node1.name, partner: c.node2.name, smbAddress: `${c.node1.address}:445` },
      { name: c.node2.name, partner: c.node1.name, smbAddress: `${c.node2.address}:445` },
    ],
    svms: [
      {
        name: c.svm,
        netbiosName: c.netbiosName,
        dnsName: c.dnsName,
        aliases: [],
        lifs: [
          { name: c.lif1.name, ipv4: c.lif1.address, homeNode: c.lif1.node, currentNode: c.lif1.node, up: true },
          { name: c.lif2.name, ipv4: c.lif2.address, homeNode: c.lif2.node, currentNode: c.lif2.node, up: true },
        ],
        shares: [{ name: c.share, continuouslyAvailable: true, node: c.node1.name }],
      },
    ],
    listener: { addresses: [c.node1.address, c.node2.address], witnessPort: o.witnessPort, epmPort: o.epmPort },
    watcher: { mode: 'simulated', intervalMs: 500, timeoutMs: 400, failureThreshold: 3, recoveryThreshold: 2, ...(o.watcher ?? {}) },
    admin: { address: `127.0.0.1:${o.adminPort}` },
    auth: {
      minimumLevel: o.auth?.minimumLevel ?? 'integrity',
      allowAnonymous: o.auth?.allowAnonymous ?? true,
      accounts: [{ domain: c.account.domain, user: c.account.user, password: c.account.password }],
    },
    logging: { level: o.logLevel ?? 'debug' },
    // smbtorture's anonymous AsyncNotify toggles the resource through clusapi.
    clusapi: { allowAnonymous: true },
  };
  return o.extra ? deepMerge(doc, o.extra) : doc;
}

const START_TIMEOUT_MS = 60_000;

/**
 * The daemon's command: scripts/bin/witnessd.js, or WITNESSD_TEST_ENTRY (a .js or .ts file taking
 * `--config FILE`) to run the interop suite against another build of the daemon.
 */
function daemonArgv(): string[] {
  const override = process.env.WITNESSD_TEST_ENTRY;
  if (override) {
    const entry = path.resolve(override);
    if (!fs.existsSync(entry)) throw new Error(`WITNESSD_TEST_ENTRY ${entry} does not exist`);
    return entry.endsWith('.ts') ? ['-r', require.resolve('ts-node/register/transpile-only'), entry] : [entry];
  }
  const entry = path.join(REPO_ROOT, 'scripts', 'bin', 'witnessd.js');
  const cli = path.join(REPO_ROOT, 'src', 'cli', 'witnessd.ts');
  if (!fs.existsSync(entry) || !fs.existsSync(cli)) throw new Error(`the daemon entry point is missing (${entry} / ${cli})`);
  return [entry];
}

export async function startWitnessd(o: WitnessdOptions = {}): Promise<WitnessdInstance> {
  const argv = daemonArgv();
  const addresses = [TEST_CLUSTER.node1.address, TEST_CLUSTER.node2.address];
  await addLoopbackAddresses(addresses);
  const witnessPort = o.witnessPort ?? (await freePort(addresses[0]));
  const epmPort = o.epmPort ?? 135;
  const adminPort = await freePort('127.0.0.1');
  const config = testClusterConfig({ ...o, witnessPort, epmPort, adminPort });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'witnessd-'));
  const configPath = path.join(dir, 'witnessd.yaml');
  fs.writeFileSync(configPath, stringify(config));

  const tool = startTool(process.execPath, [...argv, '--config', configPath], {
    timeoutMs: o.lifetimeMs ?? 20 * 60_000,
    cwd: dir,
    env: { ...process.env, NODE_ENV: 'test', TS_NODE_PROJECT: path.join(REPO_ROOT, 'tsconfig.json') },
  });
  const unregisterEmergency = onEmergencyExit(() => fs.rmSync(dir, { recursive: true, force: true }));
  const output = (lines = 60): string => `--- witnessd stdout ---\n${tail(tool.stdout, lines)}\n--- witnessd stderr ---\n${tail(tool.stderr, lines)}`;
  const stop = async (): Promise<void> => {
    await tool.stop(5000);
    unregisterEmergency();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const a of addresses) {
      if (epmPort !== 0) await waitForPort(a, epmPort, START_TIMEOUT_MS, () => tool.running);
      await waitForPort(a, witnessPort, START_TIMEOUT_MS, () => tool.running);
    }
  } catch (e) {
    const msg = `witnessd did not start: ${(e as Error).message}\n${output()}`;
    await stop();
    throw new Error(msg);
  }
  return { dir, configPath, config, witnessPort, epmPort, adminPort, addresses, tool, output, stop };
}
