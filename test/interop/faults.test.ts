/**
 * The fault matrix in CI's time (issue 22 item 5, issue 21 item 10): the three-node netns
 * cluster (ctdbd 4.22 with CTDB's DEFAULT keepalive, so CTDB alone would say nothing for 30 s;
 * clustered smbd; witnessd by its event script with the peer watch), 30 signed registrations
 * spread over the public IPs, and five faults of scripts/lib/fault-matrix.ts on node 0:
 *  - a whole node hung (ctdbd, smbd, witnessd SIGSTOP) 10 s: every client of its IP told,
 *    though CTDB never called the node anything but OK (rules 1, 3, 4);
 *  - its link cut 10 s: the two others tell its IP's clients; the cut-off node tells its
 *    own clients nothing about the others (rule 5);
 *  - its link cut 45 s, past CTDB's keepalive: CTDB re-places its IP, and its own ctdbd,
 *    alone, calls the others' IPs hosted by no node; the cut-off node still tells its own
 *    clients nothing about them, during the cut or after its ctdbd rejoined (rule 5);
 *  - its smbd killed while ctdbd lives: every client told, by the SMB probe (rule 1);
 *  - a slow node (1 s stalls every 3 s for 15 s): no one told anything (rule 1).
 * Each: no registration lost, no duplicate, no false notification, every witness serving
 * after. The full matrix (1,000 registrations, every fault, Samba beside) is the benchmark.
 * The times are printed, not asserted (the machine is shared). Cost: one cluster bring-up
 * (≈1–2 min) and ≈4–5 min of faults and healing (the 45 s cut ≈ 70 s of it).
 */
import { FaultFleet } from '../../scripts/lib/fault-fleet';
import { FAULTS, linkCut, runFault, slowNode, spread, type Fault, type FaultResult } from '../../scripts/lib/fault-matrix';
import { DEFAULT_SERVER, NetnsCluster } from '../../scripts/lib/netns-cluster';
import { describeWithPeers } from './helpers';

const N = 30;
const byName = (name: string): Fault => {
  const f = FAULTS.find((x) => x.name.startsWith(name));
  if (!f) throw new Error(`no fault ${name}`);
  return f;
};

describeWithPeers('the fault matrix on a three-node netns cluster (ctdbd, smbd, witnessd with its peer watch)', ['ctdbd', 'ctdb', 'smbd', 'ip'], () => {
  let c: NetnsCluster | undefined;
  let fleet: FaultFleet | undefined;
  const log = (m: string): void => void process.stderr.write(`[faults] ${m}\n`);

  beforeAll(async () => {
    c = await NetnsCluster.start({ tunables: { KeepaliveInterval: 5, KeepaliveLimit: 5 }, startTimeoutMs: 300_000 });
    fleet = new FaultFleet({ netName: DEFAULT_SERVER.netbiosName, account: c.account });
    await fleet.register(spread(c, N));
  }, 400_000);

  afterAll(async () => {
    fleet?.close();
    await c?.stop();
  }, 120_000);

  const run = async (f: Fault): Promise<FaultResult> => {
    if (!c || !fleet) throw new Error('cluster did not start');
    const r = await runFault(c, fleet, f, log);
    log(`${f.name}: last client told after ${r.lastToldMs ?? '-'} ms (${r.told}/${r.affected}); answers ${JSON.stringify(r.answers)}`);
    return r;
  };
  const clean = (r: FaultResult) => ({ lost: r.lost, duplicates: r.duplicates, falseNotifications: r.falseNotifications, serving: r.serving });

  it('a whole node hung 10 s: every client of its IP told UNAVAILABLE (CTDB alone: nothing), nothing lost, duplicated or false', async () => {
    const r = await run(byName('whole node hung'));
    expect(r.affected).toBe(N / 3); // IP0's clients, all registered at nodes 1 and 2
    expect(r.told).toBe(r.affected);
    expect(r.kinds).toEqual({ 'RESOURCE_CHANGE/UNAVAILABLE': r.affected });
    expect(clean(r)).toEqual({ lost: 0, duplicates: 0, falseNotifications: 0, serving: true });
  }, 300_000);

  it('its link cut 10 s: the others tell its IP\'s clients; the cut-off node tells its own clients nothing false', async () => {
    const r = await run(byName('link cut 10 s'));
    expect(r.told).toBe(r.affected);
    expect(clean(r)).toEqual({ lost: 0, duplicates: 0, falseNotifications: 0, serving: true });
  }, 300_000);

  it('its link cut 45 s (CTDB re-places its IP): the cut-off node tells its own clients nothing about the others\' IPs, during the cut or after', async () => {
    const r = await run(linkCut(45));
    expect(r.told).toBe(r.affected);
    expect(clean(r)).toEqual({ lost: 0, duplicates: 0, falseNotifications: 0, serving: true });
    // Stricter than "false": an IP CTDB moved back and forth after the rejoin counts as touched,
    // but the cut-off node's ctdbd never had a true word to say about the others' health.
    const cutOff = c?.node(0).address;
    const toldByCutOff = Object.keys(r.answers).filter((k) => k.startsWith(`${cutOff} → `) && /RESOURCE_CHANGE/.test(k));
    expect(toldByCutOff).toEqual([]);
  }, 300_000);

  it('its smbd killed while ctdbd lives: every client of its IP told by the SMB probe', async () => {
    const r = await run(byName('smbd killed'));
    expect(r.told).toBe(r.affected);
    expect(clean(r)).toEqual({ lost: 0, duplicates: 0, falseNotifications: 0, serving: true });
  }, 300_000);

  it('a slow node (1 s stalls every 3 s): no one told anything', async () => {
    const r = await run(slowNode(15));
    expect(r.told).toBe(0);
    expect(clean(r)).toEqual({ lost: 0, duplicates: 0, falseNotifications: 0, serving: true });
  }, 300_000);
});
