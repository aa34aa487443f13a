/**
 * The peer watch's rules (src/cluster/peers/judge.ts, README "Faster than CTDB"), one test
 * per rule, pure: no sockets, no clock but the numbers given.
 */
import { cutOffHold, freshStats, holdCtdbDown, judge, judgeSmb, mayRecover, recordProbe, REJOIN_WAIT_MS, type SmbView } from '../../../src/cluster/peers/judge';
import { peerWatchSchema } from '../../../src/config/peer-watch';
import { vouched } from '../../../src/cluster/peers/watch';

const cfg = peerWatchSchema.parse({}); // silenceMs 2000, refusedThreshold 2, recoveryThreshold 2
const nodes = ['pnn0', 'pnn1', 'pnn2'];
const all = (seen: SmbView[string]): SmbView => Object.fromEntries(nodes.map((n) => [n, seen]));
const view = (over: Partial<Record<string, SmbView[string]>>): SmbView => ({ ...all('serving'), ...over } as SmbView);

describe('R1: what one node judges of another node\'s SMB server', () => {
  it('serving while a probe answered within silenceMs; unknown before the first answer', () => {
    let s = freshStats(0);
    expect(judgeSmb(s, 500, cfg)).toBe('unknown');
    s = recordProbe(s, { ok: true }, 1000);
    expect(judgeSmb(s, 2999, cfg)).toBe('serving');
  });

  it('a stall shorter than silenceMs is not a failure, however many probes timed out', () => {
    let s = recordProbe(freshStats(0), { ok: true }, 1000);
    for (let t = 1250; t < 2900; t += 250) s = recordProbe(s, { ok: false }, t); // timeouts
    expect(judgeSmb(s, 2900, cfg)).toBe('serving');
    expect(judgeSmb(s, 3000, cfg)).toBe('silent');
  });

  it('refusedThreshold refused probes in a row: refused at once (a dead smbd), without waiting for silence', () => {
    let s = recordProbe(freshStats(0), { ok: true }, 1000);
    s = recordProbe(s, { ok: false, refused: true }, 1250);
    expect(judgeSmb(s, 1250, cfg)).toBe('serving');
    s = recordProbe(s, { ok: false, refused: true }, 1500);
    expect(judgeSmb(s, 1500, cfg)).toBe('refused');
    s = recordProbe(s, { ok: true }, 1750);
    expect(judgeSmb(s, 1750, cfg)).toBe('serving');
  });

  it('silence is evidence only against a node whose witnessd is not heard either; a refusal always is', () => {
    expect(vouched('silent', false)).toBe('silent'); // a whole-node hang or a cut
    expect(vouched('silent', true)).toBe('unknown'); // heard: a brown-out, not a failure
    expect(vouched('refused', true)).toBe('refused');
    expect(vouched('serving', true)).toBe('serving');
  });

  it('a node that never answered becomes silent silenceMs after judging began', () => {
    expect(judgeSmb(freshStats(0), 2000, cfg)).toBe('silent');
  });
});

describe('R2/R3: a majority of the cluster that still sees each other decides', () => {
  it('a hung node: the two others hear each other and both find it silent → down', () => {
    const v = judge({ self: 'pnn1', members: nodes, own: view({ pnn0: 'silent' }), heard: new Map([['pnn2', view({ pnn0: 'silent' })]]) });
    expect(v.quorate).toBe(true);
    expect([...v.down]).toEqual(['pnn0']);
  });

  it('one node\'s view alone is not enough (a one-sided link): no verdict', () => {
    const v = judge({ self: 'pnn1', members: nodes, own: view({ pnn0: 'silent' }), heard: new Map([['pnn2', view({})], ['pnn0', view({})]]) });
    expect(v.quorate).toBe(true);
    expect(v.down.size).toBe(0);
    expect(v.votes.get('pnn0')).toBe(1);
  });

  it('a dead smbd on a live node: the node itself votes too (heard, it finds its own smbd refused)', () => {
    const sees = view({ pnn0: 'refused' });
    const v = judge({ self: 'pnn1', members: ['pnn0', 'pnn1'], own: sees, heard: new Map([['pnn0', sees]]) });
    expect([...v.down]).toEqual(['pnn0']);
  });

  it('a node back from a cut does not fail itself on its peers\' stale "silent" while its own smbd answers it', () => {
    const stale = view({ pnn0: 'silent' });
    const v = judge({ self: 'pnn0', members: nodes, own: all('serving'), heard: new Map([['pnn1', stale], ['pnn2', stale]]) });
    expect(v.votes.get('pnn0')).toBe(2);
    expect(v.down.size).toBe(0);
  });

  it('a node still waiting for its first probe (unknown) is never down', () => {
    const v = judge({ self: 'pnn1', members: nodes, own: all('unknown'), heard: new Map([['pnn2', all('unknown')]]) });
    expect(v.down.size).toBe(0);
  });
});

describe('R5: a node cut off from the others judges no one', () => {
  it('hearing no peer, it is not quorate and finds no node down, though it sees every other node silent', () => {
    const v = judge({ self: 'pnn0', members: nodes, own: view({ pnn1: 'silent', pnn2: 'silent' }), heard: new Map() });
    expect(v.quorate).toBe(false);
    expect(v.down.size).toBe(0);
  });

  it('and holds back its own ctdbd\'s "peer inactive"', () => {
    const v = judge({ self: 'pnn0', members: nodes, own: view({ pnn1: 'silent', pnn2: 'silent' }), heard: new Map() });
    expect(holdCtdbDown('pnn1', v, false, false)).toMatch(/fewer than a majority/);
  });

  it('a peer that runs no witnessd still counts toward the majority when its SMB server answers (it cannot vote)', () => {
    const v = judge({ self: 'pnn1', members: nodes, own: view({ pnn0: 'silent' }), heard: new Map() });
    expect(v.quorate).toBe(true);
    expect(v.reached).toEqual(['pnn1', 'pnn2']);
    expect(v.voters).toEqual(['pnn1']);
    expect(v.down.size).toBe(0); // one vote is not a majority
    expect(holdCtdbDown('pnn0', v, false, false)).toBeUndefined(); // CTDB's word on the dead node applies
  });

  it('two nodes: neither side of a partition has a majority, so only CTDB decides', () => {
    const v = judge({ self: 'pnn0', members: ['pnn0', 'pnn1'], own: view({ pnn1: 'silent' }), heard: new Map() });
    expect(v.quorate).toBe(false);
    expect(v.down.size).toBe(0);
    expect(holdCtdbDown('pnn1', v, false, false)).toBeUndefined();
  });
});

describe('R5: a node that was cut off follows its cluster manager again only once it rejoined', () => {
  const island = judge({ self: 'pnn0', members: nodes, own: view({ pnn1: 'silent', pnn2: 'silent' }), heard: new Map() });
  const back = judge({ self: 'pnn0', members: nodes, own: all('serving'), heard: new Map([['pnn1', all('serving')], ['pnn2', all('serving')]]) });
  const heard = new Set(['pnn1', 'pnn2']);
  const rejoined = { unreached: [], placementAgreed: true };

  it('cut off, its ctdbd\'s facts about the others wait, fresh or not (it calls them gone, their IPs hosted by no node)', () => {
    expect(cutOffHold(island, new Set(), rejoined, 0)).toMatch(/fewer than a majority/);
    expect(cutOffHold(island, new Set(), undefined, 0)).toMatch(/fewer than a majority/);
  });

  it('back in a majority, they wait while its ctdbd still calls a peer it hears disconnected (the heartbeats came back first)', () => {
    expect(cutOffHold(back, heard, { unreached: ['pnn1', 'pnn2'], placementAgreed: true }, 100)).toMatch(/does not reach pnn1, pnn2.*not rejoined/);
  });

  it('and while the nodes\' IP lists disagree (its own still says the others\' IPs are hosted by no node)', () => {
    expect(cutOffHold(back, heard, { unreached: [], placementAgreed: false }, 100)).toMatch(/disagree/);
  });

  it('and until a fresh read: an older one is what the isolation left', () => {
    expect(cutOffHold(back, heard, undefined, 100)).toMatch(/fresh read/);
  });

  it('they apply once a fresh read shows it rejoined; a peer that died meanwhile (not heard) does not hold them', () => {
    expect(cutOffHold(back, heard, rejoined, 100)).toBeUndefined();
    const onePeer = judge({ self: 'pnn0', members: nodes, own: view({ pnn2: 'silent' }), heard: new Map([['pnn1', view({ pnn2: 'silent' })]]) });
    expect(cutOffHold(onePeer, new Set(['pnn1']), { unreached: ['pnn2'], placementAgreed: true }, 100)).toBeUndefined();
  });

  it('bounded: back in a majority REJOIN_WAIT_MS, it follows its ctdbd again (R6 then judges each peer it hears)', () => {
    expect(cutOffHold(back, heard, { unreached: ['pnn1'], placementAgreed: false }, REJOIN_WAIT_MS)).toBeUndefined();
  });
});

describe('R6: CTDB\'s word on a quorate node', () => {
  const quorate = judge({ self: 'pnn1', members: nodes, own: all('serving'), heard: new Map([['pnn2', all('serving')], ['pnn0', all('serving')]]) });

  it('applies at once for a node that is not heard or whose last probe failed (ctdbd killed, node gone)', () => {
    expect(holdCtdbDown('pnn0', quorate, false, true)).toBeUndefined();
    expect(holdCtdbDown('pnn0', quorate, true, false)).toBeUndefined();
  });

  it('waits for a node still heard whose SMB server answered (only this node\'s ctdbd lost it)', () => {
    expect(holdCtdbDown('pnn0', quorate, true, true)).toMatch(/still heard/);
  });
});

describe('R4: back', () => {
  it('after recoveryThreshold good probes in a row, not one', () => {
    let s = recordProbe(freshStats(0), { ok: false }, 100);
    s = recordProbe(s, { ok: true }, 200);
    expect(mayRecover(s, cfg)).toBe(false);
    s = recordProbe(s, { ok: true }, 300);
    expect(mayRecover(s, cfg)).toBe(true);
  });
});

describe('settings', () => {
  it('refuse a silence a lost heartbeat would break', () => {
    expect(peerWatchSchema.safeParse({ heartbeatMs: 600, silenceMs: 1000 }).success).toBe(false);
    expect(peerWatchSchema.safeParse({ heartbeatMs: 100, probeIntervalMs: 100, silenceMs: 1000 }).success).toBe(true);
  });
});
