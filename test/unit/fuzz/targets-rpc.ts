/**
 * Fuzz targets for the DCE/RPC runtime.
 *
 *  - `pdu`: the PDU decoders alone (header, bind/alter body, request body, sec_trailer);
 *    documented error: PduError.
 *  - `connection`: a byte stream of PDUs fed to a real Connection (over a fake socket) serving
 *    the real Witness, endpoint mapper and clusapi interfaces with real NTLMSSP/SPNEGO. The
 *    connection must never throw, never log at error level (its "internal error" path), and
 *    must leave no registration behind once the connection closes.
 */
import { EventEmitter } from 'node:events';
import pino from 'pino';
import { PduError } from '../../../src/rpc/wire';
import { decodeBind, decodeHeader, decodeRequest, decodeSecTrailer } from '../../../src/rpc/pdu';
import { HEADER_LENGTH, PType } from '../../../src/rpc/constants';
import { Connection, type ConnectionHost } from '../../../src/rpc/connection';
import { createManagementInterface } from '../../../src/rpc/mgmt/management';
import { newRpcStats } from '../../../src/rpc/stats';
import { AssociationGroupTable } from '../../../src/rpc/association-group';
import { resolveOptions } from '../../../src/rpc/options';
import { createEndpointMapper } from '../../../src/rpc/epm/endpoint-mapper';
import { AuthLevel, type SecurityProvider } from '../../../src/rpc/security';
import { createNtlmsspProvider, createSpnegoProvider } from '../../../src/auth';
import { ClusterModel } from '../../../src/cluster';
import { demoConfig } from '../../../src/config';
import { createWitnessService } from '../../../src/witness';
import { createClusapiService } from '../../../src/clusapi';
import type { NdrModule } from '../../../src/ndr';
import { MODULES } from '../gen/samples';
import { OID, encodeNegTokenInit } from '../../../src/auth/spnego-token';
import { TestNtlmClient } from '../auth/ntlm-test-client';
import { auth3, bind, request, simple, alter, PT, FIRST, LAST, NDR, NDR64, BTFN3, type CtxSpec } from '../../integration/rpc/helpers/pdu-builder';
import { byteMutate, int, type FuzzTarget, type Rng } from './engine';
import { FUZZ_USER, fuzzNtlmOptions } from './targets-auth';

const RPC_SRC = /\/src\/rpc\//;

/** Split a stream into PDUs by frag_length (a broken tail is one last chunk). */
export function splitPdus(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let p = 0;
  while (p < stream.length) {
    if (stream.length - p < HEADER_LENGTH) { out.push(stream.subarray(p)); break; }
    const le = (stream[p + 4] & 0x10) !== 0;
    const len = le ? stream.readUInt16LE(p + 8) : stream.readUInt16BE(p + 8);
    if (len < HEADER_LENGTH || p + len > stream.length) { out.push(stream.subarray(p)); break; }
    out.push(stream.subarray(p, p + len));
    p += len;
  }
  return out;
}

function fixLengths(pdu: Buffer, r: Rng): Buffer {
  if (pdu.length < HEADER_LENGTH || r() < 0.2) return pdu;
  const b = Buffer.from(pdu);
  const le = (b[4] & 0x10) !== 0;
  const len = Math.min(b.length, 0xffff);
  if (le) b.writeUInt16LE(len, 8); else b.writeUInt16BE(len, 8);
  if (r() < 0.5) {
    const auth = b.readUInt16LE(10);
    if (auth + 8 + HEADER_LENGTH > len) { if (le) b.writeUInt16LE(0, 10); else b.writeUInt16BE(0, 10); }
  }
  return b.subarray(0, len);
}

// ------------------------------------------------------------------ seeds

const ifaces: CtxSpec[] = MODULES.map(([m], i) => ({ id: i, abstract: m.syntax, transfers: [NDR] }));

function sampleRequests(mods: readonly NdrModule[], samples: typeof MODULES): Buffer[] {
  const out: Buffer[] = [];
  let callId = 10;
  mods.forEach((m, ctx) => {
    const s = samples[ctx][1];
    for (const [name, op] of Object.entries(m.operations)) {
      for (const v of s[name].in) out.push(request({ callId: callId++, contextId: ctx, opnum: op.opnum, stub: op.encodeIn(v as never, true) }));
    }
  });
  return out;
}

function connectionSeeds(): Buffer[] {
  const mods = MODULES.map(([m]) => m);
  const reqs = sampleRequests(mods, MODULES);
  const plainBind = bind({ callId: 1, contexts: [...ifaces, { id: 7, abstract: mods[0].syntax, transfers: [NDR64, BTFN3] }] });
  const seeds: Buffer[] = [Buffer.concat([plainBind, ...reqs])];
  // A registration then AsyncNotify with its handle, GetInterfaceList, UnRegister.
  seeds.push(Buffer.concat([plainBind, ...reqs.slice(0, 6)]));
  // Fragmented request, cancel, orphaned, big-endian bind.
  const stub = reqs[1].subarray(24);
  seeds.push(Buffer.concat([
    plainBind,
    request({ callId: 50, contextId: 0, opnum: 1, stub: stub.subarray(0, 8), flags: FIRST, allocHint: stub.length }),
    request({ callId: 50, contextId: 0, opnum: 1, stub: stub.subarray(8), flags: LAST }),
    simple(PT.CO_CANCEL, 51), simple(PT.ORPHANED, 52),
  ]));
  seeds.push(Buffer.concat([bind({ callId: 1, le: false, contexts: ifaces }), request({ callId: 2, le: false, contextId: 0, opnum: 0, stub: Buffer.alloc(0) })]));
  // NDR64 contexts and NDR64 stubs: the generated second back end behind the runtime.
  let callId64 = 200;
  const reqs64 = mods.flatMap((m, ctx) => Object.entries(m.operations).flatMap(([name, op]) =>
    MODULES[ctx][1][name].in.map((v) => request({ callId: callId64++, contextId: 10 + ctx, opnum: op.opnum, stub: op.ndr64.encodeIn(v as never, true) }))));
  seeds.push(Buffer.concat([bind({ callId: 1, contexts: MODULES.map(([m], i) => ({ id: 10 + i, abstract: m.syntax, transfers: [NDR, NDR64] })) }), ...reqs64]));
  // NTLMSSP at connect level: bind (NEGOTIATE) + auth3 (AUTHENTICATE) + a call.
  const client = new TestNtlmClient({ ...FUZZ_USER, withMic: true });
  const provider = createNtlmsspProvider(fuzzNtlmOptions());
  const challenge = provider.newContext({ localAddress: '', remoteAddress: '', remotePort: 0 }).accept(client.negotiate()).token!;
  seeds.push(Buffer.concat([
    bind({ callId: 1, contexts: ifaces, auth: { type: 10, level: 2, contextId: 1, token: client.negotiateMsg } }),
    auth3({ callId: 1, auth: { type: 10, level: 2, contextId: 1, token: client.authenticate(challenge) } }),
    request({ callId: 3, contextId: 0, opnum: 0, stub: Buffer.alloc(0) }),
  ]));
  // SPNEGO in bind, then alter_context.
  seeds.push(Buffer.concat([
    bind({ callId: 1, contexts: ifaces, auth: { type: 9, level: 6, contextId: 2, token: encodeNegTokenInit([OID.NTLMSSP], new TestNtlmClient(FUZZ_USER).negotiate()) } }),
    alter({ callId: 2, contexts: ifaces, auth: { type: 9, level: 6, contextId: 2, token: Buffer.from('a10e300ca00a0a0100', 'hex') } }),
  ]));
  return seeds;
}

// ------------------------------------------------------------------ the fake socket

class FakeSocket extends EventEmitter {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 40000;
  readonly localAddress = '127.0.0.11';
  readonly localPort = 49152;
  destroyed = false;
  writableLength = 0;
  written = 0;
  setNoDelay(): this { return this; }
  write(b: Buffer): boolean { this.written += b.length; return true; }
  end(): this { return this; }
  destroy(): this { if (!this.destroyed) { this.destroyed = true; } return this; }
}

export function pduTarget(): FuzzTarget {
  return {
    name: 'pdu',
    maxLength: 4096,
    coverage: RPC_SRC,
    seeds: () => connectionSeeds().flatMap(splitPdus),
    mutate: (input, r, corpus) => fixLengths(byteMutate(input, r, corpus, 4096), r),
    allowed: (e) => e instanceof PduError,
    run(pdu) {
      const h = decodeHeader(pdu);
      if (h.fragLength > pdu.length) throw new PduError('frag_length beyond the buffer');
      const frame = pdu.subarray(0, h.fragLength);
      const st = h.authLength > 0 ? decodeSecTrailer(frame, h, HEADER_LENGTH) : undefined;
      if (h.ptype === PType.BIND || h.ptype === PType.ALTER_CONTEXT) decodeBind(frame, h, st ? st.offset - st.authPadLength : h.fragLength);
      else if (h.ptype === PType.REQUEST) {
        const req = decodeRequest(frame, h);
        if (h.authLength > 0) decodeSecTrailer(frame, h, req.stubOffset);
      }
    },
  };
}

export interface ConnectionTarget extends FuzzTarget {
  /** Registrations alive right now (must be 0 between inputs). */
  registrations(): number;
  close(): void;
}

export function connectionTarget(): ConnectionTarget {
  const errors: string[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => { errors.push(line.slice(0, 400)); } });
  const model = new ClusterModel(demoConfig(), { logger: pino({ level: 'silent' }) });
  const witness = createWitnessService({ model, logger: pino({ level: 'silent' }), options: { maxRegistrationsPerClient: 16 } });
  const clusapi = createClusapiService({ model, logger: pino({ level: 'silent' }), allowAnonymous: true });
  const providers: SecurityProvider[] = [
    createNtlmsspProvider(fuzzNtlmOptions({ allowAnonymous: true, logger: pino({ level: 'silent' }) })),
    createSpnegoProvider(fuzzNtlmOptions({ allowAnonymous: true, logger: pino({ level: 'silent' }) })),
  ];
  const host: ConnectionHost = {
    options: resolveOptions({ logger, limits: { maxPendingCallsPerConnection: 8, maxContextsPerConnection: 16, maxRequestSize: 65536 } }),
    groups: new AssociationGroupTable((err) => errors.push(`association group listener failed: ${String(err)}`)),
    provider: (t) => providers.find((p) => p.authType === t),
    minAuthLevel: () => AuthLevel.None,
    connectionClosed: () => undefined,
    stats: newRpcStats(),
  };
  const epm = createEndpointMapper({ endpoints: () => [{ name: 'witness', protocol: 'ncacn_ip_tcp', port: 49152, addresses: ['127.0.0.11'], interfaces: [witness.rpcInterface.syntax], ndr64Interfaces: [witness.rpcInterface.syntax] }] });
  const mgmt = createManagementInterface({ interfacesAt: () => view.interfaces.map((i) => i.syntax), principalName: (t) => providers.find((p) => p.authType === t)?.principalName, stats: host.stats });
  const view = { port: 49152, interfaces: [witness.rpcInterface, epm, clusapi.rpcInterface, mgmt] };
  const tick = () => new Promise<void>((res) => setImmediate(res));
  return {
    name: 'connection',
    maxLength: 8192,
    coverage: /\/src\/(rpc|witness|clusapi|auth)\//,
    seeds: connectionSeeds,
    mutate(input, r, corpus) {
      const pdus = splitPdus(input);
      if (pdus.length === 0) return undefined;
      const i = int(r, pdus.length);
      switch (int(r, 5)) {
        case 0: pdus.splice(i, 1); break;
        case 1: pdus.splice(i, 0, pdus[int(r, pdus.length)]); break;
        case 2: { const other = splitPdus(corpus[int(r, corpus.length)]); pdus.splice(i, 0, other[int(r, other.length)] ?? Buffer.alloc(0)); break; }
        default: pdus[i] = fixLengths(byteMutate(pdus[i], r, corpus, 4096), r);
      }
      const out = Buffer.concat(pdus);
      return out.length > 8192 ? out.subarray(0, 8192) : out;
    },
    allowed: () => false, // a Connection handles everything itself
    async run(stream) {
      const sock = new FakeSocket();
      const conn = new Connection(sock as never, { host, endpoint: view, address: '127.0.0.1' });
      // Deliver in two chunks at a mutation-chosen cut, as TCP may.
      const cut = stream.length > 0 ? stream[stream.length - 1] % (stream.length + 1) : 0;
      sock.emit('data', stream.subarray(0, cut));
      sock.emit('data', stream.subarray(cut));
      await tick(); // every dispatched call settles (or waits, like AsyncNotify)
      sock.emit('close');
      void conn;
      const left = witness.service.registry.size;
      if (left !== 0) {
        errors.push(`${left} registration(s) survived their association`);
        for (const reg of [...witness.service.registry.all()]) witness.service.registry.remove(reg, 'fuzz cleanup');
      }
    },
    findings: () => errors.splice(0),
    registrations: () => witness.service.registry.size,
    close: () => witness.close(),
  };
}
