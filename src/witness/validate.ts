/**
 * Register / RegisterEx checks in the Spec's order with the exact WERRORs (MS-SWN.md §2.1,
 * §2.4, Decisions 4–5, smbtorture's table in §6):
 *   version → NULL pointers → NetName → (RegisterEx) ShareName → IpAddress.
 */
import type { ClusterModelView, LifView, ShareView, SvmView } from '../cluster/types';
import { WERR } from './constants';
import { WITNESS_V1, WITNESS_V2 } from '../gen/witness';
import type { RegisterArgs } from './types';
import { addressKey } from '../lib/address';
import { hasUnprintable, printable } from '../lib/printable';

export type Validated =
  | { readonly ok: true; readonly svm: SvmView; readonly lif: LifView; readonly share: ShareView | undefined }
  | { readonly ok: false; readonly result: number; readonly reason: string };

const eqi = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/**
 * The longest strings a client may send, checked before anything else reads them (a 4 MB
 * IpAddress was once stored, logged and served whole). MS-SWN gives no lengths; these are the
 * names' own: a DNS name is at most 255 octets (RFC 1035; Windows sends its FQDN as
 * ClientComputerName, MS-SWN note <13>), a share name at most 80 characters (MS-SRVS
 * NetShareAdd), an IP address text at most 45 (INET6_ADDRSTRLEN 46 with its NUL), with room
 * for an IPv6 zone. Longer: the WERROR the check of that string gives (0x57 or 0x139F).
 * NetName and ShareName must also equal a configured name, IpAddress a LIF's address, so what is
 * stored is that long at most; ClientComputerName is the one string stored as the client sent it.
 */
export const MAX_NET_NAME = 255;
export const MAX_SHARE_NAME = 80;
export const MAX_IP_ADDRESS = 64;
export const MAX_CLIENT_NAME = 255;

/** The SVM whose CIFS NetBIOS name, DNS name or an alias is `netName` (case-insensitive). */
export function svmByNetName(model: ClusterModelView, netName: string): SvmView | undefined {
  if (netName === '') return undefined;
  return model
    .svms()
    .find((s) => eqi(s.netbiosName, netName) || eqi(s.dnsName, netName) || s.aliases.some((a) => eqi(a, netName)));
}

export function validateRegistration(model: ClusterModelView, args: RegisterArgs, ex: boolean): Validated {
  const wanted = ex ? WITNESS_V2 : WITNESS_V1;
  if (args.version >>> 0 !== wanted) {
    return { ok: false, result: WERR.REVISION_MISMATCH, reason: `version 0x${(args.version >>> 0).toString(16)}` };
  }
  if (args.netName === undefined || args.ipAddress === undefined || args.clientName === undefined) {
    return { ok: false, result: WERR.INVALID_PARAMETER, reason: 'NULL NetName, IpAddress or ClientComputerName' };
  }
  if (args.clientName.length > MAX_CLIENT_NAME) {
    return { ok: false, result: WERR.INVALID_PARAMETER, reason: `ClientComputerName of ${args.clientName.length} characters` };
  }
  // A computer name has no control or bidi characters: refused, so that no log line, list or
  // page ever shows one of them from the one string stored as sent (outputs escape them too).
  if (hasUnprintable(args.clientName)) {
    return { ok: false, result: WERR.INVALID_PARAMETER, reason: `ClientComputerName '${clip(args.clientName)}' has control or bidi characters` };
  }
  if (args.netName.length > MAX_NET_NAME) {
    return { ok: false, result: WERR.INVALID_PARAMETER, reason: `NetName of ${args.netName.length} characters` };
  }
  const svm = svmByNetName(model, args.netName);
  if (!svm) return { ok: false, result: WERR.INVALID_PARAMETER, reason: `unknown NetName '${clip(args.netName)}'` };
  let share: ShareView | undefined;
  if (ex && args.shareName !== undefined) {
    if (args.shareName.length > MAX_SHARE_NAME) {
      return { ok: false, result: WERR.INVALID_STATE, reason: `ShareName of ${args.shareName.length} characters` };
    }
    share = model.shares(svm.name).find((s) => eqi(s.name, args.shareName as string));
    if (!share) {
      return { ok: false, result: WERR.INVALID_STATE, reason: `share '${clip(args.shareName)}' is not a share of ${svm.name}` };
    }
  }
  if (args.ipAddress.length > MAX_IP_ADDRESS) {
    return { ok: false, result: WERR.INVALID_STATE, reason: `IpAddress of ${args.ipAddress.length} characters` };
  }
  const lif = args.ipAddress === '' ? undefined : model.lifByAddress(args.ipAddress.trim());
  if (!lif || lif.svm !== svm.name) {
    return { ok: false, result: WERR.INVALID_STATE, reason: `'${clip(args.ipAddress)}' is not a data LIF of ${svm.name}` };
  }
  return { ok: true, svm, lif, share };
}

/** A client string as it may appear in a log line: cut short, control and bidi characters escaped. */
export function clip(s: string | undefined, max = 128): string | undefined {
  return s === undefined ? s : printable(s, max);
}

/** The address text stored for a registration: the LIF's own (IpAddress matched it, trimmed, in any IPv6 spelling). */
export function lifAddressText(lif: LifView, ipAddress: string): string {
  const key = addressKey(ipAddress.trim());
  if (lif.ipv4 !== undefined && addressKey(lif.ipv4) === key) return lif.ipv4;
  return lif.ipv6 ?? lif.ipv4 ?? ipAddress.trim();
}
