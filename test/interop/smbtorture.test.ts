/**
 * Samba's smbtorture rpc.witness suite against the real daemon, with a real smbd beside it
 * (srvsvc over SMB for find_sofs_share) and witnessd's clusapi (MS-CMRP) for AsyncNotify.
 * All six subtests, anonymous (-U%) and with credentials (SPNEGO/NTLMSSP at sign for
 * witness, seal for clusapi). Each subtest is its own jest test, so the report names it.
 *
 * The quick subtests run named individually (each gets a new connection, INTEROP.md §2, so
 * one failure cannot cascade) in several binding variants; the whole suite `rpc.witness` also
 * runs once on one persistent connection, overlapping the credentialed AsyncNotify_timeouts.
 */
import {
  BackgroundSmbtorture,
  describeWithPeers,
  runSmbtorture,
  SmbdInstance,
  SmbtortureRun,
  startSmbd,
  startSmbtorture,
  startWitnessd,
  TEST_CLUSTER,
  TEST_CREDENTIALS,
  WitnessdInstance,
} from './helpers';

const SUBTESTS = ['GetInterfaceList', 'Register', 'UnRegister', 'RegisterEx', 'AsyncNotify'] as const;
const CREDS_LABEL = `-U ${TEST_CREDENTIALS.replace(/%.*/, '%…')}`;
const USERS = [
  { label: 'anonymous (-U%)', user: '%', flags: '' },
  { label: `with credentials (${CREDS_LABEL}; SPNEGO at sign, clusapi sealed)`, user: TEST_CREDENTIALS, flags: '' },
] as const;
/**
 * More binding variants for the quick subtests: explicit NTLMSSP / SPNEGO privacy, big-endian
 * NDR and headers (drep 00 00 00 00), and `validate` (smbtorture re-encodes every NDR
 * structure it receives and compares).
 */
const VARIANTS = [
  ...USERS,
  { label: `[ntlm,seal] ${CREDS_LABEL}`, user: TEST_CREDENTIALS, flags: ',ntlm,seal' },
  { label: `[spnego,seal] ${CREDS_LABEL}`, user: TEST_CREDENTIALS, flags: ',spnego,seal' },
  { label: '[bigendian] anonymous', user: '%', flags: ',bigendian' },
  { label: `[bigendian,ntlm,seal] ${CREDS_LABEL}`, user: TEST_CREDENTIALS, flags: ',bigendian,ntlm,seal' },
  { label: '[validate] anonymous', user: '%', flags: ',validate' },
] as const;

/** AsyncNotify_timeouts waits 0+1+10+100+120 s per WITNESS_IF interface (one here). */
const TIMEOUTS_TEST_MS = 6 * 60_000;

describeWithPeers('smbtorture rpc.witness.witness against witnessd + smbd', ['smbtorture', 'smbd'], () => {
  let smbd: SmbdInstance | undefined;
  let daemon: WitnessdInstance | undefined;

  beforeAll(async () => {
    smbd = await startSmbd({ addresses: [TEST_CLUSTER.node1.address, TEST_CLUSTER.node2.address], netbiosName: 'NODES', account: { user: TEST_CLUSTER.account.user, password: TEST_CLUSTER.account.password } });
    daemon = await startWitnessd({ watcher: { mode: 'simulated' } });
  }, 120_000);

  afterAll(async () => {
    await daemon?.stop();
    await smbd?.dispose();
  }, 60_000);

  const binding = (flags = ''): string => `ncacn_ip_tcp:${TEST_CLUSTER.node1.address}[${daemon!.witnessPort}${flags}]`;

  const explain = (run: SmbtortureRun): string => `${run.summary()}\n${daemon?.output(40) ?? ''}`;

  for (const { label, user, flags } of VARIANTS) {
    describe(label, () => {
      let run: SmbtortureRun | undefined;

      beforeAll(async () => {
        run = await runSmbtorture({
          binding: binding(flags),
          user,
          netName: TEST_CLUSTER.netbiosName,
          tests: SUBTESTS.map((t) => `rpc.witness.witness.${t}`),
          timeoutMs: 150_000,
        });
      }, 170_000);

      for (const sub of SUBTESTS) {
        it(`rpc.witness.witness.${sub}`, () => {
          const r = run!.byName(sub);
          if (r?.status !== 'success') throw new Error(`${sub}: ${r ? `${r.status}: ${r.reason}` : 'not reported'}\n\n${explain(run!)}`);
          expect(r.status).toBe('success');
        });
      }

      it('smbtorture exits 0 and reports every subtest', () => {
        if (run!.tool.code !== 0) throw new Error(explain(run!));
        expect(run!.results.map((r) => r.name.replace(/^.*\./, '')).sort()).toEqual([...SUBTESTS].sort());
      });
    });
  }

  /**
   * The two ~4-minute runs overlap: anonymous runs the whole suite `rpc.witness` (all six
   * subtests on ONE persistent witness connection, as Samba's selftest would), and once it
   * has reached AsyncNotify_timeouts (after its AsyncNotify toggled the resource, which would
   * otherwise answer the other run's pending calls with RESOURCE_CHANGE), the credentialed
   * AsyncNotify_timeouts starts on its own connection.
   */
  describe('rpc.witness whole suite (one connection) and AsyncNotify_timeouts (KeepAliveTimeout 0, 1, 10, 100, 120 s → WERR_TIMEOUT)', () => {
    let whole: BackgroundSmbtorture | undefined;
    let credentialed: Promise<SmbtortureRun> | undefined;
    let startError: Error | undefined;

    beforeAll(async () => {
      whole = startSmbtorture({
        binding: binding(),
        user: '%',
        netName: TEST_CLUSTER.netbiosName,
        tests: ['rpc.witness'],
        timeoutMs: TIMEOUTS_TEST_MS - 20_000,
      });
      try {
        await whole.tool.waitFor((out) => /^test: witness\.AsyncNotify_timeouts$/m.test(out), 120_000, 'the whole suite to reach AsyncNotify_timeouts');
      } catch (e) {
        startError = e as Error;
        return;
      }
      credentialed = runSmbtorture({
        binding: binding(),
        user: TEST_CREDENTIALS,
        netName: TEST_CLUSTER.netbiosName,
        tests: ['rpc.witness.witness.AsyncNotify_timeouts'],
        timeoutMs: TIMEOUTS_TEST_MS - 20_000,
      });
      credentialed.catch(() => undefined); // awaited by its test
    }, 150_000);

    afterAll(async () => {
      await whole?.tool.stop(3000);
    });

    const keepAlivesTried = (run: SmbtortureRun): number[] =>
      [...(run.tool.stdout + run.tool.stderr).matchAll(/Testing Async Notify with timeout of (\d+)/g)].map((m) => Number(m[1]));

    it(
      'rpc.witness anonymous, one connection: all six subtests pass',
      async () => {
        if (startError) throw startError;
        const run = await whole!.done;
        if (run.tool.code !== 0) throw new Error(explain(run));
        expect(run.results.map((r) => [r.name.replace(/^.*\./, ''), r.status])).toEqual(
          [...SUBTESTS, 'AsyncNotify_timeouts'].map((t) => [t, 'success']),
        );
        expect(keepAlivesTried(run)).toEqual([0, 1, 10, 100, 120]);
      },
      TIMEOUTS_TEST_MS,
    );

    it(
      `rpc.witness.witness.AsyncNotify_timeouts ${USERS[1].label}`,
      async () => {
        if (startError) throw startError;
        const run = await credentialed!;
        const r = run.byName('AsyncNotify_timeouts');
        if (r?.status !== 'success' || run.tool.code !== 0) throw new Error(explain(run));
        // Every keep-alive value was exercised and answered (smbtorture prints one line per value).
        expect(keepAlivesTried(run)).toEqual([0, 1, 10, 100, 120]);
      },
      TIMEOUTS_TEST_MS,
    );
  });
});
