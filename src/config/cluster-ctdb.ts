/**
 * The `cluster:` section of a CTDB-mode configuration. In this mode the YAML holds no nodes
 * and no IP addresses: nodes (PNN, address, flags) and public IPs (where each is, where it
 * may go) come from ctdbd. The YAML gives what CTDB does not know: the CIFS server's NetBIOS
 * and DNS names (the same as smb.conf's `netbios name` and the cluster's DNS name; witnessd
 * does not read smb.conf) and the shares with their continuous availability.
 */
import { z } from 'zod';
import { dnsNameSchema, name, netbiosNameSchema } from './fields';
import { ADMIN_PORT } from './sections';
import { PEER_WATCH_PORT, peerWatchSchema } from './peer-watch';

/** A ctdbd control's (and a connect's) default time limit: cluster.controlTimeoutMs, and the CTDB client's default. */
export const CTDB_CONTROL_TIMEOUT_MS = 2000;

/** ctdbd's own socket (Debian's ctdb 4.22: rundir /run/ctdb); CTDB_SOCKET overrides it, as for the ctdb tool. */
export const CTDB_DEFAULT_SOCKET = '/run/ctdb/ctdbd.socket';
export const defaultCtdbSocket = (): string => process.env.CTDB_SOCKET || CTDB_DEFAULT_SOCKET;


export const ctdbClusterSchema = z
  .object({
    source: z.literal('ctdb'),
    /** ctdbd's Unix socket; `witnessd --ctdb-socket PATH` overrides it. */
    socket: z.string().min(1).optional(),
    /**
     * How often the local node map is read (GET_NODEMAP, a local control of ~0.1 ms): CTDB
     * sends its clients no message when a peer disconnects, and DISCONNECTED is the earliest
     * fact of a node failure (~0.06 s after a ctdbd dies).
     */
    nodemapPollMs: z.number().int().min(20).max(60_000).default(100),
    /** A full re-read (node map and every node's public IPs) at least this often, besides the events. */
    resyncMs: z.number().int().min(500).max(3_600_000).default(5000),
    /** A control without an answer after this long fails (a remote node's may take a while). */
    controlTimeoutMs: z.number().int().min(50).max(60_000).default(CTDB_CONTROL_TIMEOUT_MS),
    /** At start, wait this long for ctdbd to answer before giving up (CTDB's startup event may race it). */
    startTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    /** Reconnect backoff after ctdbd went away: starts here, doubles, capped. */
    reconnectMinMs: z.number().int().min(10).max(60_000).default(100),
    reconnectMaxMs: z.number().int().min(10).max(600_000).default(5000),
    /** The port of each node's smbd, probed by the peer watch. */
    smbPort: z.number().int().min(1).max(65535).default(445),
    /** The CIFS server the cluster presents (smb.conf's netbios name, and its DNS name). */
    server: z
      .object({
        netbiosName: netbiosNameSchema,
        dnsName: dnsNameSchema,
        aliases: z.array(name).default([]),
      })
      .strict(),
    /** Each witnessd watches its peers (SMB2 probes + heartbeats) to tell clients of a hung or cut-off node before CTDB does. */
    peerWatch: peerWatchSchema.default({}),
    /** Every node serves every share (a clustered file system); continuouslyAvailable as in smb.conf. */
    shares: z.array(z.object({ name, continuouslyAvailable: z.boolean().default(true) }).strict()).default([]),
    /**
     * Samba's `rpcd witness:include node ips` (default no): the nodes' own addresses are
     * interfaces too (GetInterfaceList, Register), pinned to their node, UNAVAILABLE while it
     * is inactive or disabled.
     */
    includeNodeIps: z.boolean().default(false),
    /** Samba's `rpcd witness:include public ips` (default yes): CTDB's public IPs are the interfaces. */
    includePublicIps: z.boolean().default(true),
    /**
     * A node CTDB disables (ctdb disable, or UNHEALTHY: Samba's NODE_FLAGS_DISABLED):
     * `client-move` (witnessd) tells its IPs' clients to move before the IPs go;
     * `resource-change` (Samba's rpcd_witness) reports its IPs UNAVAILABLE, then AVAILABLE
     * where CTDB puts them.
     */
    disabledNode: z.enum(['client-move', 'resource-change']).default('client-move'),
  })
  .strict()
  .refine((c) => c.reconnectMinMs <= c.reconnectMaxMs, { message: 'reconnectMinMs must not exceed reconnectMaxMs', path: ['reconnectMinMs'] });

export type CtdbClusterConfig = z.output<typeof ctdbClusterSchema>;

/** The CTDB source's settings: the cluster section with what the source needs to know about the rest of the file. */
export type CtdbSettings = CtdbClusterConfig & {
  /** admin.address as written; undefined = the node address, port ADMIN_PORT. */
  readonly adminAddress: string | undefined;
  /** No (or an empty) listener.addresses in the file: listen on the node address and the IPs the node hosts. */
  readonly followIps: boolean;
};

/** What --print-ctdb-config read from the node's smb.conf (src/cli/smb-conf.ts reads it). */
export interface SambaFacts {
  readonly source: string;
  readonly netbiosName: string;
  readonly dnsName: string;
  /** Disk shares smbd announces CONTINUOUS AVAILABILITY for. */
  readonly caShares: readonly string[];
  readonly includeNodeIps: boolean | undefined;
  readonly includePublicIps: boolean | undefined;
  /** Lines for the administrator (a CA share without CLUSTER, ...). */
  readonly notes: readonly string[];
}

/** A scalar YAML reads back as this string. */
const yamlText = (v: string): string => (/^[A-Za-z0-9][A-Za-z0-9._$-]*$/.test(v) && !/^(yes|no|true|false|on|off|null|~)$/i.test(v) ? v : JSON.stringify(v));

/**
 * `witnessd --print-ctdb-config`: a complete configuration for one node of a CTDB cluster.
 * The same file goes on every node (the admin token is the cluster's); an administrator
 * edits the names, the shares and the accounts.
 */
export function ctdbConfigTemplate(token: string, samba?: SambaFacts): string {
  const shares = samba
    ? (samba.caShares.length ? samba.caShares.map((n) => `    - name: ${yamlText(n)}\n      continuouslyAvailable: true\n`).join('') : '    []  # smb.conf announces CA on no share\n')
    : '    - name: data\n      continuouslyAvailable: true\n';
  const compat = samba ? [
    ...(samba.includeNodeIps !== undefined ? [`  includeNodeIps: ${samba.includeNodeIps}     # smb.conf: rpcd witness:include node ips`] : []),
    ...(samba.includePublicIps !== undefined ? [`  includePublicIps: ${samba.includePublicIps}   # smb.conf: rpcd witness:include public ips`] : []),
  ].map((l) => `${l}\n`).join('') : '';
  const origin = samba
    ? `# The CIFS server's names and the CA shares were read from ${samba.source} (testparm):
# run witnessd --print-ctdb-config again after changing them there.
${samba.notes.map((n) => `# NOTE: ${n}\n`).join('')}`
    : `# Samba's configuration was not read: keep the names below equal to smb.conf's
# "netbios name" and the cluster's DNS name, and list its CA shares (--smb-conf FILE).
`;
  return `# witnessd on one node of a CTDB cluster (the same file on every node).
# Nodes, their addresses and health, and the public IPs come from the local ctdbd;
# list no nodes or IPs here.
${origin}cluster:
  source: ctdb
  socket: ${CTDB_DEFAULT_SOCKET}   # or: witnessd --ctdb-socket PATH
  nodemapPollMs: 100        # node map read: a dead node is noticed within this
  resyncMs: 5000            # full re-read besides CTDB's messages
  controlTimeoutMs: 2000
  smbPort: 445              # each node's smbd, probed by the peer watch
  peerWatch:                # README "Faster than CTDB: hangs and partitions"
    enabled: true
    port: ${PEER_WATCH_PORT}              # UDP heartbeat between the witnessd instances
    silenceMs: 2000         # hung or cut off this long: clients told (~3 s after the fault)
  server:
    netbiosName: ${samba ? yamlText(samba.netbiosName) : 'SOFS'}       # smb.conf: netbios name
    dnsName: ${samba ? yamlText(samba.dnsName) : 'sofs.example.com'}   # smb.conf: dns hostname, or netbios name.realm
    aliases: []
  shares:
${shares}${compat}
# The witness endpoint and the endpoint mapper (port 135) listen on the node address and
# on the public IPs this node hosts now, following CTDB's takeip/releaseip. To listen on
# the wildcard address instead, set: addresses: ['0.0.0.0', '::']
listener:
  witnessPort: 0            # dynamic, published through the endpoint mapper
  epmPort: 135

# The admin API listens on the node address, port ${ADMIN_PORT}. One token per cluster: the
# same on every node (CTDB's event script and witnessctl use it).
admin:
  token: ${token}

auth:
  minimumLevel: integrity   # Windows clients sign their witness calls
  allowAnonymous: false
  # accountsFile: /etc/witnessd/accounts.yaml
  accounts:
    - domain: EXAMPLE
      user: witness
      password: change-me

# In CTDB mode the peer watch (cluster.peerWatch) probes every node's smbd and hears the
# other witnessd instances (UDP ${PEER_WATCH_PORT}); the single-node watcher below stays off.
watcher:
  mode: simulated

timeouts:
  unusedRegistrationSeconds: 30

logging:
  level: info
`;
}
