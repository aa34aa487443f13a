/**
 * A light raw-replay client for request rates: C connections, each with one call in flight
 * (closed loop), prebuilt PDUs with the call id patched. It measures a window after a
 * warm-up and reads the server's CPU for the same window from /proc, so both CPUs are
 * known and a client-bound figure shows as such.
 */
import * as net from 'node:net';
import { Epm_OPNUMS, Epm_SYNTAX, encodeEpt_mapIn } from '../../../src/gen/epm';
import {
  WITNESS_V1, Witness_OPNUMS, Witness_SYNTAX, encodeWitnessrGetInterfaceListIn, encodeWitnessrRegisterIn,
} from '../../../src/gen/witness';
import { buildTcpTower } from '../../../src/client/tower';
import { NIL_UUID } from '../../../src/ndr';
import { serve } from './child';
import { cpuMsOfPid } from './proc';
import { monoMs } from './stats';
import { PTYPE_BIND_ACK, PTYPE_RESPONSE, PduSplitter, bindPdu, faultStatus, pduType, requestPdu, responseStub, withCallId } from './wire';

export type RateOp = 'ept_map' | 'GetInterfaceList' | 'Register+UnRegister';

export interface RateArgs {
  readonly host: string;
  readonly port: number;
  readonly conns: number;
  readonly op: RateOp;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** The server's pid, for its CPU over the window. */
  readonly serverPid: number;
}

export interface RateResult {
  readonly perSecond: number;
  readonly completed: number;
  readonly windowMs: number;
  readonly clientCpuPct: number;
  readonly serverCpuPct: number;
  readonly errors: number;
  readonly firstError?: string;
}

function connect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    s.setNoDelay(true);
    s.once('error', reject);
    s.once('connect', () => {
      s.removeListener('error', reject);
      resolve(s);
    });
  });
}

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function rate(a: RateArgs): Promise<RateResult> {
  const syntax = a.op === 'ept_map' ? Epm_SYNTAX : Witness_SYNTAX;
  let completed = 0;
  let errors = 0;
  let firstError: string | undefined;
  let running = true;
  const fail = (why: string): void => {
    errors++;
    firstError ??= why;
  };
  const eptMap = requestPdu(1, Epm_OPNUMS.ept_map, encodeEpt_mapIn({
    object: null,
    map_tower: (() => { const t = buildTcpTower(Witness_SYNTAX); return { tower_length: t.length, tower_octet_string: t }; })(),
    entry_handle: { attributes: 0, uuid: NIL_UUID },
    max_towers: 1,
  }));
  const gil = requestPdu(1, Witness_OPNUMS.WitnessrGetInterfaceList, encodeWitnessrGetInterfaceListIn({}));

  const sockets: net.Socket[] = [];
  const bound: Promise<void>[] = [];
  for (let i = 0; i < a.conns; i++) {
    const s = await connect(a.host, a.port);
    sockets.push(s);
    s.on('error', (e) => fail(`socket: ${e.message}`));
    let callId = 1;
    let state: 'bind' | 'run' = 'bind';
    let onBound!: () => void;
    bound.push(new Promise<void>((r) => (onBound = r)));
    const register = requestPdu(1, Witness_OPNUMS.WitnessrRegister, encodeWitnessrRegisterIn({
      Version: WITNESS_V1, NetName: 'SOFS', IpAddress: '127.0.0.11', ClientComputerName: `RATE-${process.pid}-${i}`,
    }));
    let pairStep: 'register' | 'unregister' = 'register';
    const next = (): void => {
      if (!running) return;
      if (a.op === 'ept_map') s.write(withCallId(eptMap, ++callId));
      else if (a.op === 'GetInterfaceList') s.write(withCallId(gil, ++callId));
      else s.write(withCallId(register, ++callId));
    };
    const splitter = new PduSplitter((pdu) => {
      if (state === 'bind') {
        if (pduType(pdu) !== PTYPE_BIND_ACK) fail(`bind answered with PDU type ${pduType(pdu)}`);
        state = 'run';
        onBound();
        return;
      }
      if (pduType(pdu) !== PTYPE_RESPONSE) {
        fail(`fault 0x${faultStatus(pdu).toString(16)}`);
        next();
        return;
      }
      if (a.op !== 'Register+UnRegister') {
        completed++;
        next();
        return;
      }
      const stub = responseStub(pdu);
      if (pairStep === 'register') {
        // Out: ppContext (20 bytes) then the WERROR.
        if (stub.readUInt32LE(20) !== 0) {
          fail(`Register returned 0x${stub.readUInt32LE(20).toString(16)}`);
          next();
          return;
        }
        pairStep = 'unregister';
        // UnRegister In is just the context handle: send it straight back (no decode needed).
        s.write(requestPdu(++callId, Witness_OPNUMS.WitnessrUnRegister, stub.subarray(0, 20)));
      } else {
        pairStep = 'register';
        if (stub.readUInt32LE(0) !== 0) fail(`UnRegister returned 0x${stub.readUInt32LE(0).toString(16)}`);
        else completed++;
        next();
      }
    }, 65535);
    s.on('data', (d) => {
      try {
        splitter.push(d);
      } catch (e) {
        fail((e as Error).message);
        s.destroy();
      }
    });
    s.write(bindPdu(callId, syntax));
    // Start the loop once bound.
    void bound[i].then(next);
  }
  await Promise.all(bound);
  await new Promise((r) => setTimeout(r, a.warmupMs));
  const c0 = completed;
  const cpu0 = cpuNow();
  const s0 = cpuMsOfPid(a.serverPid);
  const t0 = monoMs();
  await new Promise((r) => setTimeout(r, a.durationMs));
  const t1 = monoMs();
  const c1 = completed;
  const cpu1 = cpuNow();
  const s1 = cpuMsOfPid(a.serverPid);
  running = false;
  // Let the calls in flight finish, then close (bounded).
  await new Promise((r) => setTimeout(r, 200));
  for (const s of sockets) s.destroy();
  const windowMs = t1 - t0;
  return {
    perSecond: ((c1 - c0) * 1000) / windowMs,
    completed: c1 - c0,
    windowMs,
    clientCpuPct: ((cpu1 - cpu0) / windowMs) * 100,
    serverCpuPct: ((s1 - s0) / windowMs) * 100,
    errors,
    firstError,
  };
}

serve({ rate: (a: RateArgs) => rate(a) });
