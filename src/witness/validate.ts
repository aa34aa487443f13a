/**
 * Register / RegisterEx checks in the Spec's order with the exact WERRORs (MS-SWN.md §2.1,
 * §2.4, Decisions 4–5, smbtorture's table in §6):
 *   version → NULL pointers → NetName → (RegisterEx) ShareName → IpAddress.
 */
import type { ClusterModelView, LifView, ShareView, SvmView } from '../cluster/types';
import { WERR } from './constants';
import { WITNESS_V1, WITNESS_V2 } from '../gen/witness';
import type { RegisterArgs } from './types';

export type Validated =
  | { readonly ok: true; readonly svm: SvmView; readonly lif: LifView; readonly share: ShareView | undefined }
  | { readonly ok: false; readonly result: number; readonly reason: string };

const eqi = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/**
 * Longest ClientComputerName we keep (a DNS name is at most 255 octets). It is the only
 * client string stored unchecked, so it is bounded rather than trusted.
 */
export const MAX_CLIENT_NAME = 1024;

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
  const svm = svmByNetName(model, args.netName);
  if (!svm) return { ok: false, result: WERR.INVALID_PARAMETER, reason: `unknown NetName '${clip(args.netName)}'` };
  let share: ShareView | undefined;
  if (ex && args.shareName !== undefined) {
    share = model.shares(svm.name).find((s) => eqi(s.name, args.shareName as string));
    if (!share) {
      return { ok: false, result: WERR.INVALID_STATE, reason: `share '${clip(args.shareName)}' is not a share of ${svm.name}` };
    }
  }
  const lif = args.ipAddress === '' ? undefined : model.lifByAddress(args.ipAddress.trim());
  if (!lif || lif.svm !== svm.name) {
    return { ok: false, result: WERR.INVALID_STATE, reason: `'${clip(args.ipAddress)}' is not a data LIF of ${svm.name}` };
  }
  return { ok: true, svm, lif, share };
}

/** A client string as it may appear in a log line. */
export function clip(s: string | undefined, max = 128): string | undefined {
  if (s === undefined || s.length <= max) return s;
  return `${s.slice(0, max)}…(${s.length} chars)`;
}
