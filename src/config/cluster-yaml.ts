/**
 * The cluster section of a YAML-model document (`cluster.source: yaml`, the default): nodes
 * in SFO pairs and SVMs with their data LIFs and shares, written out in the file; the health
 * watcher judges the nodes. The names and addresses that other parts of witnessd look up are
 * unique (uniqueNames).
 */
import { z } from 'zod';
import { addressKey } from '../lib/address';
import { dnsNameSchema, hostPortText, ipv4, ipv6, name, netbiosNameSchema } from './fields';

export const nodeSchema = z
  .object({
    name,
    /** SFO (HA) partner; a node without one is a deployment warning, not a config error. */
    partner: name.optional(),
    /** host[:port] of the node's SMB server (port 445 by default), probed by the watcher. */
    smbAddress: hostPortText(445).optional(),
  })
  .strict();

export const lifSchema = z
  .object({
    name,
    ipv4: ipv4.optional(),
    ipv6: ipv6.optional(),
    homeNode: name,
    /** Defaults to homeNode. */
    currentNode: name.optional(),
    up: z.boolean().default(true),
  })
  .strict()
  .refine((l) => l.ipv4 !== undefined || l.ipv6 !== undefined, {
    message: 'a data LIF needs an ipv4 or an ipv6 address (or both)',
  })
  .transform((l) => ({ ...l, currentNode: l.currentNode ?? l.homeNode }));

export const shareSchema = z
  .object({
    name,
    continuouslyAvailable: z.boolean().default(false),
    /** Node whose aggregate holds the share's volume. */
    node: name,
  })
  .strict();

export const svmSchema = z
  .object({
    name,
    netbiosName: netbiosNameSchema,
    dnsName: dnsNameSchema,
    aliases: z.array(name).default([]),
    lifs: z.array(lifSchema).default([]),
    shares: z.array(shareSchema).default([]),
  })
  .strict();

/** The YAML model's own keys of the document. */
export const yamlClusterSections = {
  /** `source: ctdb` selects the CTDB document (document.ts); yaml is the default. */
  cluster: z.object({ source: z.literal('yaml') }).strict().optional(),
  nodes: z.array(nodeSchema).min(1, 'at least one node is required'),
  svms: z.array(svmSchema).min(1, 'at least one SVM is required'),
};

type YamlCluster = { nodes: z.output<typeof nodeSchema>[]; svms: z.output<typeof svmSchema>[] };

/** Names and addresses that other parts of witnessd look up must be unique. */
export function uniqueNames(c: YamlCluster, ctx: z.RefinementCtx): void {
  const dup = (seen: Map<string, number>, key: string, i: number, p: (string | number)[], what: string) => {
    const first = seen.get(key);
    if (first !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: p, message: `duplicate ${what} "${key}" (first at index ${first})` });
    else seen.set(key, i);
  };
  const nodeNames = new Map<string, number>();
  c.nodes.forEach((n, i) => dup(nodeNames, n.name, i, ['nodes', i, 'name'], 'node name'));
  const svmNames = new Map<string, number>();
  const lifNames = new Map<string, number>();
  const addrs = new Map<string, number>();
  const cifsNames = new Map<string, number>();
  let lifIndex = 0;
  c.svms.forEach((s, i) => {
    dup(svmNames, s.name, i, ['svms', i, 'name'], 'SVM name');
    [s.netbiosName, s.dnsName, ...s.aliases].forEach((n, k) => {
      const field = k === 0 ? 'netbiosName' : k === 1 ? 'dnsName' : 'aliases';
      const p = k < 2 ? ['svms', i, field] : ['svms', i, field, k - 2];
      const key = n.toLowerCase();
      const first = cifsNames.get(key);
      if (first !== undefined && first !== i) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: p, message: `CIFS name "${n}" is also used by SVM ${c.svms[first].name}` });
      } else cifsNames.set(key, i);
    });
    s.lifs.forEach((l, j) => {
      dup(lifNames, l.name, lifIndex, ['svms', i, 'lifs', j, 'name'], 'LIF name');
      for (const fam of ['ipv4', 'ipv6'] as const) {
        const a = l[fam];
        if (a !== undefined) dup(addrs, addressKey(a) as string, lifIndex, ['svms', i, 'lifs', j, fam], 'LIF address');
      }
      lifIndex++;
    });
    const shareNames = new Map<string, number>();
    s.shares.forEach((sh, j) => dup(shareNames, sh.name.toLowerCase(), j, ['svms', i, 'shares', j, 'name'], 'share name'));
  });
}
