/**
 * The fault matrix's clients (issue 22 item 5, issue 21 item 10): N signed Witness
 * registrations (NTLMSSP, packet integrity: Samba's rpcd_witness serves no one less), each at
 * a node that does not host the IP it registers for (as Windows picks from GetInterfaceList),
 * each keeping one AsyncNotify pending and arming the next one as soon as one is answered,
 * so that every notification is seen with its wall-clock time. Like a Windows client, a
 * registration answered ERROR_NOT_FOUND (a forced unregister), or whose connection closed
 * (its witnessd died), registers again; one that cannot within `reregisterMs` is lost.
 * The same fleet drives witnessd and Samba.
 */
import { Witness_OPNUMS, Witness_SYNTAX, WITNESS_V2, decodeWitnessrAsyncNotifyOut, decodeWitnessrRegisterExOut, encodeWitnessrAsyncNotifyIn, encodeWitnessrRegisterExIn } from '../../src/gen/witness';
import { epmMapTcpPort } from '../../src/client/epm';
import { MESSAGE_TYPE_NAMES } from '../../src/witness/constants';
import { PT, RawConnection, buildProtectedRequest, call, ntlmsspSession, openProtectedResponse, type RawPdu, type Session } from '../../test/integration/auth/raw-auth-client';

const LEVEL_INTEGRITY = 5;
const WERR_TIMEOUT = 0x5b4;
const ERROR_NOT_FOUND = 0x490;

export interface FleetTarget {
  /** The node address of the witness it registers at. */
  readonly host: string;
  /** The public IP it registers for. */
  readonly ip: string;
}

export interface Told {
  /** ms epoch. */
  readonly at: number;
  /** RESOURCE_CHANGE/AVAILABLE, RESOURCE_CHANGE/UNAVAILABLE, CLIENT_MOVE, ..., or not-found, closed. */
  readonly kind: string;
}

export interface ClientRecord {
  readonly target: FleetTarget;
  readonly told: readonly Told[];
  readonly reregistered: number;
  /** Why it is no longer registered (undefined: it is). */
  readonly lost: string | undefined;
}

interface Client {
  readonly target: FleetTarget;
  readonly index: number;
  s?: Session;
  stub?: Buffer;
  told: Told[];
  reregistered: number;
  lost?: string;
  busy?: boolean;
}

const CHANGE: Record<number, string> = { 0: 'UNKNOWN', 1: 'AVAILABLE', 0xff: 'UNAVAILABLE' };

export interface FleetOptions {
  readonly netName: string;
  readonly account: { readonly domain: string; readonly user: string; readonly password: string };
  /** How long a client keeps trying to register again (default 120 s: a witnessd restart). */
  readonly reregisterMs?: number;
}

export class FaultFleet {
  private readonly clients: Client[] = [];
  private readonly ports = new Map<string, number>();
  private closed = false;
  /** When the last answer of any registration arrived (ms epoch). */
  lastAnswerAt = 0;

  constructor(private readonly o: FleetOptions) {}

  /** Register every target (`concurrency` at a time: Samba's rpcd_witness stalls beyond ~5). */
  async register(targets: readonly FleetTarget[], concurrency = 4): Promise<void> {
    const fresh = targets.map((target, i): Client => ({ target, index: this.clients.length + i, told: [], reregistered: 0 }));
    this.clients.push(...fresh);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < fresh.length) {
        const c = fresh[next++];
        await this.registerOne(c);
        this.arm(c);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, fresh.length) }, worker));
  }

  /** Forget what was told so far (the start of one fault's window). */
  mark(): void {
    for (const c of this.clients) {
      c.told = [];
      c.reregistered = 0;
    }
  }

  records(): ClientRecord[] {
    return this.clients.map((c) => ({ target: c.target, told: [...c.told], reregistered: c.reregistered, lost: c.lost }));
  }

  isRegistered(i: number): boolean {
    const c = this.clients[i];
    return !!c && !c.lost && !!c.s && !c.s.conn.closed;
  }

  /** Registered now (not lost, with a session). */
  registered(): number {
    return this.clients.filter((c) => !c.lost && c.s && !c.s.conn.closed).length;
  }

  close(): void {
    this.closed = true;
    for (const c of this.clients) c.s?.conn.close();
    this.clients.length = 0;
  }

  private async port(host: string): Promise<number> {
    const known = this.ports.get(host);
    if (known !== undefined) return known;
    const p = await epmMapTcpPort(host, Witness_SYNTAX);
    this.ports.set(host, p);
    return p;
  }

  private async registerOne(c: Client): Promise<void> {
    const conn = await RawConnection.connect(await this.port(c.target.host), c.target.host);
    try {
      const s = await ntlmsspSession(conn, Witness_SYNTAX, LEVEL_INTEGRITY, this.o.account.user, this.o.account.password, 1, this.o.account.domain);
      const r = await call(s, Witness_OPNUMS.WitnessrRegisterEx, encodeWitnessrRegisterExIn({
        Version: WITNESS_V2, NetName: this.o.netName, ShareName: null, IpAddress: c.target.ip,
        ClientComputerName: `FAULT-${process.pid}-${c.index}`, Flags: 0, KeepAliveTimeout: 300,
      }));
      if (!r.stub) throw new Error(`RegisterEx: ${r.closed ? 'connection closed' : `fault 0x${(r.fault ?? 0).toString(16)}`}`);
      const out = decodeWitnessrRegisterExOut(r.stub);
      if (out.ReturnValue !== 0) throw new Error(`RegisterEx returned 0x${out.ReturnValue.toString(16)}`);
      c.s = s;
      c.stub = encodeWitnessrAsyncNotifyIn({ pContext: out.ppContext });
    } catch (e) {
      conn.close();
      throw e;
    }
  }

  private arm(c: Client): void {
    const s = c.s;
    if (!s || !c.stub || this.closed) return;
    s.conn.send(buildProtectedRequest(s.callId++, Witness_OPNUMS.WitnessrAsyncNotify, c.stub, s.authType, s.level, s.ctxId, s.ntlm.send));
    void s.conn.next(60 * 60_000).then((p) => this.answered(c, s, p));
  }

  private answered(c: Client, s: Session, p: RawPdu | undefined): void {
    if (this.closed || c.s !== s) return;
    const at = Date.now();
    this.lastAnswerAt = at;
    const kind = this.describe(s, p);
    if (kind === 'timeout') return this.arm(c); // keep-alive expiry: call again
    c.told.push({ at, kind });
    if (kind === 'not-found' || kind === 'closed' || kind.startsWith('fault') || kind.startsWith('WERR')) {
      s.conn.close();
      c.s = undefined;
      void this.again(c);
      return;
    }
    this.arm(c);
  }

  /** Register again (a forced unregister, a dead witnessd), bounded in time. */
  private async again(c: Client): Promise<void> {
    if (c.busy) return;
    c.busy = true;
    const end = Date.now() + (this.o.reregisterMs ?? 120_000);
    let wait = 200;
    try {
      for (let i = 0; i < 1000 && Date.now() < end && !this.closed; i++) {
        try {
          this.ports.delete(c.target.host); // a restarted witnessd has another port
          await this.registerOne(c);
          c.reregistered++;
          this.arm(c);
          return;
        } catch {
          await new Promise((r) => setTimeout(r, wait));
          wait = Math.min(wait * 2, 2000);
        }
      }
      c.lost = 'could not register again';
    } finally {
      c.busy = false;
    }
  }

  private describe(s: Session, p: RawPdu | undefined): string {
    if (!p) return 'closed';
    if (p.ptype === PT.FAULT) return `fault 0x${p.raw.readUInt32LE(24).toString(16)}`;
    if (p.ptype !== PT.RESPONSE) return `ptype ${p.ptype}`;
    try {
      const out = decodeWitnessrAsyncNotifyOut(openProtectedResponse(p, s.level, s.ntlm.recv));
      if (out.ReturnValue === WERR_TIMEOUT) return 'timeout';
      if (out.ReturnValue === ERROR_NOT_FOUND) return 'not-found';
      if (out.ReturnValue !== 0) return `WERR 0x${out.ReturnValue.toString(16)}`;
      const r = out.pResp;
      const name = MESSAGE_TYPE_NAMES[r?.MessageType ?? 0] ?? `type ${r?.MessageType}`;
      const first = (r?.Messages as Array<{ ChangeType?: number }> | undefined)?.[0];
      return first?.ChangeType !== undefined ? `${name}/${CHANGE[first.ChangeType] ?? first.ChangeType}` : name;
    } catch (e) {
      return `undecodable: ${(e as Error).message}`;
    }
  }
}
