/**
 * The JSON form of a forced AsyncNotify response (`witnessctl notify --json-response`,
 * POST /v1/notify), in the spirit of Samba's `net witness force-response`:
 *
 *   {"response": {"type": "RESOURCE_CHANGE", "changes": [{"changeType": "UNAVAILABLE", "name": "SOFS"}]}}
 *   {"response": {"type": "CLIENT_MOVE", "addresses": [{"ipv4": "127.0.0.12"}]}}
 *   {"result": 1168}                      → NULL response with ERROR_NOT_FOUND
 *
 * `type` and `changeType` take names or numbers. An address's flags default to V4/V6 by the
 * addresses given plus ONLINE (or OFFLINE with "online": false); explicit "flags" win.
 */
import { isIPv4 } from 'node:net';
import { z } from 'zod';
import { canonicalIpv6 } from '../lib/address';
import {
  IP_CHANGE_NOTIFICATION,
  IPADDR_OFFLINE,
  IPADDR_ONLINE,
  IPADDR_V4,
  IPADDR_V6,
  RESOURCE_CHANGE_NOTIFICATION,
} from '../gen/witness';
import { CHANGE_TYPES, MESSAGE_TYPES, type MoveType } from '../witness/constants';
import type { ForcedNotification } from './port';

const namesOf = <K extends string>(o: Record<K, number>) => Object.keys(o) as [K, ...K[]];
const u32 = z.number().int().min(0).max(0xffffffff);
const u32OrHex = z.union([u32, z.string().regex(/^0x[0-9a-fA-F]{1,8}$/, 'a number or 0x hex').transform((s) => parseInt(s, 16))]);

const changeSchema = z
  .object({
    changeType: z.union([z.enum(namesOf(CHANGE_TYPES)).transform((s) => CHANGE_TYPES[s]), u32]),
    name: z.string().min(1).max(259),
  })
  .strict();

const addressSchema = z
  .object({
    ipv4: z.string().refine((s) => isIPv4(s), 'not an IPv4 address').optional(),
    ipv6: z.string().refine((s) => canonicalIpv6(s) !== undefined, 'not an IPv6 address').optional(),
    flags: u32.optional(),
    online: z.boolean().optional(),
  })
  .strict()
  .refine((a) => a.ipv4 !== undefined || a.ipv6 !== undefined, 'an address needs ipv4 or ipv6');

const responseSchema = z
  .object({
    type: z.union([z.enum(namesOf(MESSAGE_TYPES)).transform((s) => MESSAGE_TYPES[s]), z.number().int().min(RESOURCE_CHANGE_NOTIFICATION).max(IP_CHANGE_NOTIFICATION)]),
    changes: z.array(changeSchema).max(1000).optional(),
    addresses: z.array(addressSchema).max(1000).optional(),
    /** Further address lists (net witness force-response allows several; MS-SWN sends one). */
    moreLists: z.array(z.array(addressSchema).max(1000)).max(16).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.type === RESOURCE_CHANGE_NOTIFICATION && (r.changes === undefined || r.addresses !== undefined)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'RESOURCE_CHANGE takes "changes" (and no "addresses")' });
    }
    if (r.type === RESOURCE_CHANGE_NOTIFICATION && r.moreLists !== undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'RESOURCE_CHANGE takes no "moreLists"' });
    }
    if (r.type !== RESOURCE_CHANGE_NOTIFICATION && (r.addresses === undefined || r.changes !== undefined)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'CLIENT_MOVE, SHARE_MOVE and IP_CHANGE take "addresses" (and no "changes")' });
    }
  });

/** The fields a notify request adds to the registration filter. */
export const forcedNotifySchema = z.object({
  result: u32OrHex.optional(),
  response: responseSchema.nullable().optional(),
});

export type ForcedNotifyInput = z.infer<typeof forcedNotifySchema>;

export class ForcedNotifyError extends Error {}

export function toForcedNotification(input: ForcedNotifyInput): { result: number; response: ForcedNotification | undefined } {
  if (input.result === undefined && (input.response === undefined || input.response === null)) {
    throw new ForcedNotifyError('notify: give a response, a result, or both');
  }
  const result = input.result ?? 0;
  const r = input.response;
  if (r === undefined || r === null) return { result, response: undefined };
  if (r.type === RESOURCE_CHANGE_NOTIFICATION) return { result, response: { type: RESOURCE_CHANGE_NOTIFICATION, changes: (r.changes ?? []).map((c) => ({ changeType: c.changeType, name: c.name })) } };
  const toList = (l: NonNullable<typeof r.addresses>) => l.map((a) => {
    const ipv6 = a.ipv6 === undefined ? undefined : canonicalIpv6(a.ipv6);
    const flags = a.flags ?? ((a.ipv4 !== undefined ? IPADDR_V4 : 0) | (ipv6 !== undefined ? IPADDR_V6 : 0) | (a.online === false ? IPADDR_OFFLINE : IPADDR_ONLINE));
    return { flags, ...(a.ipv4 !== undefined ? { ipv4: a.ipv4 } : {}), ...(ipv6 !== undefined ? { ipv6 } : {}) };
  });
  const addresses = toList(r.addresses ?? []);
  return { result, response: { type: r.type as MoveType, addresses, ...(r.moreLists?.length ? { moreLists: r.moreLists.map(toList) } : {}) } };
}
