import { demoConfig, parseConfig, DEMO_CONFIG_YAML } from '../../src/config';
import { ClusterModel, ModelError, createClusterModel } from '../../src/cluster/model';
import type { ClusterEvent } from '../../src/cluster/types';

function demo(): { model: ClusterModel; events: ClusterEvent[] } {
  const model = createClusterModel(demoConfig());
  const events: ClusterEvent[] = [];
  model.subscribe((e) => events.push(e));
  return { model, events };
}

function expectModelError(fn: () => unknown, code: string, text: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelError);
    expect((e as ModelError).code).toBe(code);
    expect((e as Error).message).toMatch(text);
    return;
  }
  throw new Error('expected a ModelError');
}

describe('views of the demo cluster', () => {
  it('nodes, LIFs, shares, SVM', () => {
    const { model } = demo();
    expect(model.nodes().map((n) => [n.name, n.partner, n.up, n.takenOver])).toEqual([
      ['node1', 'node2', true, false],
      ['node2', 'node1', true, false],
    ]);
    expect(model.lif('lif1')).toEqual({
      name: 'lif1', svm: 'vs1', ipv4: '127.0.0.11', ipv6: undefined, homeNode: 'node1', currentNode: 'node1', up: true, operational: true,
    });
    expect(model.svm('vs1')).toEqual({ name: 'vs1', netbiosName: 'SOFS', dnsName: 'sofs.demo.local', aliases: [], lifs: ['lif1', 'lif2'], shares: ['vmstore'] });
    expect(model.share('vs1', 'VMSTORE')).toEqual({ name: 'vmstore', svm: 'vs1', continuouslyAvailable: true, node: 'node1' });
    expect(model.shares('vs1')).toHaveLength(1);
    expect(model.shares('other')).toHaveLength(0);
    expect(model.findings()).toEqual([]);
  });

  it('lifByAddress compares addresses, not strings', () => {
    const { model } = demo();
    expect(model.lifByAddress('127.0.0.12')?.name).toBe('lif2');
    expect(model.lifByAddress('::ffff:127.0.0.11')?.name).toBe('lif1');
    expect(model.lifByAddress('127.0.0.13')).toBeUndefined();
    expect(model.lifByAddress('not an address')).toBeUndefined();
    const v6 = createClusterModel(parseConfig(DEMO_CONFIG_YAML.replace('ipv4: 127.0.0.12', 'ipv6: fd00:0:0::12'), 't'));
    expect(v6.lifByAddress('FD00::0:12')?.name).toBe('lif2');
    expect(v6.lif('lif2')?.ipv6).toBe('fd00::12');
  });

  it('views are snapshots: callers cannot change the model', () => {
    const { model } = demo();
    const svm = model.svm('vs1') as unknown as { lifs: string[] };
    svm.lifs.push('evil');
    expect(model.svm('vs1')?.lifs).toEqual(['lif1', 'lif2']);
  });
});

describe('unplanned failure and recovery', () => {
  it('failNode: NodeDown, LIFs and storage fail over to the SFO partner', () => {
    const { model, events } = demo();
    expect(model.failNode('node1')).toEqual([{ type: 'NodeDown', node: 'node1', partner: 'node2', lifs: ['lif1'] }]);
    expect(events).toEqual([{ type: 'NodeDown', node: 'node1', partner: 'node2', lifs: ['lif1'] }]);
    expect(model.node('node1')).toMatchObject({ up: false, takenOver: true });
    expect(model.lif('lif1')).toMatchObject({ currentNode: 'node2', homeNode: 'node1', operational: true });
    expect(model.share('vs1', 'vmstore')?.node).toBe('node2');
    expectModelError(() => model.failNode('node1'), 'invalid-state', /already down/);
  });

  it('recoverNode: NodeUp with the LIFs given back home', () => {
    const { model, events } = demo();
    model.failNode('node1');
    expect(model.recoverNode('node1')).toEqual([{ type: 'NodeUp', node: 'node1', lifs: ['lif1'] }]);
    expect(events.map((e) => e.type)).toEqual(['NodeDown', 'NodeUp']);
    expect(model.lif('lif1')).toMatchObject({ currentNode: 'node1', operational: true });
    expect(model.node('node1')).toMatchObject({ up: true, takenOver: false });
    expect(model.share('vs1', 'vmstore')?.node).toBe('node1');
    expectModelError(() => model.recoverNode('node1'), 'invalid-state', /already up/);
  });

  it('both nodes down: the second failure has nobody to fail over to', () => {
    const { model } = demo();
    model.failNode('node1');
    expect(model.failNode('node2')).toEqual([{ type: 'NodeDown', node: 'node2', lifs: ['lif1', 'lif2'] }]);
    expect(model.lifs().every((l) => !l.operational)).toBe(true);
    expect(model.node('node2')?.takenOver).toBe(false);
    // node1 comes back: its own LIF is still on node2 (down); node2's come back with node2.
    expect(model.recoverNode('node1')).toEqual([{ type: 'NodeUp', node: 'node1', lifs: ['lif1'] }]);
    expect(model.recoverNode('node2')).toEqual([{ type: 'NodeUp', node: 'node2', lifs: ['lif2'] }]);
  });

  it('unknown node', () => {
    const { model, events } = demo();
    expectModelError(() => model.failNode('node9'), 'not-found', /no node node9 \(nodes: node1, node2\)/);
    expect(events).toEqual([]);
  });
});

describe('planned operations', () => {
  it('takeover: every LifMoving before the move, then LifMoved planned', () => {
    const { model, events } = demo();
    const seen: string[] = [];
    model.subscribe((e) => seen.push(`${e.type}:${model.lif('lif1')?.currentNode}`));
    model.takeover('node1');
    expect(events).toEqual([
      { type: 'LifMoving', lif: 'lif1', svm: 'vs1', from: 'node1', to: 'node2' },
      { type: 'LifMoved', lif: 'lif1', svm: 'vs1', from: 'node1', to: 'node2', planned: true },
    ]);
    // Subscribers see the state before the move during LifMoving, after it during LifMoved.
    expect(seen).toEqual(['LifMoving:node1', 'LifMoved:node2']);
    expect(model.node('node1')).toMatchObject({ up: false, takenOver: true });
    expect(model.share('vs1', 'vmstore')?.node).toBe('node2');
    expectModelError(() => model.takeover('node1'), 'invalid-state', /not up/);
    expectModelError(() => model.takeover('node2'), 'invalid-state', /SFO partner node1 of node node2 is not up/);
  });

  it('giveback: planned moves home, then NodeUp', () => {
    const { model, events } = demo();
    expectModelError(() => model.giveback('node1'), 'invalid-state', /not taken over/);
    model.takeover('node1');
    events.length = 0;
    model.giveback('node1');
    expect(events).toEqual([
      { type: 'LifMoving', lif: 'lif1', svm: 'vs1', from: 'node2', to: 'node1' },
      { type: 'LifMoved', lif: 'lif1', svm: 'vs1', from: 'node2', to: 'node1', planned: true },
      { type: 'NodeUp', node: 'node1', lifs: ['lif1'] },
    ]);
    expect(model.node('node1')).toMatchObject({ up: true, takenOver: false });
    expect(model.share('vs1', 'vmstore')?.node).toBe('node1');
  });

  it('migrateLif', () => {
    const { model, events } = demo();
    model.migrateLif('lif2', 'node1');
    expect(events).toEqual([
      { type: 'LifMoving', lif: 'lif2', svm: 'vs1', from: 'node2', to: 'node1' },
      { type: 'LifMoved', lif: 'lif2', svm: 'vs1', from: 'node2', to: 'node1', planned: true },
    ]);
    expect(model.lif('lif2')).toMatchObject({ homeNode: 'node2', currentNode: 'node1' });
    expectModelError(() => model.migrateLif('lif2', 'node1'), 'invalid-state', /already on node node1/);
    expectModelError(() => model.migrateLif('lif9', 'node1'), 'not-found', /no LIF lif9/);
    model.failNode('node2');
    expectModelError(() => model.migrateLif('lif1', 'node2'), 'invalid-state', /node node2 is not up/);
  });

  it('moveShare (volume move / ARL)', () => {
    const { model, events } = demo();
    expect(model.moveShare('vmstore', 'node2')).toEqual([{ type: 'ShareMoved', share: 'vmstore', svm: 'vs1', from: 'node1', to: 'node2' }]);
    expect(events).toHaveLength(1);
    expect(model.share('vs1', 'vmstore')?.node).toBe('node2');
    expectModelError(() => model.moveShare('vmstore', 'node2', 'vs1'), 'invalid-state', /already served by node node2/);
    expectModelError(() => model.moveShare('nope', 'node1'), 'not-found', /no share nope/);
    expectModelError(() => model.moveShare('vmstore', 'node1', 'vs9'), 'not-found', /no SVM vs9/);
    // After an ARL the share's home is the new node: a takeover of node2 and giveback returns it there.
    model.takeover('node2');
    expect(model.share('vs1', 'vmstore')?.node).toBe('node1');
    model.giveback('node2');
    expect(model.share('vs1', 'vmstore')?.node).toBe('node2');
  });

  it('LIF down/up', () => {
    const { model, events } = demo();
    model.setLifDown('lif1');
    expect(model.lif('lif1')).toMatchObject({ up: false, operational: false });
    expectModelError(() => model.setLifDown('lif1'), 'invalid-state', /already down/);
    model.setLifUp('lif1');
    expect(events).toEqual([
      { type: 'LifDown', lif: 'lif1', svm: 'vs1' },
      { type: 'LifUp', lif: 'lif1', svm: 'vs1' },
    ]);
  });

  it('changeLifAddress', () => {
    const { model, events } = demo();
    model.changeLifAddress('lif1', { ipv4: '127.0.0.21', ipv6: 'fd00::21' });
    expect(events).toEqual([{ type: 'LifAddressChanged', lif: 'lif1', svm: 'vs1', old: { ipv4: '127.0.0.11' }, now: { ipv4: '127.0.0.21', ipv6: 'fd00::21' } }]);
    expect(model.lifByAddress('127.0.0.11')).toBeUndefined();
    expect(model.lifByAddress('fd00:0::21')?.name).toBe('lif1');
    expectModelError(() => model.changeLifAddress('lif1', { ipv4: '127.0.0.12' }), 'invalid-argument', /belongs to LIF lif2/);
    expectModelError(() => model.changeLifAddress('lif1', { ipv4: 'x' }), 'invalid-argument', /not an IPv4/);
    expectModelError(() => model.changeLifAddress('lif1', { ipv4: null, ipv6: null }), 'invalid-argument', /needs an IPv4 or an IPv6/);
    model.changeLifAddress('lif1', { ipv6: null });
    expect(model.lif('lif1')?.ipv6).toBeUndefined();
  });

  it('clientMove', () => {
    const { model, events } = demo();
    model.clientMove('hv01.demo.local', 'node2');
    expect(events).toEqual([{ type: 'ClientMoveRequested', client: 'hv01.demo.local', to: 'node2' }]);
    expectModelError(() => model.clientMove('hv01', 'node7'), 'not-found', /no node node7/);
    expectModelError(() => model.clientMove(' ', 'node1'), 'invalid-argument', /client name/);
  });

  it('a throwing subscriber neither stops the others nor the model', () => {
    const { model, events } = demo();
    model.subscribe(() => {
      throw new Error('boom');
    });
    const late: ClusterEvent[] = [];
    model.subscribe((e) => late.push(e));
    model.failNode('node2');
    expect(events).toHaveLength(1);
    expect(late).toHaveLength(1);
    expect(model.node('node2')?.up).toBe(false);
  });

  it('unsubscribe and the recent event list', () => {
    const { model, events } = demo();
    const seen: ClusterEvent[] = [];
    const off = model.subscribe((e) => seen.push(e));
    model.setLifDown('lif1');
    off();
    model.setLifUp('lif1');
    expect(seen).toHaveLength(1);
    expect(events).toHaveLength(2);
    expect(model.recentEvents().map((t) => t.event.type)).toEqual(['LifDown', 'LifUp']);
    for (let i = 0; i < 40; i++) {
      model.setLifDown('lif1');
      model.setLifUp('lif1');
    }
    expect(model.recentEvents()).toHaveLength(50);
  });
});

describe('deployment findings', () => {
  const base = `nodes:
  - name: n1
    partner: n2
  - name: n2
    partner: n1
  - name: n3
svms:
  - name: s1
    netbiosName: S1
    dnsName: s1.example
    lifs:
      - { name: a, ipv4: 10.0.0.1, homeNode: n1 }
      - { name: b, ipv4: 10.0.0.2, homeNode: n9 }
    shares:
      - { name: data, node: n1 }
      - { name: ca, node: n7, continuouslyAvailable: true }
  - name: s2
    netbiosName: S2
    dnsName: s2.example
watcher:
  mode: simulated
`;
  it('names the SVM, node or LIF of every broken rule', () => {
    const f = createClusterModel(parseConfig(base, 't')).findings();
    expect(f).toEqual(
      expect.arrayContaining([
        { severity: 'warning', node: 'n3', message: 'node n3 has no SFO partner: no node can witness for it, and its LIFs cannot fail over' },
        { severity: 'error', svm: 's1', lif: 'b', message: 'LIF b of SVM s1 has home node n9, which does not exist' },
        { severity: 'warning', svm: 's1', node: 'n2', message: 'SVM s1 has no operational data LIF on node n2, so it cannot witness for its SFO partner n1' },
        { severity: 'warning', svm: 's1', node: 'n3', message: 'SVM s1 has no operational data LIF on node n3' },
        { severity: 'error', svm: 's2', message: 'SVM s2 has no data LIF: clients cannot reach it and no witness can serve it' },
        { severity: 'error', svm: 's1', message: 'share ca of SVM s1 is served by node n7, which does not exist' },
        expect.objectContaining({ severity: 'warning', svm: 's1', message: expect.stringMatching(/^share data of SVM s1 is not continuously available/) }),
      ]),
    );
    expect(f).toHaveLength(7);
  });

  it('partner problems and missing probe addresses', () => {
    const cfg = parseConfig(
      `nodes:\n  - { name: n1, partner: n2 }\n  - { name: n2, partner: n3 }\n  - { name: n3, partner: n3 }\n  - { name: n4, partner: n5 }\nsvms:\n  - name: s\n    netbiosName: S\n    dnsName: s.x\n    lifs:\n      - { name: a, ipv4: 10.0.0.1, homeNode: n1 }\n`,
      't',
    );
    const messages = createClusterModel(cfg).findings().map((x) => `${x.severity}: ${x.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        'warning: node n1 names n2 as SFO partner, but n2 names n3: an SFO pair is mutual',
        'error: node n3 names itself as its SFO partner',
        'error: node n4 names SFO partner n5, which does not exist',
        'warning: node n1 has no smbAddress: the health watcher cannot probe it',
      ]),
    );
  });

  it('follows the state: a LIF going down on a node raises the witness warning', () => {
    const { model } = demo();
    model.setLifDown('lif2');
    expect(model.findings()).toEqual([
      { severity: 'warning', svm: 'vs1', node: 'node2', message: 'SVM vs1 has no operational data LIF on node node2, so it cannot witness for its SFO partner node1' },
    ]);
  });
});

describe('applyConfig (reload)', () => {
  it('an unchanged config raises nothing and keeps runtime state', () => {
    const { model, events } = demo();
    model.failNode('node1');
    events.length = 0;
    expect(model.applyConfig(demoConfig())).toEqual([]);
    expect(model.node('node1')).toMatchObject({ up: false, takenOver: true });
    expect(model.lif('lif1')?.currentNode).toBe('node2');
  });

  it('diffs LIF moves, address changes, up/down, share moves and removed LIFs into events', () => {
    const { model, events } = demo();
    const next = parseConfig(
      DEMO_CONFIG_YAML.replace(/currentNode: node2\n        up: true/, 'currentNode: node1\n        up: true')
        .replace('ipv4: 127.0.0.11', 'ipv4: 127.0.0.21')
        .replace(/node: node1\n/, 'node: node2\n')
        .replace('addresses: [127.0.0.11, 127.0.0.12]', 'addresses: [127.0.0.21, 127.0.0.12]'),
      'next.yaml',
    );
    const out = model.applyConfig(next);
    expect(out).toEqual(events);
    expect(events).toEqual([
      { type: 'LifMoving', lif: 'lif2', svm: 'vs1', from: 'node2', to: 'node1' },
      { type: 'LifMoved', lif: 'lif2', svm: 'vs1', from: 'node2', to: 'node1', planned: true },
      { type: 'LifAddressChanged', lif: 'lif1', svm: 'vs1', old: { ipv4: '127.0.0.11' }, now: { ipv4: '127.0.0.21' } },
      { type: 'ShareMoved', share: 'vmstore', svm: 'vs1', from: 'node1', to: 'node2' },
    ]);
    expect(model.lifByAddress('127.0.0.21')?.name).toBe('lif1');
    expect(model.currentConfig().source).toBe('next.yaml');

    events.length = 0;
    const fewer = parseConfig(DEMO_CONFIG_YAML.replace(/      - name: lif2\n(        .*\n){4}/, '').replace(/up: true/, 'up: false'), 'fewer.yaml');
    model.applyConfig(fewer);
    expect(events).toEqual([
      { type: 'LifAddressChanged', lif: 'lif1', svm: 'vs1', old: { ipv4: '127.0.0.21' }, now: { ipv4: '127.0.0.11' } },
      { type: 'LifDown', lif: 'lif1', svm: 'vs1' },
      { type: 'ShareMoved', share: 'vmstore', svm: 'vs1', from: 'node2', to: 'node1' },
      { type: 'LifDown', lif: 'lif2', svm: 'vs1' },
    ]);
    expect(model.lif('lif2')).toBeUndefined();
    expect(model.svm('vs1')?.lifs).toEqual(['lif1']);
  });
});
