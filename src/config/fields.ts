/**
 * Field types the configuration's sections share (names, durations, addresses): each says
 * in its message what a valid value looks like.
 */
import { isIPv4 } from 'node:net';
import { z } from 'zod';
import { canonicalIpv6, parseHostPort } from '../lib/address';

export const name = z.string().trim().min(1, 'must not be empty').max(255, 'at most 255 characters');
export const seconds = z.number().int('must be a whole number of seconds').min(0).max(86_400);
export const millis = z.number().int('must be a whole number of milliseconds');

export const ipv4 = z.string().refine((s) => isIPv4(s.trim()), 'not an IPv4 address (dotted quad)').transform((s) => s.trim());
export const ipv6 = z
  .string()
  .refine((s) => canonicalIpv6(s.trim()) !== undefined, 'not an IPv6 address')
  .transform((s) => canonicalIpv6(s.trim()) as string);
export const hostPortText = (defaultPort?: number) =>
  z.string().superRefine((s, ctx) => {
    try {
      parseHostPort(s, defaultPort);
    } catch (e) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message });
    }
  });
