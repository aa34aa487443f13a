/**
 * witnessd configuration: one YAML document, validated with zod. Every error names the
 * file, the line and column, and the field (a zod path is mapped back to the YAML node
 * through the document's source ranges).
 *
 * Here: the cluster model's sections (nodes, SVMs, LIFs, shares, the health watcher), the
 * document that holds them with the others, its parser and loader (the cluster model
 * reloads it). The other sections (listener, timeouts, admin, auth, limits, logging,
 * clusapi) and their defaults are in src/config/sections.ts.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { LineCounter, parseDocument, isMap, isPair, isScalar, isSeq, type Node as YamlNode, type Document } from 'yaml';
import { z } from 'zod';
import { hostPortText, ipv4, ipv6, millis, name } from '../config/fields';
import {
  adminSchema,
  authSchema,
  clusapiSchema,
  ctdbAdminSchema,
  DEFAULT_ADMIN_ADDRESS,
  limitsSchema,
  listenerSchema,
  loggingSchema,
  timeoutsSchema,
  witnessSchema,
} from '../config/sections';
import { addressKey } from '../lib/address';
import { DEMO_CONFIG_NAME, DEMO_CONFIG_YAML } from './demo-config';
import { dnsNameSchema, netbiosNameSchema } from './names';
import { ctdbClusterSchema, wantsCtdb, type CtdbClusterConfig } from './ctdb/config';

const nodeSchema = z
  .object({
    name,
    /** SFO (HA) partner; a node without one is a deployment warning, not a config error. */
    partner: name.optional(),
    /** host[:port] of the node's SMB server (port 445 by default), probed by the watcher. */
    smbAddress: hostPortText(445).optional(),
  })
  .strict();

const lifSchema = z
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

const shareSchema = z
  .object({
    name,
    continuouslyAvailable: z.boolean().default(false),
    /** Node whose aggregate holds the share's volume. */
    node: name,
  })
  .strict();

const svmSchema = z
  .object({
    name,
    netbiosName: netbiosNameSchema,
    dnsName: dnsNameSchema,
    aliases: z.array(name).default([]),
    lifs: z.array(lifSchema).default([]),
    shares: z.array(shareSchema).default([]),
  })
  .strict();

export const WATCHER_MODES = ['smb2-negotiate', 'tcp-connect', 'simulated'] as const;
export type WatcherMode = (typeof WATCHER_MODES)[number];

const watcherSchema = z
  .object({
    mode: z.enum(WATCHER_MODES).default('smb2-negotiate'),
    /** Time between the starts of two probes of one node. */
    intervalMs: millis.min(50).max(600_000).default(500),
    /** A probe that has no answer after this long failed. */
    timeoutMs: millis.min(10).max(600_000).default(400),
    /** Consecutive failed probes before a node is declared down. */
    failureThreshold: z.number().int().min(1).max(100).default(3),
    /** Consecutive good probes before a down node is declared up again. */
    recoveryThreshold: z.number().int().min(1).max(100).default(2),
  })
  .strict()
  .refine((w) => w.timeoutMs <= w.intervalMs, { message: 'timeoutMs must not exceed intervalMs', path: ['timeoutMs'] });

const configSchema = z
  .object({
    /** `source: ctdb` selects ctdbConfigSchema below; yaml (the default) is this one. */
    cluster: z.object({ source: z.literal('yaml') }).strict().optional(),
    nodes: z.array(nodeSchema).min(1, 'at least one node is required'),
    svms: z.array(svmSchema).min(1, 'at least one SVM is required'),
    listener: listenerSchema.default({}),
    timeouts: timeoutsSchema.default({}),
    witness: witnessSchema.default({}),
    watcher: watcherSchema.default({}),
    admin: adminSchema.default({}),
    auth: authSchema.default({}),
    limits: limitsSchema.default({}),
    logging: loggingSchema.default({}),
    clusapi: clusapiSchema.default({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    // Names and addresses that other parts of witnessd look up must be unique.
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
  })
  .transform((c) => ({
    ...c,
    listener: {
      ...c.listener,
      // Absent or empty: every data LIF address (unique: the check above refuses a repeated one).
      addresses: c.listener.addresses?.length
        ? c.listener.addresses
        : c.svms.flatMap((s) => s.lifs.flatMap((l) => [l.ipv4, l.ipv6].filter((a): a is string => a !== undefined))),
    },
  }));

/**
 * CTDB mode (src/cluster/ctdb/config.ts): no nodes, no LIFs; one SVM named after the CIFS
 * server with the YAML's shares. The daemon fills nodes and LIFs in from ctdbd before the
 * model is built. admin.address is optional here: the node address, port ADMIN_PORT (src/config/sections.ts), by default.
 */
const ctdbConfigSchema = z
  .object({
    cluster: ctdbClusterSchema,
    listener: listenerSchema.default({}),
    timeouts: timeoutsSchema.default({}),
    witness: witnessSchema.default({}),
    watcher: watcherSchema.default({}),
    admin: ctdbAdminSchema.default({}),
    auth: authSchema.default({}),
    limits: limitsSchema.default({}),
    logging: loggingSchema.default({}),
    clusapi: clusapiSchema.default({}),
  })
  .strict()
  .transform((c) => {
    const { cluster, admin, ...rest } = c;
    const server = cluster.server;
    return {
      ...rest,
      nodes: [] as z.output<typeof nodeSchema>[],
      svms: [
        {
          name: server.netbiosName,
          netbiosName: server.netbiosName,
          dnsName: server.dnsName,
          aliases: server.aliases,
          lifs: [] as z.output<typeof lifSchema>[],
          // Every CTDB node serves every share; the daemon names a node once it knows them.
          shares: cluster.shares.map((sh) => ({ ...sh, node: '' })),
        },
      ],
      listener: { ...c.listener, addresses: c.listener.addresses ?? [] },
      admin: { address: admin.address ?? DEFAULT_ADMIN_ADDRESS, token: admin.token },
      ctdb: { ...cluster, adminAddress: admin.address, followIps: !c.listener.addresses?.length } as CtdbSettings,
    };
  });

/** The CTDB source's settings, with what the daemon needs to know about the rest of the file. */
export type CtdbSettings = CtdbClusterConfig & {
  /** admin.address as written; undefined = the node address, port ADMIN_PORT. */
  readonly adminAddress: string | undefined;
  /** No (or an empty) listener.addresses in the file: listen on the node address and the IPs the node hosts. */
  readonly followIps: boolean;
};

/** The validated configuration (defaults filled in). */
export type WitnessdConfig = z.output<typeof configSchema> & {
  /** Where it came from: a file path or DEMO_CONFIG_NAME. */
  readonly source: string;
  /** Present in CTDB mode (cluster.source: ctdb). */
  readonly ctdb?: CtdbSettings;
};
export type NodeConfig = WitnessdConfig['nodes'][number];
export type SvmConfig = WitnessdConfig['svms'][number];
export type LifConfig = SvmConfig['lifs'][number];
export type ShareConfig = SvmConfig['shares'][number];
export type WatcherConfig = WitnessdConfig['watcher'];
export type AdminConfig = WitnessdConfig['admin'];
export type AuthConfig = WitnessdConfig['auth'];
export type KerberosConfig = NonNullable<AuthConfig['kerberos']>;

export interface ConfigProblem {
  readonly file: string;
  /** 1-based; 0 when unknown. */
  readonly line: number;
  readonly column: number;
  /** Dotted field path, e.g. svms[0].lifs[1].ipv4; '' for the document itself. */
  readonly field: string;
  readonly message: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return p.field ? `${where}: ${p.field}: ${p.message}` : `${where}: ${p.message}`;
}

function fieldName(p: readonly (string | number)[]): string {
  let out = '';
  for (const seg of p) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  return out;
}

/** Find the YAML node for a zod path; falls back to the deepest existing ancestor. */
function locate(doc: Document, p: readonly (string | number)[], key?: string): { offset: number; exact: boolean } {
  let node: unknown = doc.contents;
  let offset = (doc.contents as YamlNode | null)?.range?.[0] ?? 0;
  const steps = key === undefined ? p : [...p, key];
  for (let i = 0; i < steps.length; i++) {
    const seg = steps[i];
    const last = i === steps.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(seg));
      if (!pair) return { offset, exact: false };
      // An unknown key is best shown at the key itself.
      const target = last && key !== undefined ? pair.key : pair.value ?? pair.key;
      const r = (target as YamlNode | null)?.range ?? (pair.key as YamlNode | null)?.range;
      if (r) offset = r[0];
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as YamlNode | undefined;
      if (!item) return { offset, exact: false };
      if (item.range) offset = item.range[0];
      node = item;
    } else {
      return { offset, exact: false };
    }
  }
  return { offset, exact: true };
}

/** Parse and validate a configuration text. Throws ConfigError. */
export function parseConfig(text: string, sourceName: string): WitnessdConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const pos = (offset: number) => lineCounter.linePos(offset);
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const lp = e.linePos?.[0] ?? pos(e.pos[0]);
        return { file: sourceName, line: lp.line, column: lp.col, field: '', message: e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '') };
      }),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // yaml throws (ReferenceError) for an alias without its anchor or an alias bomb; found by
    // the config fuzzer (test/fuzz-corpus/config/).
    throw new ConfigError([{ file: sourceName, line: 1, column: 1, field: '', message: `YAML aliases: ${(e as Error).message}` }]);
  }
  if (data === null || data === undefined || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError([{ file: sourceName, line: 1, column: 1, field: '', message: 'the configuration must be a YAML mapping (nodes:, svms:, ...)' }]);
  }
  const result = (wantsCtdb(data) ? ctdbConfigSchema : configSchema).safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.map((issue): ConfigProblem => {
      const keys = issue.code === z.ZodIssueCode.unrecognized_keys ? issue.keys : [];
      const at = locate(doc, issue.path, keys[0]);
      const lp = pos(at.offset);
      let message = issue.message;
      if (issue.code === z.ZodIssueCode.invalid_type && issue.received === 'undefined') message = 'required field is missing';
      else if (issue.code === z.ZodIssueCode.unrecognized_keys) message = `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}`;
      const field = fieldName(keys.length === 1 ? [...issue.path, keys[0]] : issue.path);
      return { file: sourceName, line: lp.line, column: lp.col, field, message };
    });
    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new ConfigError(problems);
  }
  return { ...result.data, source: sourceName };
}

/** Read, parse and validate a configuration file. Relative accountsFile and keytab paths become absolute. */
export function loadConfig(file: string): WitnessdConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError([{ file, line: 0, column: 0, field: '', message: `cannot read: ${err.code ?? err.message}` }]);
  }
  const cfg = parseConfig(text, file);
  const beside = (p: string) => path.resolve(path.dirname(file), p);
  const { accountsFile, kerberos } = cfg.auth;
  return {
    ...cfg,
    auth: {
      ...cfg.auth,
      ...(accountsFile !== undefined ? { accountsFile: beside(accountsFile) } : {}),
      ...(kerberos !== undefined ? { kerberos: { ...kerberos, keytab: beside(kerberos.keytab) } } : {}),
    },
  };
}

/** The embedded demo configuration, validated. */
export function demoConfig(): WitnessdConfig {
  return parseConfig(DEMO_CONFIG_YAML, DEMO_CONFIG_NAME);
}

export { DEMO_CONFIG_YAML, DEMO_CONFIG_NAME };
export { AUTH_LEVELS, type AuthLevelName } from '../config';
