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

/** The CIFS server's names as the document writes them (an SVM's, or a CTDB cluster's server). */
export const netbiosNameSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(15, 'a NetBIOS name has at most 15 characters')
  .regex(/^[^\s.\\/:*?"<>|]+$/, 'a NetBIOS name has no spaces, dots or \\/:*?"<>|');

export const dnsNameSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/, 'not a DNS name');
