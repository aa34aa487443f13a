/**
 * The releaseip hook on the holder when no node knows the destination yet: a guess (the other
 * nodes' addresses) normally, nothing while this node is cut off (the peer watch's R5: the
 * re-read after the release reports the IP UNAVAILABLE instead).
 */
import { parseConfig } from '../../../src/config';
import { ClusterModel } from '../../../src/cluster/model';
import type { CtdbLink } from '../../../src/cluster/ctdb/link';
import { answerHook } from '../../../src/cluster/ctdb/releaseip';
import type { CtdbSnapshot } from '../../../src/cluster/ctdb/snapshot';
import { configFromSnapshot, newSyncState, syncModel } from '../../../src/cluster/ctdb/sync';
import type { ClusterEvent } from '../../../src/cluster/types';

const base = parseConfig('cluster: { source: ctdb, server: { netbiosName: SOFS, dnsName: sofs.test }, shares: [{ name: data }] }\n', 'c.yaml');
const ips = (h0: number | undefined) => [{ address: '192.0.2.1', host: h0, possible: [0, 1, 2] }, { address: '192.0.2.2', host: 1, possible: [0, 1, 2] }];
const snap = (h0: number | undefined): CtdbSnapshot => ({ pnn: 0, nodes: [0, 1, 2].map((pnn) => ({ pnn, flags: 0, address: `10.0.0.${pnn + 1}` })), ips: ips(h0), unanswered: [], disagreed: [] });
/** Nobody answers where the IP goes (a cut-off node reaches no other ctdbd). */
const link = { destinationOf: async () => undefined, resync: async () => undefined } as unknown as CtdbLink;

function setup(cutOff: string | undefined) {
  const model = new ClusterModel(configFromSnapshot(base, snap(0), 445));
  const events: ClusterEvent[] = [];
  model.subscribe((e) => events.push(e));
  const state = newSyncState();
  state.holdCutOff = () => cutOff;
  return { model, state, events };
}

describe('releaseip with the destination unknown', () => {
  it('a node in the cluster guesses: CLIENT_MOVE to another node', async () => {
    const { model, state, events } = setup(undefined);
    expect(await answerHook({ event: 'releaseip', ip: '192.0.2.1', pnn: 0, waitMs: 50 }, { link, model, state, witness: undefined, log: undefined })).toMatchObject({ destination: 'pnn1' });
    expect(events.map((e) => e.type)).toEqual(['LifMoving']);
  });

  it('a node cut off announces nothing; the re-read after the release tells UNAVAILABLE', async () => {
    const { model, state, events } = setup('cut off');
    const reply = await answerHook({ event: 'releaseip', ip: '192.0.2.1', pnn: 0, waitMs: 50 }, { link, model, state, witness: undefined, log: undefined });
    expect(reply.destination).toBeUndefined();
    expect(events).toEqual([]);
    expect(syncModel(model, snap(undefined), base, 445, state).map((e) => e.type)).toEqual(['LifDown']);
  });
});
