/**
 * SPNEGO tokens (RFC 4178 section 4.2, MS-SPNG 2.2): the client's NegTokenInit (inside the
 * GSS-API InitialContextToken) and NegTokenResp in both directions.
 */
import { DerError, Tag, children, content, decodeOid, encodeOid, expectTlv, readTlv, tlv } from './der';

export const OID = {
  SPNEGO: '1.3.6.1.5.5.2',
  NTLMSSP: '1.3.6.1.4.1.311.2.2.10',
  KERBEROS: '1.2.840.113554.1.2.2',
  MS_KERBEROS: '1.2.840.48018.1.2.2',
  NEGOEX: '1.3.6.1.4.1.311.2.2.30',
} as const;

export enum NegState {
  AcceptCompleted = 0,
  AcceptIncomplete = 1,
  Reject = 2,
  RequestMic = 3,
}

export interface NegTokenInit {
  readonly kind: 'init';
  readonly mechTypes: string[];
  /** The DER bytes of the MechTypeList exactly as sent: what mechListMIC covers. */
  readonly mechTypesDer: Buffer;
  readonly mechToken?: Buffer;
  readonly mechListMIC?: Buffer;
}

export interface NegTokenResp {
  readonly kind: 'resp';
  readonly negState?: NegState;
  readonly supportedMech?: string;
  readonly responseToken?: Buffer;
  readonly mechListMIC?: Buffer;
}

export type NegotiationToken = NegTokenInit | NegTokenResp;

/**
 * Parse what a client sends: an InitialContextToken (0x60), or a bare [0]/[1] choice.
 * `trailing`: octets after the token are ignored. Only a client's first token may have them:
 * MS-RPCE 2.2.2.11 counts octets a client allocated for auth_value but did not fill as part of
 * it; XP-era clients send them, and Windows and Samba 4.22 accept them in the first leg and
 * refuse them later (raw_protocol test_auth_tail_pad_spnego_*).
 */
export function parseNegotiationToken(buf: Buffer, trailing = false): NegotiationToken {
  const outer = readTlv(buf, 0);
  if (outer.end !== buf.length && !trailing) throw new DerError('trailing bytes after the SPNEGO token');
  let choice = outer;
  if (outer.tag === Tag.APPLICATION_0) {
    const mech = expectTlv(buf, outer.contentStart, Tag.OID, outer.end);
    if (decodeOid(content(buf, mech)) !== OID.SPNEGO) throw new DerError('InitialContextToken is not SPNEGO');
    choice = readTlv(buf, mech.end, outer.end);
    if (choice.end !== outer.end) throw new DerError('trailing bytes inside the InitialContextToken');
  }
  if (choice.tag === Tag.context(0)) return parseInit(buf, choice.contentStart, choice.end);
  if (choice.tag === Tag.context(1)) return parseResp(buf, choice.contentStart, choice.end);
  throw new DerError(`unknown NegotiationToken choice 0x${choice.tag.toString(16)}`);
}

function parseInit(buf: Buffer, pos: number, limit: number): NegTokenInit {
  const seq = expectTlv(buf, pos, Tag.SEQUENCE, limit);
  let mechTypes: string[] | undefined;
  let mechTypesDer: Buffer | undefined;
  let mechToken: Buffer | undefined;
  let mechListMIC: Buffer | undefined;
  for (const f of children(buf, seq, 8)) {
    switch (f.tag) {
      case Tag.context(0): {
        const list = expectTlv(buf, f.contentStart, Tag.SEQUENCE, f.end);
        mechTypesDer = Buffer.from(buf.subarray(list.start, list.end));
        mechTypes = children(buf, list, 32).map((o) => {
          if (o.tag !== Tag.OID) throw new DerError('MechTypeList holds a non-OID');
          return decodeOid(content(buf, o));
        });
        break;
      }
      case Tag.context(1):
        break; // reqFlags: ignored, as MS-SPNG says
      case Tag.context(2):
        mechToken = Buffer.from(content(buf, expectTlv(buf, f.contentStart, Tag.OCTET_STRING, f.end)));
        break;
      case Tag.context(3):
        mechListMIC = Buffer.from(content(buf, expectTlv(buf, f.contentStart, Tag.OCTET_STRING, f.end)));
        break;
      default:
        throw new DerError(`unexpected NegTokenInit field 0x${f.tag.toString(16)}`);
    }
  }
  if (!mechTypes || !mechTypesDer) throw new DerError('NegTokenInit without mechTypes');
  return { kind: 'init', mechTypes, mechTypesDer, mechToken, mechListMIC };
}

function parseResp(buf: Buffer, pos: number, limit: number): NegTokenResp {
  const seq = expectTlv(buf, pos, Tag.SEQUENCE, limit);
  let negState: NegState | undefined;
  let supportedMech: string | undefined;
  let responseToken: Buffer | undefined;
  let mechListMIC: Buffer | undefined;
  for (const f of children(buf, seq, 8)) {
    switch (f.tag) {
      case Tag.context(0): {
        const e = content(buf, expectTlv(buf, f.contentStart, Tag.ENUMERATED, f.end));
        if (e.length !== 1 || e[0] > 3) throw new DerError('bad negState');
        negState = e[0];
        break;
      }
      case Tag.context(1):
        supportedMech = decodeOid(content(buf, expectTlv(buf, f.contentStart, Tag.OID, f.end)));
        break;
      case Tag.context(2):
        responseToken = Buffer.from(content(buf, expectTlv(buf, f.contentStart, Tag.OCTET_STRING, f.end)));
        break;
      case Tag.context(3):
        mechListMIC = Buffer.from(content(buf, expectTlv(buf, f.contentStart, Tag.OCTET_STRING, f.end)));
        break;
      default:
        throw new DerError(`unexpected NegTokenResp field 0x${f.tag.toString(16)}`);
    }
  }
  return { kind: 'resp', negState, supportedMech, responseToken, mechListMIC };
}

export function encodeNegTokenResp(r: Omit<NegTokenResp, 'kind'>): Buffer {
  const fields: Buffer[] = [];
  if (r.negState !== undefined) fields.push(tlv(Tag.context(0), tlv(Tag.ENUMERATED, Buffer.from([r.negState]))));
  if (r.supportedMech !== undefined) fields.push(tlv(Tag.context(1), encodeOid(r.supportedMech)));
  if (r.responseToken !== undefined) fields.push(tlv(Tag.context(2), tlv(Tag.OCTET_STRING, r.responseToken)));
  if (r.mechListMIC !== undefined) fields.push(tlv(Tag.context(3), tlv(Tag.OCTET_STRING, r.mechListMIC)));
  return tlv(Tag.context(1), tlv(Tag.SEQUENCE, ...fields));
}

/** A client-side NegTokenInit (for tests and our own client). */
export function encodeNegTokenInit(mechTypes: string[], mechToken?: Buffer, mechListMIC?: Buffer): Buffer {
  const fields = [tlv(Tag.context(0), tlv(Tag.SEQUENCE, ...mechTypes.map(encodeOid)))];
  if (mechToken) fields.push(tlv(Tag.context(2), tlv(Tag.OCTET_STRING, mechToken)));
  if (mechListMIC) fields.push(tlv(Tag.context(3), tlv(Tag.OCTET_STRING, mechListMIC)));
  return tlv(Tag.APPLICATION_0, encodeOid(OID.SPNEGO), tlv(Tag.context(0), tlv(Tag.SEQUENCE, ...fields)));
}

export function encodeMechTypeList(mechTypes: string[]): Buffer {
  return tlv(Tag.SEQUENCE, ...mechTypes.map(encodeOid));
}
