/**
 * The demo's banner is a recipe that works as printed (issue 13 item 4): witnessd started
 * with no arguments, the rpcclient and witnessctl lines taken from its banner and run as a
 * person would type them (the interactive rpcclient gets the Register line, then AsyncNotify
 * with the handle it printed; `npm run witnessctl -- node fail node1` fires the failure),
 * and the waiting AsyncNotify prints the notification. Under --config there is one line.
 */
import * as path from 'node:path';
import {
  addLoopbackAddresses, describeWithPeers, InteractiveRpcclient, REPO_ROOT, runTool, startTool, type RunningTool,
} from './helpers';

describeWithPeers('the demo banner\'s try-it flow, run as printed', ['rpcclient'], () => {
  let daemon: RunningTool | undefined;
  let banner = '';

  beforeAll(async () => {
    await addLoopbackAddresses(['127.0.0.11', '127.0.0.12']);
    daemon = startTool(process.execPath, [path.join(REPO_ROOT, 'scripts', 'bin', 'witnessd.js')], { timeoutMs: 5 * 60_000, cwd: REPO_ROOT });
    banner = await daemon.waitFor((_o, e) => (e.includes('witnessctl -- status') ? e : undefined), 60_000, 'the demo banner');
  }, 90_000);
  afterAll(async () => {
    await daemon?.stop(5000);
  }, 30_000);

  const lines = (): string[] => banner.split('\n').map((l) => l.trim());

  it('the banner is the demo\'s: the try-it commands and the witnessctl lines', () => {
    expect(banner).toContain('(embedded demo cluster)');
    expect(lines().filter((l) => l.startsWith('rpcclient -s '))).toHaveLength(2);
    expect(lines()).toContain('npm run witnessctl -- node fail node1');
  });

  it('GetInterfaceList, then Register and AsyncNotify in the interactive rpcclient; the witnessctl line makes it print the failure', async () => {
    const list = lines().find((l) => l.startsWith('rpcclient ') && l.includes('-c GetInterfaceList'))!;
    const r = await runTool('sh', ['-c', list], { timeoutMs: 30_000 });
    expect(r.stdout).toMatch(/^\*\+ node2 127\.0\.0\.12 V2$/m);

    const interactive = lines().find((l) => l.startsWith('rpcclient ') && !l.includes(' -c '))!;
    const [, user, binding] = /^rpcclient -s \/dev\/null -U(\S*) (\S+)$/.exec(interactive)!;
    const client = InteractiveRpcclient.start(binding, user, 2 * 60_000);
    try {
      const register = lines().find((l) => l.startsWith('rpcclient $> Register '))!.replace('rpcclient $> Register ', '');
      const handle = await client.register(register);
      const asyncLine = lines().find((l) => l.startsWith('rpcclient $> AsyncNotify '))!;
      expect(asyncLine).toMatch(/^rpcclient \$> AsyncNotify 0:<the handle it printed>/);
      const from = await client.send(`AsyncNotify ${handle}`);
      await new Promise((res) => setTimeout(res, 400)); // parked
      const fail = await runTool('sh', ['-c', 'npm run --silent witnessctl -- node fail node1'], { timeoutMs: 60_000, cwd: REPO_ROOT });
      expect(fail.code).toBe(0);
      await client.waitFor(/SOFS -> Unavailable/, 15_000, 'the notification', from);
      const recover = await runTool('sh', ['-c', 'npm run --silent witnessctl -- node recover node1'], { timeoutMs: 60_000, cwd: REPO_ROOT });
      expect(recover.code).toBe(0);
    } finally {
      await client.stop();
    }
  }, 120_000);
});
