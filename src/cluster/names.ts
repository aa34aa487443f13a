/** The CIFS server's names as the config writes them (an SVM, or a CTDB cluster's server). */
import { z } from 'zod';

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
