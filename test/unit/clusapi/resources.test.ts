import pino from 'pino';
import { demoConfig, parseConfig, DEMO_CONFIG_YAML } from '../../../src/config';
import { createClusterModel, type ClusterModel } from '../../../src/cluster/model';
import type { ClusterEvent } from '../../../src/cluster/types';
import { ClusterResources, ClusterResourceState, ERROR } from '../../../src/clusapi/resources';
import type { CallContext } from '../../../src/rpc/call-context';
import { AuthLevel } from '../../../src/rpc/security';

const silent = pino({ level: 'silent' });

interface FakeGroup {
  id: number;
  close(): void;
}

function group(id: number): FakeGroup & { ref: CallContext['associationGroup'] } {
  const listeners: Array<(g: CallContext['associationGroup']) => void> = [];
  const ref: CallContext['associationGroup'] = {
    id,
    onClose(l) {
      listeners.push(l);
      return () => undefined;
    },
  };
  return {
    id,
    close: () => listeners.splice(0).forEach((l) => l(ref)),
    ref,
  };
}

function ctx(g: ReturnType<typeof group>, level = AuthLevel.Privacy, anonymous = false): CallContext {
  return {
    callId: 1,
    connectionId: 1,
    associationGroup: g.ref,
    localAddress: '127.0.0.11',
    localPort: 49701,
    remoteAddress: '127.0.0.11',
    remotePort: 50000,
    identity: anonymous ? { domain: '', user: '', anonymous: true } : { domain: 'DEMO', user: 'demo', anonymous: false },
    authLevel: anonymous ? AuthLevel.None : level,
    onAbort: () => undefined,
  };
}

describe('clusapi resources mapped onto the cluster model', () => {
  let model: ClusterModel;
  let events: ClusterEvent[];
  let res: ClusterResources;
  let g: ReturnType<typeof group>;

  beforeEach(() => {
    model = createClusterModel(demoConfig());
    events = [];
    model.subscribe((e) => events.push(e));
    res = new ClusterResources(model, silent, { allowAnonymous: true });
    g = group(7);
  });

  it('opens the resource by NetBIOS name, DNS name or alias, case-insensitively; unknown names are RESOURCE_NOT_FOUND', () => {
    for (const name of ['SOFS', 'sofs', 'sofs.demo.local', 'SOFS.DEMO.LOCAL']) {
      const r = res.open(ctx(g), name);
      expect(r.status).toBe(ERROR.SUCCESS);
      expect(r.handle?.svm).toBe('vs1');
      expect(r.handle?.name).toBe('SOFS');
    }
    for (const name of ['', '   ', 'jfUF38fjSNcfn', 'vs1', 'Cluster Name']) {
      const r = res.open(ctx(g), name);
      expect(r).toEqual({ status: ERROR.RESOURCE_NOT_FOUND });
    }
  });

  it('offline takes every LIF of the SVM down (LifDown events) and online brings them back (LifUp)', () => {
    const h = res.open(ctx(g), 'SOFS').handle!;
    expect(res.getState(ctx(g), h.id)).toEqual({ status: 0, state: ClusterResourceState.Online, nodeName: 'node1', groupName: 'vs1' });

    expect(res.offline(ctx(g), h.id)).toBe(ERROR.SUCCESS);
    expect(events).toEqual([
      { type: 'LifDown', lif: 'lif1', svm: 'vs1' },
      { type: 'LifDown', lif: 'lif2', svm: 'vs1' },
    ]);
    expect(model.lifs().every((l) => !l.up)).toBe(true);
    expect(res.getState(ctx(g), h.id).state).toBe(ClusterResourceState.Offline);

    // Offline again: success, nothing changes.
    events.length = 0;
    expect(res.offline(ctx(g), h.id)).toBe(ERROR.SUCCESS);
    expect(events).toEqual([]);

    expect(res.online(ctx(g), h.id)).toBe(ERROR.SUCCESS);
    expect(events).toEqual([
      { type: 'LifUp', lif: 'lif1', svm: 'vs1' },
      { type: 'LifUp', lif: 'lif2', svm: 'vs1' },
    ]);
    expect(res.getState(ctx(g), h.id).state).toBe(ClusterResourceState.Online);

    // Online again: success, nothing changes.
    events.length = 0;
    expect(res.online(ctx(g), h.id)).toBe(ERROR.SUCCESS);
    expect(events).toEqual([]);
  });

  it('online brings back only the LIFs offline took down, not one the operator downed before', () => {
    model.setLifDown('lif2');
    const h = res.open(ctx(g), 'SOFS').handle!;
    expect(res.getState(ctx(g), h.id).state).toBe(ClusterResourceState.Online);
    events.length = 0;
    res.offline(ctx(g), h.id);
    expect(events).toEqual([{ type: 'LifDown', lif: 'lif1', svm: 'vs1' }]);
    events.length = 0;
    res.online(ctx(g), h.id);
    expect(events).toEqual([{ type: 'LifUp', lif: 'lif1', svm: 'vs1' }]);
    expect(model.lif('lif2')?.up).toBe(false);
  });

  it('online of a resource whose LIFs were all downed elsewhere brings every LIF up', () => {
    model.setLifDown('lif1');
    model.setLifDown('lif2');
    const h = res.open(ctx(g), 'SOFS').handle!;
    expect(res.getState(ctx(g), h.id).state).toBe(ClusterResourceState.Offline);
    events.length = 0;
    expect(res.online(ctx(g), h.id)).toBe(ERROR.SUCCESS);
    expect(events.map((e) => e.type)).toEqual(['LifUp', 'LifUp']);
  });

  it('reports Failed when LIFs are up but no node can serve them, and names the hosting node', () => {
    const h = res.open(ctx(g), 'SOFS').handle!;
    model.failNode('node1'); // lif1 fails over to node2
    expect(res.getState(ctx(g), h.id)).toMatchObject({ state: ClusterResourceState.Online, nodeName: 'node2' });
    model.failNode('node2'); // nobody left
    expect(res.getState(ctx(g), h.id).state).toBe(ClusterResourceState.Failed);
  });

  it('close invalidates the handle; handles of another association group are invalid', () => {
    const h = res.open(ctx(g), 'SOFS').handle!;
    const other = group(8);
    expect(res.getState(ctx(other), h.id).status).toBe(ERROR.INVALID_HANDLE);
    expect(res.offline(ctx(other), h.id)).toBe(ERROR.INVALID_HANDLE);
    expect(res.online(ctx(other), h.id)).toBe(ERROR.INVALID_HANDLE);
    expect(res.close(ctx(other), h.id)).toBe(ERROR.INVALID_HANDLE);
    expect(res.close(ctx(g), h.id)).toBe(ERROR.SUCCESS);
    expect(res.close(ctx(g), h.id)).toBe(ERROR.INVALID_HANDLE);
    expect(res.getState(ctx(g), h.id).status).toBe(ERROR.INVALID_HANDLE);
    expect(model.lifs().every((l) => l.up)).toBe(true);
  });

  it('drops a group\'s handles when the association group closes', () => {
    res.open(ctx(g), 'SOFS');
    res.open(ctx(g), 'SOFS');
    expect(res.openHandles).toBe(2);
    g.close();
    expect(res.openHandles).toBe(0);
  });

  it('bounds the handles one association group may hold', () => {
    const small = new ClusterResources(model, silent, { allowAnonymous: true, maxHandlesPerGroup: 3 });
    for (let i = 0; i < 3; i++) expect(small.open(ctx(g), 'SOFS').status).toBe(ERROR.SUCCESS);
    expect(small.open(ctx(g), 'SOFS')).toEqual({ status: ERROR.NOT_ENOUGH_MEMORY });
    expect(small.open(ctx(group(9)), 'SOFS').status).toBe(ERROR.SUCCESS);
  });

  it('access: anonymous only when allowed; authenticated callers need packet privacy (MS-CMRP 2.1)', () => {
    const strict = new ClusterResources(model, silent, { allowAnonymous: false });
    expect(strict.checkAccess(ctx(g, AuthLevel.None, true))).toMatchObject({ status: ERROR.ACCESS_DENIED });
    expect(strict.checkAccess(ctx(g, AuthLevel.Integrity))).toMatchObject({ status: ERROR.ACCESS_DENIED });
    expect(strict.checkAccess(ctx(g, AuthLevel.Privacy))).toBeUndefined();
    expect(res.checkAccess(ctx(g, AuthLevel.None, true))).toBeUndefined();
    expect(res.checkAccess(ctx(g, AuthLevel.Integrity))).toMatchObject({ status: ERROR.ACCESS_DENIED });
    const lax = new ClusterResources(model, silent, { minimumAuthLevel: AuthLevel.Integrity });
    expect(lax.checkAccess(ctx(g, AuthLevel.Integrity))).toBeUndefined();
  });

  it('after a reload that renames the CIFS server, the old handle stays valid for its SVM and the new name opens it', () => {
    const h = res.open(ctx(g), 'SOFS').handle!;
    model.applyConfig(parseConfig(DEMO_CONFIG_YAML.replace('netbiosName: SOFS', 'netbiosName: SOFS2'), 't'));
    expect(res.getState(ctx(g), h.id).status).toBe(ERROR.SUCCESS);
    expect(res.open(ctx(g), 'SOFS')).toEqual({ status: ERROR.RESOURCE_NOT_FOUND });
    expect(res.open(ctx(g), 'SOFS2').handle?.svm).toBe('vs1');
  });

  it('after a reload that removes the SVM, its handles answer RESOURCE_NOT_FOUND and change nothing', () => {
    const h = res.open(ctx(g), 'SOFS').handle!;
    model.applyConfig(parseConfig(DEMO_CONFIG_YAML.replace('name: vs1', 'name: vs9'), 't'));
    events.length = 0;
    expect(res.getState(ctx(g), h.id).status).toBe(ERROR.RESOURCE_NOT_FOUND);
    expect(res.offline(ctx(g), h.id)).toBe(ERROR.RESOURCE_NOT_FOUND);
    expect(res.online(ctx(g), h.id)).toBe(ERROR.RESOURCE_NOT_FOUND);
    expect(events).toEqual([]);
    expect(res.close(ctx(g), h.id)).toBe(ERROR.SUCCESS);
  });
});
