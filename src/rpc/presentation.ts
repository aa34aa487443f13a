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
 * The transfer syntax a context for `iface` is negotiated with, in order of preference: NDR64
 * where the interface has NDR64 codecs (MS-RPCE 2.2.5; Windows and Samba's witness server
 * prefer it), then NDR 2.0. Decided (issue 23, rule 7): the same order judges new contexts and
 * re-offers, so a re-offer whose preferred syntax is not the context's own is a protocol error,
 * as Windows answers. A context never changes syntax under calls already made on it, and real
 * clients re-offer the list they bound with, which selects the same syntax again.
 */
function preferences(iface: RpcInterface<CallContext>): readonly SyntaxId[] {
  return iface.dispatchNdr64 ? BOTH : NDR_ONLY;
}
const BOTH = [NDR64_SYNTAX, NDR_SYNTAX];
const NDR_ONLY = [NDR_SYNTAX];

/**
 * One result per offered context, and the connection's contexts with the accepted ones added
 * (a new list; the old one is left as it was), as Samba's dcesrv_negotiate_contexts (checked
 * against Windows by raw_protocol.py): in rounds by transfer syntax preference (above), each
 * element is judged by the first round whose syntax it offers. An alter_context accepts at most
 * one element and rejects every later one, existing contexts included, with reason 2
 * (test_no_auth_presentation_ctx_no_ndr64); a bind accepts one per interface. Unknown
 * interface: reason 1; no syntax we negotiate: reason 2; over the context limit: reason 3. A
 * re-offered context keeps its syntax: offering a more preferred one, or only the other one,
 * is a protocol error (Windows: test_no_auth_presentation_ctx_invalid4 and
 * test_spnego_change_transfer, where the preferred NDR64 differs from the context's NDR 2.0).
 * A context id re-used for another interface is one too, and so is a second bind-time feature
 * context in a bind (Windows and Samba answer bind_nak 0). In a bind, the feature context gets
 * negotiate_ack with the features we support (MS-RPCE 3.3.1.5.3). Undefined = protocol error.
 */
export function negotiateContexts(
  offered: readonly ContextElement[],
  contexts: Few<PresentationContext>,
  served: readonly RpcInterface<CallContext>[],
  maxContexts: number,
  onLimit: () => void,
  bind = true,
): { results: AckContextResult[]; contexts: Few<PresentationContext> } | undefined {
  const results: (AckContextResult | undefined)[] = new Array(offered.length).fill(undefined);
  const before = Few.list(contexts);
  let out = before;
  let sawFeatures = false;
  const ifaces = offered.map((c, i) => {
    const first = c.transferSyntaxes[0];
    if (!bind || !first.uuid.startsWith(BTFN_UUID_PREFIX) || first.major !== 1) return findInterface(served, c.abstractSyntax);
    if (sawFeatures) return null;
    sawFeatures = true;
    const raw = c.transferRaw[0];
    // We keep a connection on orphaned and serve several auth contexts per connection.
    const supported = BindTimeFeature.SECURITY_CONTEXT_MULTIPLEXING | BindTimeFeature.KEEP_CONNECTION_ON_ORPHAN;
    results[i] = { result: AckResult.NEGOTIATE_ACK, reason: (raw[0] | (raw[1] << 8)) & supported, transferSyntax: NULL_SYNTAX };
    return undefined;
  });
  if (ifaces.includes(null)) return undefined;
  // Interfaces given a context by this PDU (an alter_context: one at most, of any interface).
  const accepted = new Set<RpcInterface<CallContext>>();
  const full = (iface: RpcInterface<CallContext>) => (bind ? accepted.has(iface) : accepted.size > 0);
  for (let round = 0; round < BOTH.length; round++) {
    for (let i = 0; i < offered.length; i++) {
      const c = offered[i];
      const iface = ifaces[i];
      const settled = results[i]; // accepted, or refused for the context limit
      if (!iface || (settled && settled.reason !== AckReason.PROPOSED_TRANSFER_SYNTAXES_NOT_SUPPORTED)) continue;
      results[i] = reject(AckReason.PROPOSED_TRANSFER_SYNTAXES_NOT_SUPPORTED);
      const syntax = preferences(iface)[round];
      if (full(iface) || !syntax) continue;
      const existing = out.find((pc) => pc.id === c.contextId);
      if (existing && existing.iface !== iface) return undefined;
      if (!c.transferSyntaxes.some((t) => syntaxEquals(t, syntax))) continue;
      const ndr64 = syntax === NDR64_SYNTAX;
      if (existing) {
        if (existing.ndr64 !== ndr64) return undefined;
      } else if (out.length >= maxContexts) {
        onLimit();
        results[i] = reject(AckReason.LOCAL_LIMIT_EXCEEDED);
        continue;
      } else {
        // The trailer check needs the syntax exactly as the client offered it; NDR64 contexts are
        // rare enough not to be shared.
        const shareable = !ndr64 && syntaxEquals(c.abstractSyntax, iface.syntax) && c.contextId < SHARED_IDS;
        out = [...out, shareable ? sharedContext(iface, c.contextId) : { id: c.contextId, iface, abstractSyntax: c.abstractSyntax, ndr64 }];
      }
      accepted.add(iface);
      results[i] = { result: AckResult.ACCEPTANCE, reason: AckReason.NOT_SPECIFIED, transferSyntax: syntax };
    }
  }
  const final = results.map((r) => r ?? reject(AckReason.ABSTRACT_SYNTAX_NOT_SUPPORTED));
  // `out` is a new array once anything was added; one context is held as itself.
  return { results: final, contexts: out === before ? contexts : out.length === 1 ? out[0] : (out as PresentationContext[]) };
}
