/**
 * The CTDB benchmark's client process: N signed Witness registrations (NTLMSSP, packet
 * integrity: Samba's rpcd_witness serves no one less) on one node, each with an AsyncNotify
 * pending, and the monotonic time at which each answer arrived. The same client drives
 * witnessd and Samba. Answers are opened and decoded only after the measured window.
 * The NTLMSSP client and the signed PDUs are the auth tests' (test/integration/auth).
 */
import { Witness_OPNUMS, Witness_SYNTAX, WITNESS_V2, decodeWitnessrAsyncNotifyOut, decodeWitnessrRegisterExOut, encodeWitnessrAsyncNotifyIn, encodeWitnessrRegisterExIn } from '../../../src/gen/witness';
import { epmMapTcpPort } from '../../../src/client/epm';
import { MESSAGE_TYPE_NAMES } from '../../../src/witness/constants';
import { PT, RawConnection, buildProtectedRequest, call, ntlmsspSession, openProtectedResponse, type RawPdu, type Session } from '../../../test/integration/auth/raw-auth-client';
import { serve } from './child';
import { monoMs } from './stats';

const LEVEL_INTEGRITY = 5;

interface Client {
  readonly s: Session;
  asyncNotifyStub: Buffer;
  at: number;
  pdu?: RawPdu;
  /** Closed by close-all: its late 'closed' answer is not counted. */
  gone?: boolean;
}

const clients: Client[] = [];
/** Answers so far (any time) and the waiter for the last one. */
let received = 0;
let allReceived: (() => void) | undefined;
const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

interface Setup {
  readonly host: string;
  readonly n: number;
  readonly netName: string;
  readonly ipAddress: string;
  readonly domain: string;
  readonly user: string;
  readonly password: string;
  readonly concurrency?: number;
}

async function one(a: Setup, port: number, i: number): Promise<void> {
  const conn = await RawConnection.connect(port, a.host);
  const s = await ntlmsspSession(conn, Witness_SYNTAX, LEVEL_INTEGRITY, a.user, a.password, 1, a.domain);
  const r = await call(s, Witness_OPNUMS.WitnessrRegisterEx, encodeWitnessrRegisterExIn({
    Version: WITNESS_V2, NetName: a.netName, ShareName: null, IpAddress: a.ipAddress,
    ClientComputerName: `BENCH-${process.pid}-${i}`, Flags: 0, KeepAliveTimeout: 300,
  }));
  if (!r.stub) throw new Error(`RegisterEx: ${r.closed ? 'connection closed' : `fault 0x${(r.fault ?? 0).toString(16)}`}`);
  const out = decodeWitnessrRegisterExOut(r.stub);
  if (out.ReturnValue !== 0) throw new Error(`RegisterEx returned 0x${out.ReturnValue.toString(16)}`);
  const c: Client = { s, asyncNotifyStub: encodeWitnessrAsyncNotifyIn({ pContext: out.ppContext }), at: 0 };
  clients.push(c);
  // At once: Samba drops a registration 30 s after the client's last call (CTDB.md), and a
  // setup of thousands of signed registrations takes longer than that.
  arm(c);
}

/** A new AsyncNotify on one client; its answer's arrival time is recorded. */
function arm(c: Client): void {
  c.at = 0;
  c.pdu = undefined;
  c.s.conn.send(buildProtectedRequest(c.s.callId++, Witness_OPNUMS.WitnessrAsyncNotify, c.asyncNotifyStub, c.s.authType, c.s.level, c.s.ctxId, c.s.ntlm.send));
  void c.s.conn.next(30 * 60_000).then((p) => {
    if (c.gone) return;
    c.at = monoMs();
    c.pdu = p;
    received++;
    if (received === clients.length) allReceived?.();
  });
}

/** What each client got: "CLIENT_MOVE", "RESOURCE_CHANGE/255", "fault 0x...", "closed", ... */
function describe(c: Client): string {
  const p = c.pdu;
  if (!p) return c.at ? 'closed' : 'nothing';
  if (p.ptype === PT.FAULT) return `fault 0x${p.raw.readUInt32LE(24).toString(16)}`;
  if (p.ptype !== PT.RESPONSE) return `ptype ${p.ptype}`;
  try {
    const out = decodeWitnessrAsyncNotifyOut(openProtectedResponse(p, c.s.level, c.s.ntlm.recv));
    if (out.ReturnValue !== 0) return `WERR 0x${out.ReturnValue.toString(16)}`;
    const r = out.pResp;
    const name = MESSAGE_TYPE_NAMES[r?.MessageType ?? 0] ?? `type ${r?.MessageType}`;
    const first = (r?.Messages as Array<{ ChangeType?: number }> | undefined)?.[0];
    return first?.ChangeType !== undefined ? `${name}/${first.ChangeType}` : name;
  } catch (e) {
    return `undecodable: ${(e as Error).message}`;
  }
}

async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
}

serve(
  {
    /**
     * `n` signed registrations at `host` (witness port from its endpoint mapper), each with its
     * AsyncNotify sent right after RegisterEx. Concurrency 4: Samba's rpcd_witness runs 5
     * workers, and more binds at once than that stall (measured: 11 of 20 never answered).
     */
    setup: async (a: Setup) => {
      const t0 = monoMs();
      const port = await epmMapTcpPort(a.host, Witness_SYNTAX);
      await pool(a.n, a.concurrency ?? 4, (i) => one(a, port, i));
      return { ms: monoMs() - t0, clients: clients.length, port, early: received };
    },
    /** Wait (bounded) until every client has its answer; times are monotonic ms (0 = none). */
    wait: async (a: { timeoutMs: number }) => {
      const cpu0 = cpuNow();
      if (received < clients.length) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, a.timeoutMs);
          allReceived = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
      allReceived = undefined;
      const kinds: Record<string, number> = {};
      for (const c of clients) {
        const k = describe(c); // once: opening a signed answer advances the sequence number
        kinds[k] = (kinds[k] ?? 0) + 1;
      }
      return { times: clients.map((c) => c.at), received, clientCpuMs: cpuNow() - cpu0, kinds };
    },
    'close-all': () => {
      for (const c of clients) {
        c.gone = true;
        c.s.conn.close();
      }
      clients.length = 0;
      received = 0;
      return true;
    },
  },
  () => {
    for (const c of clients) c.s.conn.close();
  },
);
