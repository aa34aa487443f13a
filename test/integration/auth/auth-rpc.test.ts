/**
 * Our RpcServer with the NTLMSSP and SPNEGO providers on a real loopback socket, driven by a
 * raw authenticated client: the happy paths and the hostile cases of issue 5 (flipped bit,
 * replay, unknown user, truncated token, auth3 before bind, a second identity on one
 * connection).
 */
import { RpcServer, principalName, AuthLevel, type CallContext, type RpcInterface } from '../../../src/rpc';
import { createNtlmsspProvider, createSpnegoProvider, MemoryAccountSource, type AuthLogger } from '../../../src/auth';
import { encodeNegTokenInit, OID } from '../../../src/auth/spnego-token';
import { TestNtlmClient } from '../../unit/auth/ntlm-test-client';
import {
  PT, RawConnection, authToken, buildAuth3, buildBindWithAuth, buildProtectedRequest, call, ntlmsspSession, spnegoSession,
} from './raw-auth-client';

jest.setTimeout(20_000);

const SYNTAX = { uuid: '6b5a1f3e-8c42-4d2b-9a8e-1f2d3c4b5a69', major: 1, minor: 0 };
const ACCESS_DENIED = 5;

const echo: RpcInterface<CallContext> = {
  name: 'authtest',
  syntax: SYNTAX,
  operationNames: ['Echo'],
  dispatch(_opnum, stub, { context: ctx }) {
    return Buffer.concat([Buffer.from(`${principalName(ctx.identity)}|${ctx.authLevel}|`), stub]);
  },
};

const lines: { msg: string; obj: Record<string, unknown> }[] = [];
const logger: AuthLogger = {
  info: (obj, msg) => lines.push({ msg, obj: obj as Record<string, unknown> }),
  warn: (obj, msg) => lines.push({ msg, obj: obj as Record<string, unknown> }),
  debug: () => undefined,
};
const opts = {
  accounts: new MemoryAccountSource([{ user: 'alice', password: 'Secret123' }, { user: 'bob', password: 'Hunter2!' }]),
  netbiosComputerName: 'WITNESS1',
  netbiosDomainName: 'TESTDOM',
  logger,
};

let server: RpcServer;
let port: number;
const open: RawConnection[] = [];
async function connect(): Promise<RawConnection> {
  const c = await RawConnection.connect(port);
  open.push(c);
  return c;
}

beforeAll(async () => {
  server = new RpcServer({ securityProviders: [createNtlmsspProvider(opts), createSpnegoProvider(opts)] });
  port = (await server.listen({ address: '127.0.0.1', port: 0, interfaces: [echo] })).port;
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});
afterAll(async () => {
  await server.close();
});

describe.each([
  ['NTLMSSP', ntlmsspSession],
  ['SPNEGO', spnegoSession],
])('%s', (_name, establish) => {
  it.each([5, 6])('level %i: calls carry the identity; requests and responses verify', async (level) => {
    const s = await establish(await connect(), SYNTAX, level, 'alice', 'Secret123');
    for (const stub of [Buffer.from('hello'), Buffer.alloc(3000, 0x5a), Buffer.alloc(0)]) {
      const r = await call(s, 0, stub);
      expect(r.stub).toBeDefined();
      expect(r.stub!.equals(Buffer.concat([Buffer.from(`TESTDOM\\alice|${level}|`), stub]))).toBe(true);
    }
  });

  it('a flipped bit in a signed request ends the connection without an answer', async () => {
    const s = await establish(await connect(), SYNTAX, 5, 'alice', 'Secret123');
    expect((await call(s, 0, Buffer.from('first'))).stub).toBeDefined();
    const pdu = buildProtectedRequest(s.callId++, 0, Buffer.from('tampered stub'), s.authType, 5, s.ctxId, s.ntlm.send);
    pdu[26] ^= 0x04; // inside the stub
    s.conn.send(pdu);
    const p = await s.conn.next();
    if (p) expect(p.ptype).toBe(PT.FAULT); // a fault may precede the close, never a response
    expect(await s.conn.waitClosed()).toBe(true);
  });

  it('a flipped bit in a sealed request ends the connection without an answer', async () => {
    const s = await establish(await connect(), SYNTAX, 6, 'alice', 'Secret123');
    const pdu = buildProtectedRequest(s.callId++, 0, Buffer.from('sealed stub bytes'), s.authType, 6, s.ctxId, s.ntlm.send);
    pdu[30] ^= 0x80; // ciphertext
    s.conn.send(pdu);
    const p = await s.conn.next();
    if (p) expect(p.ptype).toBe(PT.FAULT);
    expect(await s.conn.waitClosed()).toBe(true);
  });

  it('a request whose verifier is cut short ends the connection', async () => {
    const s = await establish(await connect(), SYNTAX, 5, 'alice', 'Secret123');
    const full = buildProtectedRequest(s.callId++, 0, Buffer.from('short verifier'), s.authType, 5, s.ctxId, s.ntlm.send);
    const pdu = Buffer.from(full.subarray(0, full.length - 8)); // an 8-byte verifier
    pdu.writeUInt16LE(pdu.length, 8);
    pdu.writeUInt16LE(8, 10);
    s.conn.send(pdu);
    const p = await s.conn.next();
    if (p) expect(p.ptype).toBe(PT.FAULT);
    expect(await s.conn.waitClosed()).toBe(true);
  });

  it('a replayed request ends the connection', async () => {
    const s = await establish(await connect(), SYNTAX, 6, 'alice', 'Secret123');
    const pdu = buildProtectedRequest(s.callId++, 0, Buffer.from('once only'), s.authType, 6, s.ctxId, s.ntlm.send);
    s.conn.send(Buffer.from(pdu));
    const first = await s.conn.next();
    expect(first?.ptype).toBe(PT.RESPONSE);
    s.conn.send(pdu);
    const p = await s.conn.next();
    if (p) expect(p.ptype).toBe(PT.FAULT);
    expect(await s.conn.waitClosed()).toBe(true);
  });
});

describe('refusals', () => {
  it('NTLMSSP: an unknown user is refused (access denied) and logged with the client address', async () => {
    const s = await ntlmsspSession(await connect(), SYNTAX, 5, 'mallory', 'x');
    const r = await call(s, 0, Buffer.from('x'));
    expect(r.stub).toBeUndefined();
    if (r.fault !== undefined) expect(r.fault).toBe(ACCESS_DENIED);
    const l = lines.find((x) => x.obj.user === 'mallory');
    expect(l?.obj).toMatchObject({ reason: 'unknown user', client: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
  });

  it('SPNEGO: a wrong password fails the alter_context leg', async () => {
    await expect(spnegoSession(await connect(), SYNTAX, 5, 'bob', 'wrong')).rejects.toThrow(/alter_context failed/);
    expect(lines.some((x) => x.obj.user === 'bob' && x.obj.reason === 'wrong password')).toBe(true);
  });

  it('a truncated NTLMSSP token in bind gets bind_nak', async () => {
    const c = await connect();
    const neg = new TestNtlmClient({ user: 'alice', domain: 'TESTDOM', password: 'Secret123' }).negotiate();
    c.send(buildBindWithAuth(PT.BIND, 1, SYNTAX, 10, 5, 1, neg.subarray(0, 10)));
    const p = await c.next();
    expect(p?.ptype).toBe(PT.BIND_NAK);
  });

  it('SPNEGO offering only Kerberos gets bind_nak reason 8 (so Samba clients fall back)', async () => {
    const c = await connect();
    c.send(buildBindWithAuth(PT.BIND, 1, SYNTAX, 9, 5, 1, encodeNegTokenInit([OID.MS_KERBEROS, OID.KERBEROS], Buffer.from('krb5 AP-REQ'))));
    const p = await c.next();
    expect(p?.ptype).toBe(PT.BIND_NAK);
    expect(p!.raw.readUInt16LE(16)).toBe(8);
  });

  it('auth3 before any bind is refused and the connection ends', async () => {
    const c = await connect();
    // A well-formed AUTHENTICATE, made against a challenge from some other exchange.
    const other = new TestNtlmClient({ user: 'alice', domain: 'TESTDOM', password: 'Secret123' });
    const chal = createNtlmsspProvider(opts).newContext({ localAddress: '', remoteAddress: '', remotePort: 0 }).accept(other.negotiate()).token!;
    c.send(buildAuth3(1, 10, 5, 1, other.authenticate(chal)));
    const p = await c.next();
    if (p) expect([PT.FAULT, PT.BIND_NAK]).toContain(p.ptype);
    expect(await c.waitClosed()).toBe(true);
  });

  it('auth3 for a context that is not waiting for one (a second auth3) is refused', async () => {
    const s = await ntlmsspSession(await connect(), SYNTAX, 5, 'alice', 'Secret123');
    expect((await call(s, 0, Buffer.from('ok'))).stub).toBeDefined();
    s.conn.send(buildAuth3(1, 10, 5, s.ctxId, s.ntlm.authenticateMsg));
    const p = await s.conn.next();
    if (p) expect(p.ptype).toBe(PT.FAULT);
    expect(await s.conn.waitClosed()).toBe(true);
  });

  it('a second identity on the same connection (auth_context_id 2) is its own context', async () => {
    const c = await connect();
    const alice = await ntlmsspSession(c, SYNTAX, 5, 'alice', 'Secret123', 1);
    expect((await call(alice, 0, Buffer.from('a'))).stub!.toString()).toMatch(/^TESTDOM\\alice\|5\|/);
    // bob's NTLMSSP context via alter_context (NEGOTIATE) + auth3 on the same connection.
    const bob = new TestNtlmClient({ user: 'bob', domain: 'TESTDOM', password: 'Hunter2!', withMic: true });
    c.send(buildBindWithAuth(PT.ALTER, alice.callId++, SYNTAX, 10, 5, 2, bob.negotiate()));
    const resp = await c.next();
    expect(resp?.ptype).toBe(PT.ALTER_RESP);
    c.send(buildAuth3(alice.callId - 1, 10, 5, 2, bob.authenticate(authToken(resp!))));
    const bobS = { ...alice, ntlm: bob, ctxId: 2 };
    const rb = await call(bobS, 0, Buffer.from('b'));
    expect(rb.stub!.toString()).toMatch(/^TESTDOM\\bob\|5\|/);
    alice.callId = bobS.callId;
    const ra = await call(alice, 0, Buffer.from('a2'));
    expect(ra.stub!.toString()).toMatch(/^TESTDOM\\alice\|5\|/);
    // A request that claims bob's context but is signed with alice's keys fails and ends it all.
    c.send(buildProtectedRequest(alice.callId++, 0, Buffer.from('forged'), 10, 5, 2, alice.ntlm.send));
    const p = await c.next();
    if (p) expect(p.ptype).toBe(PT.FAULT);
    expect(await c.waitClosed()).toBe(true);
  });
});

describe('minimum auth level', () => {
  let strict: RpcServer;
  let strictPort: number;
  beforeAll(async () => {
    strict = new RpcServer({ minAuthLevel: AuthLevel.Integrity, securityProviders: [createNtlmsspProvider(opts)] });
    strictPort = (await strict.listen({ address: '127.0.0.1', port: 0, interfaces: [echo] })).port;
  });
  afterAll(() => strict.close());

  it('a call at packet integrity passes; an unauthenticated call gets fault 0x5', async () => {
    const c = await RawConnection.connect(strictPort);
    open.push(c);
    const s = await ntlmsspSession(c, SYNTAX, 5, 'alice', 'Secret123');
    expect((await call(s, 0, Buffer.from('ok'))).stub).toBeDefined();
    const anon = await RawConnection.connect(strictPort);
    open.push(anon);
    const { buildBind, buildRequest } = await import('../../../src/client/pdu');
    anon.send(buildBind(1, SYNTAX, 4280));
    expect((await anon.next())?.ptype).toBe(PT.BIND_ACK);
    anon.send(buildRequest(2, 0, 0, Buffer.from('x'), 4280)[0]);
    const f = await anon.next();
    expect(f?.ptype).toBe(PT.FAULT);
    expect(f!.raw.readUInt32LE(24)).toBe(ACCESS_DENIED);
  });
});
