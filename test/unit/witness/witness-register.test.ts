import { WERR } from '../../../src/witness/constants';
import type { RegisterArgs } from '../../../src/witness/types';
import { MAX_CLIENT_NAME, MAX_IP_ADDRESS, MAX_NET_NAME, MAX_SHARE_NAME } from '../../../src/witness/validate';
import { FakeGroup, asyncNotify, ctx, registerV1, registerV2, setup } from './helpers';

const V1 = 0x00010001;
const V2 = 0x00020000;

/** smbtorture rpc.witness "Register" negatives (MS-SWN.md §6), with the versions swapped for RegisterEx. */
function negatives(own: number, other: number): Array<[string, RegisterArgs, number]> {
  const n = undefined;
  return [
    ['version 0', { version: 0, netName: n, ipAddress: n, clientName: n }, WERR.REVISION_MISMATCH],
    ['version 1', { version: 1, netName: n, ipAddress: n, clientName: n }, WERR.REVISION_MISMATCH],
    ['version 123456', { version: 123456, netName: n, ipAddress: n, clientName: n }, WERR.REVISION_MISMATCH],
    ['version -1', { version: 0xffffffff, netName: n, ipAddress: n, clientName: n }, WERR.REVISION_MISMATCH],
    ['the other version', { version: other, netName: n, ipAddress: n, clientName: n }, WERR.REVISION_MISMATCH],
    ['empty strings', { version: own, netName: '', ipAddress: '', clientName: '' }, WERR.INVALID_PARAMETER],
    ['NULL net and ip', { version: own, netName: n, ipAddress: n, clientName: 'TORTURE' }, WERR.INVALID_PARAMETER],
    ['other version, NULLs (version first)', { version: other, netName: n, ipAddress: n, clientName: 'TORTURE' }, WERR.REVISION_MISMATCH],
    ['net = binding host, NULL ip', { version: own, netName: '127.0.0.12', ipAddress: n, clientName: 'TORTURE' }, WERR.INVALID_PARAMETER],
  ];
}

describe('Register (opnum 1) validation order and WERRORs (Decisions 4–5)', () => {
  const { svc } = setup();
  const c = ctx(new FakeGroup(1));
  afterAll(() => svc.close());

  test.each(negatives(V1, V2))('%s', (_name, args, expected) => {
    expect(svc.register(c, args, false).result).toBe(expected);
  });

  test('NetName: NetBIOS name, DNS name and aliases match case-insensitively; anything else is 0x57', () => {
    for (const net of ['SOFS', 'sofs', 'SOFS.DEMO.LOCAL', 'sofs.demo.local']) {
      expect(svc.register(c, { version: V1, netName: net, ipAddress: '127.0.0.11', clientName: 'h' }, false).result).toBe(WERR.OK);
    }
    expect(svc.register(c, { version: V1, netName: 'OTHER', ipAddress: '127.0.0.11', clientName: 'h' }, false).result).toBe(WERR.INVALID_PARAMETER);
  });

  test('NetName is checked before IpAddress', () => {
    expect(svc.register(c, { version: V1, netName: 'OTHER', ipAddress: 'junk', clientName: 'h' }, false).result).toBe(WERR.INVALID_PARAMETER);
  });

  test('IpAddress must be a data LIF address of that SVM (any state), else 0x139F', () => {
    for (const ip of ['127.0.0.1', '10.1.1.1', 'not-an-ip', '']) {
      expect(svc.register(c, { version: V1, netName: 'SOFS', ipAddress: ip, clientName: 'h' }, false).result).toBe(WERR.INVALID_STATE);
    }
    expect(svc.register(c, { version: V1, netName: 'SOFS', ipAddress: '127.0.0.12', clientName: 'h' }, false).result).toBe(WERR.OK);
  });

  test('an overlong ClientComputerName is refused with 0x57 (it is the one string kept as sent), as one with control or bidi characters', () => {
    expect(svc.register(c, { version: V1, netName: 'SOFS', ipAddress: '127.0.0.11', clientName: 'x'.repeat(MAX_CLIENT_NAME + 1) }, false).result).toBe(WERR.INVALID_PARAMETER);
    expect(svc.register(c, { version: V1, netName: 'SOFS', ipAddress: '127.0.0.11', clientName: 'x'.repeat(MAX_CLIENT_NAME) }, false).result).toBe(WERR.OK);
    for (const bad of ['hv\u001b]0;x\u0007', 'hv\r\nfake line', 'abc\u202Efdp', 'hv\u009b2J']) {
      expect(svc.register(c, { version: V1, netName: 'SOFS', ipAddress: '127.0.0.11', clientName: bad }, false).result).toBe(WERR.INVALID_PARAMETER);
    }
  });

  test('every client string has a length limit; the address is stored as the LIF\'s own text, not as the client padded it', () => {
    const ok = { version: V2, netName: 'SOFS', shareName: 'vmstore', ipAddress: '127.0.0.11', clientName: 'h' };
    expect(svc.register(c, { ...ok, ipAddress: `${'\n'.repeat(2_000_000)}127.0.0.11` }, true).result).toBe(WERR.INVALID_STATE);
    expect(svc.register(c, { ...ok, ipAddress: ` ${' '.repeat(MAX_IP_ADDRESS)}127.0.0.11` }, true).result).toBe(WERR.INVALID_STATE);
    expect(svc.register(c, { ...ok, netName: 'S'.repeat(MAX_NET_NAME + 1) }, true).result).toBe(WERR.INVALID_PARAMETER);
    expect(svc.register(c, { ...ok, shareName: 's'.repeat(MAX_SHARE_NAME + 1) }, true).result).toBe(WERR.INVALID_STATE);
    const r = svc.register(c, { ...ok, ipAddress: '  127.0.0.11\n' }, true);
    expect(r.result).toBe(WERR.OK);
    expect(svc.list({ id: r.handle })[0].ipAddress).toBe('127.0.0.11');
  });

  test('an empty ClientComputerName is not NULL and is accepted', () => {
    expect(svc.register(c, { version: V1, netName: 'SOFS', ipAddress: '127.0.0.11', clientName: '' }, false).result).toBe(WERR.OK);
  });
});

test('configured aliases are accepted as NetName; the IP must belong to the SVM that owns the name', () => {
  const yaml = `
nodes:
  - { name: a, partner: b }
  - { name: b, partner: a }
svms:
  - name: vs1
    netbiosName: FS1
    dnsName: fs1.example
    aliases: [HVSTORE, hvstore.example]
    lifs:
      - { name: l1, ipv4: 10.0.0.1, homeNode: a, currentNode: a, up: true }
    shares: []
  - name: vs2
    netbiosName: FS2
    dnsName: fs2.example
    lifs:
      - { name: l2, ipv4: 10.0.0.2, homeNode: b, currentNode: b, up: true }
    shares: []
`;
  const { svc } = setup({}, yaml);
  const c = ctx(new FakeGroup(1), '10.0.0.2');
  const reg = (netName: string, ipAddress: string) => svc.register(c, { version: V1, netName, ipAddress, clientName: 'h' }, false).result;
  expect(reg('hvstore', '10.0.0.1')).toBe(WERR.OK);
  expect(reg('HVSTORE.EXAMPLE', '10.0.0.1')).toBe(WERR.OK);
  expect(reg('FS2', '10.0.0.2')).toBe(WERR.OK);
  // FS1's name with FS2's LIF: not a data LIF of that SVM.
  expect(reg('FS1', '10.0.0.2')).toBe(WERR.INVALID_STATE);
  svc.close();
});

describe('RegisterEx (opnum 4)', () => {
  const { svc, model } = setup();
  const c = ctx(new FakeGroup(2));
  afterAll(() => svc.close());

  test.each(negatives(V2, V1))('%s', (_name, args, expected) => {
    expect(svc.register(c, { ...args, shareName: undefined, flags: 0, keepAliveTimeout: 0 }, true).result).toBe(expected);
  });

  test('an unknown ShareName → 0x139F; NULL ShareName → 0; a share of the SVM (any case) → 0', () => {
    const base = { version: V2, netName: 'SOFS', ipAddress: '127.0.0.11', clientName: 'h', flags: 0, keepAliveTimeout: 0 };
    expect(svc.register(c, { ...base, shareName: 'any_invalid_share_name' }, true).result).toBe(WERR.INVALID_STATE);
    expect(svc.register(c, { ...base, shareName: undefined }, true).result).toBe(WERR.OK);
    expect(svc.register(c, { ...base, shareName: 'VMSTORE' }, true).result).toBe(WERR.OK);
  });

  test('ShareName is checked before IpAddress, after NetName', () => {
    const base = { version: V2, clientName: 'h', flags: 0, keepAliveTimeout: 0 };
    expect(svc.register(c, { ...base, netName: 'NOPE', shareName: 'bad', ipAddress: 'bad' }, true).result).toBe(WERR.INVALID_PARAMETER);
    expect(svc.register(c, { ...base, netName: 'SOFS', shareName: 'vmstore', ipAddress: 'bad' }, true).result).toBe(WERR.INVALID_STATE);
  });

  test('a LIF that is down still registers; the registration remembers flags and keep-alive', () => {
    model.setLifDown('lif1');
    const h = registerV2(svc, c, { share: 'vmstore', flags: 1, keepAlive: 7 });
    const info = svc.list({ id: h })[0];
    expect(info).toMatchObject({ version: V2, shareName: 'vmstore', flags: 1, keepAliveTimeout: 7, lif: 'lif1', svm: 'vs1' });
  });
});

describe('UnRegister (opnum 2) / UnRegisterEx (opnum 5)', () => {
  test('first UnRegister → 0, second → 0x57 (smbtorture)', () => {
    const { svc } = setup();
    const c = ctx(new FakeGroup(1));
    const h = registerV1(svc, c);
    expect(svc.unRegister(c, h)).toBe(WERR.OK);
    expect(svc.unRegister(c, h)).toBe(WERR.INVALID_PARAMETER);
    expect(svc.unRegister(c, '00000000-0000-0000-0000-000000000000')).toBe(WERR.INVALID_PARAMETER);
    svc.close();
  });

  test('UnRegisterEx removes; unknown → 0x57', () => {
    const { svc } = setup();
    const c = ctx(new FakeGroup(1));
    const h = registerV2(svc, c);
    expect(svc.unRegisterEx(c, h)).toBe(WERR.OK);
    expect(svc.counts().registrations).toBe(0);
    expect(svc.unRegisterEx(c, h)).toBe(WERR.INVALID_PARAMETER);
    svc.close();
  });

  test('handles are usable only by the same association group AND identity', async () => {
    const { svc } = setup();
    const g = new FakeGroup(1);
    const alice = { domain: 'D', user: 'alice', anonymous: false };
    const bob = { domain: 'D', user: 'bob', anonymous: false };
    const h = registerV1(svc, ctx(g, '127.0.0.12', alice));
    // Another association group, same user: unknown.
    expect(svc.unRegister(ctx(new FakeGroup(2), '127.0.0.12', alice), h)).toBe(WERR.INVALID_PARAMETER);
    expect((await asyncNotify(svc, ctx(new FakeGroup(2), '127.0.0.12', alice), h)).result).toBe(WERR.NOT_FOUND);
    // Same group, another identity (or anonymous): unknown.
    expect(svc.unRegister(ctx(g, '127.0.0.12', bob), h)).toBe(WERR.INVALID_PARAMETER);
    expect(svc.unRegister(ctx(g, '127.0.0.12', undefined), h)).toBe(WERR.INVALID_PARAMETER);
    // The owner: fine, and the handle's GUID case does not matter.
    expect(svc.unRegister(ctx(g, '127.0.0.12', alice), h.toUpperCase())).toBe(WERR.OK);
    svc.close();
  });

  test('maxRegistrationsPerClient bounds one association group, not the others; freed slots count again', () => {
    const { svc } = setup({ maxRegistrationsPerClient: 2 });
    const g = ctx(new FakeGroup(1));
    const h = registerV1(svc, g);
    registerV1(svc, g);
    expect(svc.register(g, { version: V1, netName: 'SOFS', ipAddress: '127.0.0.11', clientName: 'h' }, false).result).toBe(WERR.NO_SYSTEM_RESOURCES);
    registerV1(svc, ctx(new FakeGroup(2)));
    expect(svc.unRegister(g, h)).toBe(WERR.OK);
    registerV1(svc, g);
    svc.close();
  });

  test('maxRegistrations → ERROR_NO_SYSTEM_RESOURCES', () => {
    const { svc } = setup({ maxRegistrations: 2 });
    const c = ctx(new FakeGroup(1));
    registerV1(svc, c);
    registerV1(svc, c);
    expect(svc.register(c, { version: V1, netName: 'SOFS', ipAddress: '127.0.0.11', clientName: 'h' }, false).result).toBe(WERR.NO_SYSTEM_RESOURCES);
    svc.close();
  });
});
