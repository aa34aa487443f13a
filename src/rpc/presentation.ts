/**
 * Presentation context negotiation (C706 12.6.3.1, MS-RPCE 3.3.1.5.3): which of the contexts
 * a bind or alter_context offers we accept, and the bind-time feature negotiation answer.
 */
import type { RpcInterface, SyntaxId } from '../ndr/dispatch';
import type { CallContext } from './call-context';
import { AckReason, AckResult, BindTimeFeature, BTFN_UUID_PREFIX, NDR64_SYNTAX, NDR_SYNTAX } from './constants';
import { type AckContextResult, type ContextElement, NULL_SYNTAX } from './pdu';
import { syntaxEquals } from './wire';
import { Few } from '../lib/few';

export interface PresentationContext {
  readonly id: number;
  readonly iface: RpcInterface<CallContext>;
  /** The abstract syntax as the client offered it (the verification trailer repeats it). */
  readonly abstractSyntax: SyntaxId;
  /** The transfer syntax negotiated: calls on this context are dispatched in NDR64 when set. */
  readonly ndr64: boolean;
}

/** An interface served here: same UUID and major version, the client's minor not above ours. */
export function findInterface(served: readonly RpcInterface<CallContext>[], s: SyntaxId): RpcInterface<CallContext> | undefined {
  for (const i of served) {
    if (i.syntax.uuid === s.uuid && i.syntax.major === s.major && s.minor <= i.syntax.minor) return i;
  }
  return undefined;
}

const reject = (reason: number): AckContextResult => ({ result: AckResult.PROVIDER_REJECTION, reason, transferSyntax: NULL_SYNTAX });

/**
 * Contexts are immutable, so the usual ones (a served interface as we define it, a small
 * context id) are one object shared by every connection, which holds it as its Few list: a
 * connection with one context costs a pointer, not ~0.1 KB (memory benchmark, issue 7).
 */
const SHARED_IDS = 16;
const shared = new WeakMap<RpcInterface<CallContext>, PresentationContext[]>();
function sharedContext(iface: RpcInterface<CallContext>, id: number): PresentationContext {
  let byId = shared.get(iface);
  if (!byId) shared.set(iface, (byId = []));
  return (byId[id] ??= Object.freeze({ id, iface, abstractSyntax: iface.syntax, ndr64: false }));
}

/**
 * One result per offered context, and the connection's contexts with the accepted ones added
 * (a new list; the old one is left as it was). Every context whose interface is
 * served is accepted with NDR64 when the client offers it and the interface has NDR64 codecs
 * (MS-RPCE 2.2.5: NDR64 is preferred, as Windows and Samba 4.22 do), else with NDR 2.0
 * (neither offered: reason 2; unknown interface: reason 1), but only the first new one per
 * interface in one PDU: Windows and Samba (dcesrv_negotiate_contexts) reject the later ones
 * with reason 2. In a bind, the bind-time feature negotiation context gets negotiate_ack with
 * the features we support (MS-RPCE 3.3.1.5.3). Undefined = protocol error: a context id
 * re-used for another interface, or a second feature context in a bind (Windows and Samba
 * answer bind_nak 0).
 */
export function negotiateContexts(
  offered: readonly ContextElement[],
  contexts: Few<PresentationContext>,
  served: readonly RpcInterface<CallContext>[],
  maxContexts: number,
  onLimit: () => void,
  bind = true,
): { results: AckContextResult[]; contexts: Few<PresentationContext> } | undefined {
  const results: AckContextResult[] = [];
  const before = Few.list(contexts);
  let out = before;
  let sawFeatures = false;
  for (const c of offered) {
    const first = c.transferSyntaxes[0];
    if (bind && first.uuid.startsWith(BTFN_UUID_PREFIX) && first.major === 1) {
      if (sawFeatures) return undefined;
      sawFeatures = true;
      const raw = c.transferRaw[0];
      const offeredBits = raw[0] | (raw[1] << 8);
      // We keep a connection on orphaned and serve several auth contexts per connection.
      const supported = BindTimeFeature.SECURITY_CONTEXT_MULTIPLEXING | BindTimeFeature.KEEP_CONNECTION_ON_ORPHAN;
      results.push({ result: AckResult.NEGOTIATE_ACK, reason: offeredBits & supported, transferSyntax: NULL_SYNTAX });
      continue;
    }
    const iface = findInterface(served, c.abstractSyntax);
    if (!iface) {
      results.push(reject(AckReason.ABSTRACT_SYNTAX_NOT_SUPPORTED));
      continue;
    }
    const offers = (s: SyntaxId): boolean => c.transferSyntaxes.some((t) => syntaxEquals(t, s));
    const existing = out.find((pc) => pc.id === c.contextId);
    // An existing context keeps the syntax it was negotiated with (a re-offer may not switch it).
    const ndr64 = existing ? existing.ndr64 : iface.dispatchNdr64 !== undefined && offers(NDR64_SYNTAX);
    if (!offers(ndr64 ? NDR64_SYNTAX : NDR_SYNTAX)) {
      results.push(reject(AckReason.PROPOSED_TRANSFER_SYNTAXES_NOT_SUPPORTED));
      continue;
    }
    if (existing) {
      if (existing.iface !== iface) return undefined;
    } else if (out.slice(before.length).some((pc) => pc.iface === iface)) {
      results.push(reject(AckReason.PROPOSED_TRANSFER_SYNTAXES_NOT_SUPPORTED));
      continue;
    } else if (out.length >= maxContexts) {
      onLimit();
      results.push(reject(AckReason.LOCAL_LIMIT_EXCEEDED));
      continue;
    } else {
      // The trailer check needs the syntax exactly as the client offered it; NDR64 contexts are
      // rare enough not to be shared.
      const shareable = !ndr64 && syntaxEquals(c.abstractSyntax, iface.syntax) && c.contextId < SHARED_IDS;
      out = [...out, shareable ? sharedContext(iface, c.contextId) : { id: c.contextId, iface, abstractSyntax: c.abstractSyntax, ndr64 }];
    }
    results.push({ result: AckResult.ACCEPTANCE, reason: AckReason.NOT_SPECIFIED, transferSyntax: ndr64 ? NDR64_SYNTAX : NDR_SYNTAX });
  }
  // `out` is a new array once anything was added; one context is held as itself.
  return { results, contexts: out === before ? contexts : out.length === 1 ? out[0] : (out as PresentationContext[]) };
}
