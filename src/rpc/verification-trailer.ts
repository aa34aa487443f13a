/**
 * The MS-RPCE 2.2.2.13 verification trailer: authenticated clients (Samba's, Windows) append
 * it to the request stub. We find it at the end of the stub (magic 4-byte aligned, within the
 * last 1024 bytes, at most 16 bytes of padding after it), check it against the PDU and the
 * presentation context, and cut it off before the stub reaches the codec.
 */
import type { SyntaxId } from '../ndr/dispatch';
import { NDR64_SYNTAX, NDR_SYNTAX, PType, SEC_VT_MAGIC, SecVt } from './constants';
import type { PresentationContext } from './presentation';
import { WireReader, syntaxEquals } from './wire';

const MAX_SCAN = 1024;
const MAX_TRAILING_PAD = 16;

export type VtCommand =
  | { readonly kind: 'bitmask1'; readonly mustProcess: boolean; readonly bits: number }
  | { readonly kind: 'pcontext'; readonly mustProcess: boolean; readonly abstractSyntax: SyntaxId; readonly transferSyntax: SyntaxId }
  | { readonly kind: 'header2'; readonly mustProcess: boolean; readonly ptype: number; readonly drep: number; readonly callId: number; readonly contextId: number; readonly opnum: number }
  | { readonly kind: 'unknown'; readonly mustProcess: boolean; readonly command: number; readonly length: number };

export interface PoppedStub {
  /** The stub without the trailer (the same buffer when there was none). */
  readonly stub: Buffer;
  /** The trailer's commands, or undefined when the stub carries none. */
  readonly commands: readonly VtCommand[] | undefined;
}

function parseCommands(stub: Buffer, start: number, le: boolean): VtCommand[] | undefined {
  const r = new WireReader(stub, start + SEC_VT_MAGIC.length, stub.length, le);
  const out: VtCommand[] = [];
  try {
    for (;;) {
      const command = r.u16();
      const length = r.u16();
      const bodyStart = r.off;
      const body = new WireReader(stub, bodyStart, bodyStart + length, le);
      r.skip(length);
      const mustProcess = (command & SecVt.MUST_PROCESS) !== 0;
      const kind = command & SecVt.COMMAND_MASK;
      if (kind === SecVt.BITMASK_1 && length === 4) {
        out.push({ kind: 'bitmask1', mustProcess, bits: body.u32() });
      } else if (kind === SecVt.PCONTEXT && length === 40) {
        out.push({ kind: 'pcontext', mustProcess, abstractSyntax: body.syntax(), transferSyntax: body.syntax() });
      } else if (kind === SecVt.HEADER2 && length === 16) {
        const ptype = body.u8();
        body.skip(3);
        const drep = body.bytes(4).readUInt32BE(0);
        out.push({ kind: 'header2', mustProcess, ptype, drep, callId: body.u32(), contextId: body.u16(), opnum: body.u16() });
      } else if (kind === SecVt.BITMASK_1 || kind === SecVt.PCONTEXT || kind === SecVt.HEADER2) {
        return undefined; // a known command with the wrong size: not a trailer
      } else {
        out.push({ kind: 'unknown', mustProcess, command: kind, length });
      }
      if (command & SecVt.COMMAND_END) break;
    }
  } catch {
    return undefined;
  }
  if (stub.length - r.off > MAX_TRAILING_PAD) return undefined;
  return out;
}

/** Find and remove the verification trailer, if the stub ends with one. */
export function popVerificationTrailer(stub: Buffer, le: boolean): PoppedStub {
  if (stub.length < SEC_VT_MAGIC.length) return { stub, commands: undefined };
  let ofs = (stub.length - SEC_VT_MAGIC.length) & ~3;
  const minOfs = ofs > MAX_SCAN ? ofs - MAX_SCAN : 0;
  for (; ofs >= minOfs; ofs -= 4) {
    if (stub[ofs] !== SEC_VT_MAGIC[0] || !stub.subarray(ofs, ofs + 8).equals(SEC_VT_MAGIC)) continue;
    const commands = parseCommands(stub, ofs, le);
    // A magic that does not parse as a trailer belongs to the stub data.
    if (commands === undefined) return { stub, commands: undefined };
    return { stub: stub.subarray(0, ofs), commands };
  }
  return { stub, commands: undefined };
}

/**
 * MS-RPCE 3.3.3.5.5 / 2.2.2.13: every command at most once and consistent with the request
 * (drep: its four bytes as one big-endian number) and its presentation context; header signing
 * claimed only if negotiated (PFC_SUPPORT_HEADER_SIGN).
 */
export function checkVerificationTrailer(
  commands: readonly VtCommand[], call: { readonly callId: number; readonly opnum: number; readonly pc: PresentationContext }, drep: number, headerSigning: boolean,
): string | undefined {
  const pc = call.pc;
  const seen = new Set<number>();
  for (const c of commands) {
    const id = c.kind === 'bitmask1' ? SecVt.BITMASK_1 : c.kind === 'pcontext' ? SecVt.PCONTEXT : c.kind === 'header2' ? SecVt.HEADER2 : c.command;
    if (seen.has(id)) return `command ${id} repeated`;
    seen.add(id);
    switch (c.kind) {
      case 'bitmask1':
        if (c.bits & SecVt.CLIENT_SUPPORTS_HEADER_SIGNING && !headerSigning) return 'header signing claimed but not negotiated';
        break;
      case 'pcontext':
        if (!syntaxEquals(c.abstractSyntax, pc.abstractSyntax)) return 'abstract syntax differs from the presentation context';
        if (!syntaxEquals(c.transferSyntax, pc.ndr64 ? NDR64_SYNTAX : NDR_SYNTAX)) return 'transfer syntax differs from the presentation context';
        break;
      case 'header2':
        if (c.ptype !== PType.REQUEST || c.drep !== drep || c.callId !== call.callId || c.contextId !== pc.id || c.opnum !== call.opnum) {
          return 'header2 differs from the request header';
        }
        break;
      case 'unknown':
        if (c.mustProcess) return `unknown command ${c.command} marked must-process`;
        if (c.length % 4 !== 0) return `unknown command ${c.command} with unaligned length`;
        break;
    }
  }
  return undefined;
}
