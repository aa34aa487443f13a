/**
 * End to end with the real SMB server: one smbd per node (each on its node address), the
 * daemon's health watcher probing them with SMB2 NEGOTIATE, and rpcclient as the witness
 * client. Stopping smbd on node1 makes an rpcclient waiting in AsyncNotify print the
 * resource as Unavailable within the watcher's detection time; starting smbd again gives
 * Available.
 *
 * The client plays DOMAIN.md's application server: its SMB session is on node1
 * (127.0.0.11), so it asks the witness on node1's SFO partner (node2, 127.0.0.12) and
 * registers IpAddress = node1's address.
 */
import {
  describeWithPeers,
  InteractiveRpcclient,
  SmbdInstance,
  startSmbd,
  startWitnessd,
  TEST_CLUSTER,
  WitnessdInstance,
} from './helpers';

const WATCHER = { mode: 'smb2-negotiate' as const, intervalMs: 500, timeoutMs: 400, failureThreshold: 3, recoveryThreshold: 2 };
/**
 * Worst case from the first failed probe to the node being declared down: threshold probes
 * one interval apart, the last one waiting its full timeout — plus one interval because the
 * stop can land just after a good probe.
 */
const DETECTION_MS = WATCHER.failureThreshold * WATCHER.intervalMs + WATCHER.timeoutMs + WATCHER.intervalMs;
const RECOVERY_MS = WATCHER.recoveryThreshold * WATCHER.intervalMs + WATCHER.timeoutMs + WATCHER.intervalMs;
/** Scheduling slack on a shared 2-core machine (the daemon, two smbds, rpcclient and jest). */
const SLACK_MS = 4000;

describeWithPeers('end to end with a real smbd: stopping smbd on node1 → rpcclient AsyncNotify prints Unavailable', ['rpcclient', 'smbd'], () => {
  let smbd1: SmbdInstance | undefined;
  let smbd2: SmbdInstance | undefined;
  let daemon: WitnessdInstance | undefined;
  let client: InteractiveRpcclient | undefined;
  let handle = '';

  beforeAll(async () => {
    smbd1 = await startSmbd({ addresses: [TEST_CLUSTER.node1.address], netbiosName: 'NODE1' });
    smbd2 = await startSmbd({ addresses: [TEST_CLUSTER.node2.address], netbiosName: 'NODE2' });
    daemon = await startWitnessd({ watcher: WATCHER });
    client = InteractiveRpcclient.start(`ncacn_ip_tcp:${TEST_CLUSTER.node2.address}`, '%', 5 * 60_000);
  }, 120_000);

  afterAll(async () => {
    await client?.stop();
    await daemon?.stop();
    await smbd1?.dispose();
    await smbd2?.dispose();
  }, 60_000);

  const why = (): string => `\n--- rpcclient stdout ---\n${client?.stdout ?? ''}\n--- rpcclient stderr ---\n${client?.tool.stderr ?? ''}\n${daemon?.output(60) ?? ''}`;

  it('registers on node2 for node1\'s address (both smbds up, both LIFs available)', async () => {
    const from = await client!.send('GetInterfaceList');
    // Asked on node2: node1's LIF is the witness interface, both available.
    await client!.waitFor(new RegExp(`^\\*\\+ ${TEST_CLUSTER.node1.name} ${TEST_CLUSTER.node1.address.replace(/\./g, '\\.')} V2$`, 'm'), 15_000, 'node1 as an available witness interface', from).catch((e) => {
      throw new Error(`${(e as Error).message}${why()}`);
    });
    handle = await client!.register(`-n ${TEST_CLUSTER.netbiosName} -i ${TEST_CLUSTER.node1.address} -c e2e-client`);
    expect(handle).toMatch(/^0:[0-9a-f-]{36}$/);
  }, 40_000);

  it(`stopping smbd on node1 → "${TEST_CLUSTER.netbiosName} -> Unavailable" within the detection time (${DETECTION_MS} ms + ${SLACK_MS} ms slack)`, async () => {
    expect(handle).not.toBe('');
    const from = await client!.send(`AsyncNotify ${handle}`);
    // Give the call time to reach the server and be parked before the failure starts.
    await new Promise((r) => setTimeout(r, 500));
    expect(client!.stdout.slice(from)).not.toMatch(/Resource change/);
    const t0 = Date.now();
    await smbd1!.stop();
    await client!
      .waitFor(new RegExp(`Resource change with 1 messages\\s*\\n${TEST_CLUSTER.netbiosName} -> Unavailable`, 'i'), DETECTION_MS + SLACK_MS + 10_000, 'Unavailable', from)
      .catch((e) => {
        throw new Error(`${(e as Error).message}${why()}\n--- smbd1 log ---\n${smbd1!.logTail()}`);
      });
    const elapsed = Date.now() - t0;
    process.stdout.write(`smbd-e2e: node1 smbd stopped → Unavailable printed after ${elapsed} ms (detection bound ${DETECTION_MS} ms)\n`);
    expect(elapsed).toBeLessThanOrEqual(DETECTION_MS + SLACK_MS);
  }, 60_000);

  it(`starting smbd on node1 again → "${TEST_CLUSTER.netbiosName} -> Available"`, async () => {
    const from = await client!.send(`AsyncNotify ${handle}`);
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    await smbd1!.restart();
    await client!
      .waitFor(new RegExp(`Resource change with 1 messages\\s*\\n${TEST_CLUSTER.netbiosName} -> Available`, 'i'), RECOVERY_MS + SLACK_MS + 20_000, 'Available', from)
      .catch((e) => {
        throw new Error(`${(e as Error).message}${why()}`);
      });
    const elapsed = Date.now() - t0;
    process.stdout.write(`smbd-e2e: node1 smbd started → Available printed after ${elapsed} ms (recovery bound ${RECOVERY_MS} ms after smbd listens)\n`);
    // The interface list agrees: node1's LIF is available again.
    await client!.command('GetInterfaceList', new RegExp(`^\\*\\+ ${TEST_CLUSTER.node1.name} `, 'm'), 15_000, 'node1 available in the interface list');
    await client!.send(`UnRegister ${handle}`);
  }, 90_000);
});
