/** The `cluster.peerWatch:` settings: how each node's witnessd watches its peers (README "Faster than CTDB"). */
import { z } from 'zod';

/** UDP port of the heartbeat between witnessd instances, beside the admin API's 8135. */
export const PEER_WATCH_PORT = 8136;

export const peerWatchSchema = z
  .object({
    /** Off: nodes change state only as CTDB (or the operator) says. */
    enabled: z.boolean().default(true),
    /** UDP port on every node address (the same on every node). */
    port: z.number().int().min(1).max(65535).default(PEER_WATCH_PORT),
    /** A heartbeat to every peer this often. */
    heartbeatMs: z.number().int().min(20).max(10_000).default(150),
    /**
     * Each node's SMB server is probed this often on its node address (every fourth time on
     * the public IPs it hosts too). Each probe is one connection, one smbd child.
     */
    probeIntervalMs: z.number().int().min(20).max(10_000).default(400),
    /** One probe's bound. */
    probeTimeoutMs: z.number().int().min(20).max(30_000).default(1000),
    /**
     * A node none of whose addresses has answered an SMB2 NEGOTIATE for this long is not
     * serving (hung, or cut off), and a peer not heard for this long does not vote. A stall
     * shorter than this causes no notification; clients are told about silenceMs +
     * heartbeatMs after the node stopped (3 s by default).
     */
    silenceMs: z.number().int().min(100).max(600_000).default(2000),
    /** Refused or reset probes in a row (the node answered: its smbd is dead) that need no silence. */
    refusedThreshold: z.number().int().min(1).max(100).default(2),
    /** Good probes in a row before a node this watch declared down is back. */
    recoveryThreshold: z.number().int().min(1).max(100).default(2),
  })
  .strict()
  .refine((c) => c.heartbeatMs * 2 < c.silenceMs && c.probeIntervalMs * 2 < c.silenceMs, {
    message: 'silenceMs must exceed two heartbeats and two probe intervals (one lost datagram must not silence a peer)',
    path: ['silenceMs'],
  });

export type PeerWatchConfig = z.output<typeof peerWatchSchema>;
