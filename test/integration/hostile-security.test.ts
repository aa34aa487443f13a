/**
 * Security properties under attack: a context handle is useless from another association or
 * another identity; the admin API stays on loopback unless a token is configured; and no
 * password, NT hash or token ever reaches a log line (the whole pino output of an
 * authenticated run at level trace is searched).
 */
import { AdminClient, AdminError } from '../../src/admin/client';
import { ntHash } from '../../src/auth';
import { demoConfig, parseConfig, type WitnessdConfig } from '../../src/config';
import { startWitnessd } from '../../src/cli/daemon';
import { RpcClient } from '../../src/client/rpc-client';
import { WITNESS_SYNTAX, witnessCalls } from '../../src/client/witness-calls';
import {
  Witness_OPNUMS, decodeWitnessrAsyncNotifyOut, decodeWitnessrRegisterOut, decodeWitnessrUnRegisterOut,
  encodeWitnessrAsyncNotifyIn, encodeWitnessrRegisterIn, encodeWitnessrUnRegisterIn, type ContextHandle,
} from '../../src/gen/witness';
import { TestNtlmClient } from '../unit/auth/ntlm-test-client';
import { PT, RawConnection, authToken, buildAuth3, buildBindWithAuth, call, spnegoSession, type Session } from './auth/raw-auth-client';
import { startHostileTarget, type Running } from './hostile-helpers';
import { freePort } from './restart-helpers';

const ALICE = { user: 'alice', password: 'Alice-S3cret-pass!' };
const BOB = { user: 'bob', password: 'B0b-Other-secret#' };
const HASHED = { user: 'carol', hash: '8846f7eaee8fb117ad06bdd830b7586c' };
const ADMIN_TOKEN = 'admin-T0ken-never-logged';

function withAccounts(c: WitnessdConfig): WitnessdConfig {
  return {
    ...c,
    admin: { ...c.admin, token: ADMIN_TOKEN },
    auth: {
      ...c.auth,
      accounts: [
        ...c.auth.accounts,
        { domain: 'DEMO', user: ALICE.user, password: ALICE.password },
        { domain: 'DEMO', user: BOB.user, password: BOB.password },
        { domain: '', user: HASHED.user, ntHash: HASHED.hash },
      ],
    },
  };
}

/** NTLMSSP at integrity on a new connection, optionally joining an association group. */
async function ntlmSession(port: number, user: string, password: string, assocGroup = 0): Promise<{ s: Session; group: number }> {
  const conn = await RawConnection.connect(port, '127.0.0.11');
  const ntlm = new TestNtlmClient({ user, domain: 'DEMO', password, withMic: true });
  const bind = buildBindWithAuth(PT.BIND, 1, WITNESS_SYNTAX, 10, 5, 1, ntlm.negotiate());
  bind.writeUInt32LE(assocGroup, 20);
  conn.send(bind);
  const ack = await conn.next();
  if (!ack || ack.ptype !== PT.BIND_ACK) throw new Error(`bind refused (${ack?.ptype})`);
  conn.send(buildAuth3(1, 10, 5, 1, ntlm.authenticate(authToken(ack))));
  return { s: { conn, ntlm, authType: 10, level: 5, ctxId: 1, callId: 2 }, group: ack.raw.readUInt32LE(20) };
}

const REG = (name: string) => encodeWitnessrRegisterIn({ Version: 0x10001, NetName: 'SOFS', IpAddress: '127.0.0.11', ClientComputerName: name });

async function register(s: Session, name: string): Promise<ContextHandle> {
  const r = await call(s, Witness_OPNUMS.WitnessrRegister, REG(name));
  expect(r.fault).toBeUndefined();
  const out = decodeWitnessrRegisterOut(r.stub!);
  expect(out.ReturnValue).toBe(0);
  return out.ppContext;
}

describe('security', () => {
  let t: Running;
  beforeAll(async () => {
    t = await startHostileTarget({}, withAccounts, 'trace'); // every line any room writes
  });
  afterAll(async () => {
    await t.d.close();
  });

  it('a context handle fails from another association and from another identity in the same association group', async () => {
    const a = await ntlmSession(t.port, ALICE.user, ALICE.password);
    const handle = await register(a.s, 'ALICE-PC');

    // Another association (anonymous, its own group).
    const other = await RpcClient.connect({ host: '127.0.0.11', port: t.port });
    await other.bind(WITNESS_SYNTAX);
    expect((await witnessCalls.asyncNotify(other, handle, { timeoutMs: 3000 })).result).toBe(0x490);
    expect(await witnessCalls.unRegister(other, handle)).toBe(0x57);
    await other.close();

    // Bob joins Alice's association group: the group matches, the identity does not.
    const b = await ntlmSession(t.port, BOB.user, BOB.password, a.group);
    expect(b.group).toBe(a.group);
    const an = await call(b.s, Witness_OPNUMS.WitnessrAsyncNotify, encodeWitnessrAsyncNotifyIn({ pContext: handle }));
    expect(decodeWitnessrAsyncNotifyOut(an.stub!).ReturnValue).toBe(0x490);
    const un = await call(b.s, Witness_OPNUMS.WitnessrUnRegister, encodeWitnessrUnRegisterIn({ pContext: handle }));
    expect(decodeWitnessrUnRegisterOut(un.stub!).ReturnValue).toBe(0x57);

    // Alice, on a second connection of her group, may use it.
    const a2 = await ntlmSession(t.port, ALICE.user, ALICE.password, a.group);
    const mine = await call(a2.s, Witness_OPNUMS.WitnessrUnRegister, encodeWitnessrUnRegisterIn({ pContext: handle }));
    expect(decodeWitnessrUnRegisterOut(mine.stub!).ReturnValue).toBe(0);
    for (const x of [a, b, a2]) x.s.conn.close();
  });

  it('no password, NT hash or admin token appears in any log line of a full authenticated run', async () => {
    t.logs.length = 0;
    // Good and bad NTLMSSP, SPNEGO, the hash-only account, a register / notify / unregister cycle.
    const good = await ntlmSession(t.port, ALICE.user, ALICE.password);
    const h = await register(good.s, 'LOGGED-PC');
    const admin = new AdminClient({ url: t.d.admin.url, token: ADMIN_TOKEN });
    const waiting = call(good.s, Witness_OPNUMS.WitnessrAsyncNotify, encodeWitnessrAsyncNotifyIn({ pContext: h }));
    await new Promise((r) => setTimeout(r, 100));
    await admin.nodeFail('node1');
    expect((await waiting).stub).toBeDefined();
    await admin.nodeRecover('node1');
    await admin.get('/v1/registrations');
    await expect(new AdminClient({ url: t.d.admin.url, token: 'wrong-token' }).status()).rejects.toBeInstanceOf(AdminError);
    const bad = await ntlmSession(t.port, ALICE.user, 'wrong-Passw0rd-xyz').catch((e: Error) => e);
    if (!(bad instanceof Error)) {
      // A refused AUTHENTICATE: the call is faulted (access denied) or the connection closed.
      const r = await call(bad.s, 0, Buffer.alloc(0));
      expect(r.closed === true || r.fault !== undefined).toBe(true);
      bad.s.conn.close();
    }
    const carol = await ntlmSession(t.port, HASHED.user, 'password');
    expect((await call(carol.s, 0, Buffer.alloc(0))).stub).toBeDefined();
    const sp = await spnegoSession(await RawConnection.connect(t.port, '127.0.0.11'), WITNESS_SYNTAX, 6, HASHED.user, 'password'); // local account: any domain
    expect((await call(sp, 0, Buffer.alloc(0))).stub).toBeDefined();
    for (const c of [good.s.conn, carol.s.conn, sp.conn]) c.close();
    await new Promise((r) => setTimeout(r, 100));

    const secrets: string[] = [ADMIN_TOKEN, 'wrong-token', 'wrong-Passw0rd-xyz', HASHED.hash];
    for (const p of [ALICE.password, BOB.password, 'demo-password', 'password']) {
      const hash = ntHash(p);
      secrets.push(hash.toString('hex'), hash.toString('base64'), Buffer.from(p, 'utf16le').toString('hex'));
      if (p.length > 8) secrets.push(p);
    }
    const text = t.logs.join('\n');
    expect(t.logs.length).toBeGreaterThan(10); // the run was logged
    expect(text).toContain('alice'); // user names may be logged, secrets may not
    const leaked = secrets.filter((s) => text.toLowerCase().includes(s.toLowerCase()));
    expect(leaked).toEqual([]);
  });
});

describe('admin API bind rules', () => {
  it('binds loopback by default', () => {
    const c = parseConfig('nodes: [{name: a, smbAddress: "127.0.0.21:445"}]\nsvms: [{name: s, netbiosName: S, dnsName: s.x, lifs: [{name: l, ipv4: 127.0.0.21, homeNode: a, currentNode: a, up: true}], shares: []}]\n', 'min.yaml');
    expect(c.admin.address).toMatch(/^127\.0\.0\.1:|^\[::1\]:|^localhost:/);
  });

  it('refuses a non-loopback bind without a token, and releases the RPC ports it had opened', async () => {
    const witnessPort = await freePort('127.0.0.11');
    await expect(startWitnessd(demoConfig(), { epmPort: 0, witnessPort, adminAddress: '0.0.0.0:0' })).rejects.toThrow(/non-loopback.*token/);
    // The witness port is free again (nothing left listening after the refusal).
    const again = await startWitnessd(demoConfig(), { epmPort: 0, witnessPort, adminAddress: '127.0.0.1:0' });
    expect(again.witnessEndpoint.port).toBe(witnessPort);
    await again.close();
  });

  it('with a token a non-loopback bind works and every route but /healthz needs the token', async () => {
    const base = demoConfig();
    const d = await startWitnessd({ ...base, admin: { ...base.admin, token: ADMIN_TOKEN } }, { epmPort: 0, witnessPort: 0, adminAddress: '0.0.0.0:0' });
    try {
      const url = d.admin.url.replace('0.0.0.0', '127.0.0.1');
      await expect(new AdminClient({ url }).status()).rejects.toMatchObject({ status: 401 });
      await expect(new AdminClient({ url, token: 'nope' }).status()).rejects.toMatchObject({ status: 401 });
      expect(await new AdminClient({ url, token: ADMIN_TOKEN }).status()).toHaveProperty('nodes');
    } finally {
      await d.close();
    }
  });
});
