/** Auth legs with the toy provider over a raw client: bind + auth3, signed requests, protected responses. */
import { NDR, PT, auth3, bind, request, type Parsed } from './pdu-builder';
import { type Harness, authSpec } from './harness';
import { FAKE_AUTH_TYPE, FakeClient } from './fake-security';
import { TEST_SYNTAX } from './test-interface';
import type { RawClient } from './raw-client';

export const ctx0 = [{ id: 0, abstract: TEST_SYNTAX, transfers: [NDR] }];

/** bind + auth3 with the fake provider at `level`; returns the client state. */
export async function authBind(
  h: Harness, level: number, opts: { flags?: number; contextId?: number; maxXmit?: number; user?: string } = {},
): Promise<{ c: RawClient; fc: FakeClient; ack: Parsed }> {
  const c = await h.connect();
  const fc = new FakeClient(opts.user ?? 'alice', 'three');
  c.send(bind({ callId: 1, flags: opts.flags, maxXmit: opts.maxXmit, maxRecv: opts.maxXmit, contexts: ctx0, auth: authSpec(fc.hello(), level, opts.contextId ?? 1) }));
  const ack = await c.recv();
  expect(ack.ptype).toBe(PT.BIND_ACK);
  expect(ack.auth).toMatchObject({ type: FAKE_AUTH_TYPE, level, contextId: opts.contextId ?? 1, padLength: 0 });
  const proof = fc.onServerToken(ack.auth!.value)!;
  c.send(auth3({ callId: 1, auth: authSpec(proof, level, opts.contextId ?? 1) }));
  return { c, fc, ack };
}

/** The auth part of a request spec: sign (and seal) with fc's client-to-server channel. */
export function signWith(fc: FakeClient, level: number, contextId = 1) {
  return { type: FAKE_AUTH_TYPE, level, contextId, sigLength: 16, protect: (pdu: Buffer, s: number, e: number) => fc.out!.protect(pdu, s, e, level) };
}

export function signedRequest(fc: FakeClient, level: number, callId: number, opnum: number, stub: Buffer, contextId = 1): Buffer {
  return request({ callId, opnum, stub, auth: signWith(fc, level, contextId) });
}

/** Check and (for privacy) decrypt a protected response; returns its stub. */
export function openResponse(fc: FakeClient, r: Parsed, level: number): Buffer {
  expect(r.ptype).toBe(PT.RESPONSE);
  expect(r.auth).toBeDefined();
  expect(r.authLength).toBe(16);
  expect((24 + r.stub!.length + r.auth!.padLength) % 16).toBe(8); // stub+pad is a multiple of 16 after the 24-byte header
  const pdu = Buffer.from(r.raw.subarray(0, r.auth!.offset + 8));
  fc.in!.unprotect(pdu, 24, r.auth!.offset, level, r.auth!.value);
  return pdu.subarray(24, r.auth!.offset - r.auth!.padLength);
}
