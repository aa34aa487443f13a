/**
 * witnessd's configuration document: one YAML file, validated with zod, in one of two
 * shapes chosen by `cluster.source`: the YAML model (nodes and SVMs written out,
 * cluster-yaml.ts) or CTDB (nodes and public IPs from ctdbd, cluster-ctdb.ts). Both carry
 * the nine shared sections (sections.ts) and validate to one WitnessdConfig, whose
 * `cluster` says which source feeds the cluster model. The loader is load.ts.
 */
import { z } from 'zod';
import { ctdbClusterSchema, type CtdbSettings } from './cluster-ctdb';
import { lifSchema, nodeSchema, uniqueNames, yamlClusterSections } from './cluster-yaml';
import { ctdbAdminSchema, DEFAULT_ADMIN_ADDRESS, SHARED_SECTIONS } from './sections';

const yamlDocumentSchema = z
  .object({ ...yamlClusterSections, ...SHARED_SECTIONS })
  .strict()
  .superRefine(uniqueNames)
  .transform((c) => ({
    ...c,
    cluster: { source: 'yaml' } as ClusterSection,
    listener: {
      ...c.listener,
      // Absent or empty: every data LIF address (unique: uniqueNames refuses a repeated one).
      addresses: c.listener.addresses?.length
        ? c.listener.addresses
        : c.svms.flatMap((s) => s.lifs.flatMap((l) => [l.ipv4, l.ipv6].filter((a): a is string => a !== undefined))),
    },
  }));

/**
 * CTDB: no nodes, no LIFs; one SVM named after the CIFS server with the document's shares.
 * The CTDB source fills nodes and LIFs in from ctdbd before the model is built.
 * admin.address is optional here: the node address, port ADMIN_PORT, by default.
 */
const ctdbDocumentSchema = z
  .object({ cluster: ctdbClusterSchema, ...SHARED_SECTIONS, admin: ctdbAdminSchema.default({}) })
  .strict()
  .transform((c) => {
    const { cluster, admin, ...rest } = c;
    const server = cluster.server;
    return {
      ...rest,
      cluster: { ...cluster, adminAddress: admin.address, followIps: !c.listener.addresses?.length } as ClusterSection,
      nodes: [] as z.output<typeof nodeSchema>[],
      svms: [
        {
          name: server.netbiosName,
          netbiosName: server.netbiosName,
          dnsName: server.dnsName,
          aliases: server.aliases,
          lifs: [] as z.output<typeof lifSchema>[],
          // Every CTDB node serves every share; the source names a node once it knows them.
          shares: cluster.shares.map((sh) => ({ ...sh, node: '' })),
        },
      ],
      listener: { ...c.listener, addresses: c.listener.addresses ?? [] },
      admin: { address: admin.address ?? DEFAULT_ADMIN_ADDRESS, token: admin.token },
    };
  });

/** Which source feeds the cluster model, with that source's own settings. */
export type ClusterSection = { readonly source: 'yaml' } | CtdbSettings;
/** The names `cluster.source` takes. */
export type ClusterSourceName = ClusterSection['source'];

/** The document schema a parsed YAML mapping asks for (by its cluster.source). */
export function documentSchemaFor(data: unknown): typeof yamlDocumentSchema | typeof ctdbDocumentSchema {
  const c = (data as { cluster?: { source?: unknown } } | null)?.cluster;
  return typeof c === 'object' && c !== null && c.source === 'ctdb' ? ctdbDocumentSchema : yamlDocumentSchema;
}

/** The validated configuration (defaults filled in). */
export type WitnessdConfig = z.output<typeof yamlDocumentSchema> & {
  /** Where it came from: a file path or DEMO_CONFIG_NAME. */
  readonly source: string;
};
export type NodeConfig = WitnessdConfig['nodes'][number];
export type SvmConfig = WitnessdConfig['svms'][number];
export type LifConfig = SvmConfig['lifs'][number];
export type ShareConfig = SvmConfig['shares'][number];
export type WatcherConfig = WitnessdConfig['watcher'];
export type AdminConfig = WitnessdConfig['admin'];
export type AuthConfig = WitnessdConfig['auth'];
export type KerberosConfig = NonNullable<AuthConfig['kerberos']>;

/** The CTDB settings of a document that asks for CTDB, else undefined. */
export const ctdbSettings = (c: WitnessdConfig): CtdbSettings | undefined => (c.cluster.source === 'ctdb' ? c.cluster : undefined);
