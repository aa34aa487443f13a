/**
 * One "node" of the peer-watch integration test, in its own process so that SIGSTOP hangs it
 * whole: a PeerWatch (real heartbeats on UDP, real SMB2 NEGOTIATE probes) and a stand-in SMB
 * server that answers NEGOTIATE. The cluster it watches is the PeerCluster seam over a small
 * table; fail/recover calls go to the parent over IPC. Commands from the parent: smbd-stop,
 * smbd-start (a dead or restarted smbd), cut/restore (peers mapped to a tarpit address that
 * accepts TCP and never answers, and heartbeats sent nowhere: a cut link), hold? (R5/R6),
 * cut-off? (R5's hold of the cluster manager's facts, given what a fresh read would say),
 * inactive (the nodes the cluster manager calls inactive).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { peerWatchSchema } from '../../../src/config/peer-watch';
import type { ManagerView } from '../../../src/cluster/peers/judge';
import { PeerWatch, type PeerCluster, type PeerMember } from '../../../src/cluster/peers/watch';

interface Args {
  readonly self: string;
  readonly nodes: ReadonlyArray<{ readonly name: string; readonly host: string }>;
  readonly smbPort: number;
  readonly tarpit: { readonly host: string; readonly port: number };
  readonly config: Record<string, unknown>;
}

const args = JSON.parse(process.argv[2]) as Args;
const me = args.nodes.find((n) => n.name === args.self) as { name: string; host: string };
const send = (m: unknown): void => void process.send?.(m);

/** A minimal SMB2 NEGOTIATE response (3.1.1), enough for the probe's judge. */
function negotiateResponse(): Buffer {
  const msg = Buffer.alloc(64 + 65);
  msg.write('\xfeSMB', 0, 'latin1');
  msg.writeUInt16LE(64, 4);
  msg.writeUInt32LE(1, 16); // SMB2_FLAGS_SERVER_TO_REDIR
  msg.writeUInt16LE(65, 64);
  msg.writeUInt16LE(0x0311, 68);
  const nb = Buffer.alloc(4);
  nb.writeUInt32BE(msg.length, 0);
  return Buffer.concat([nb, msg]);
}

let smbd: Server | undefined;
const sockets = new Set<Socket>();
function startSmbd(): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createServer((c) => {
      sockets.add(c);
      c.on('close', () => sockets.delete(c));
      c.on('error', () => undefined);
      c.once('data', () => c.end(negotiateResponse()));
    });
    s.once('error', reject);
    s.listen(args.smbPort, me.host, () => resolve());
    smbd = s;
  });
}
function stopSmbd(): Promise<void> {
  for (const c of sockets) c.destroy();
  return new Promise((resolve) => (smbd ? smbd.close(() => resolve()) : resolve()));
}

let cut = new Set<string>();
/** The nodes the stand-in cluster manager calls inactive. */
let inactive = new Set<string>();
const up = new Map(args.nodes.map((n) => [n.name, true]));
const cluster: PeerCluster = {
  self: args.self,
  members: (): PeerMember[] => args.nodes.map((n) => {
    const away = n.name !== args.self && (cut.has(n.name) || cut.has(args.self));
    const host = away ? args.tarpit.host : n.host;
    return { name: n.name, host, smb: [{ host, port: away ? args.tarpit.port : args.smbPort }] };
  }),
  isUp: (node) => up.get(node) === true,
  fail: (node, detail) => {
    up.set(node, false);
    send({ type: 'fail', node, detail, at: Date.now() });
  },
  recover: (node, detail) => {
    up.set(node, true);
    send({ type: 'recover', node, detail, at: Date.now() });
  },
  inactiveByCluster: (node) => inactive.has(node),
};

void (async () => {
  await startSmbd();
  const watch = new PeerWatch({ cluster, config: peerWatchSchema.parse(args.config), token: 'peer-watch-integration-token' });
  watch.on('hold-lifted', (node: string) => send({ type: 'hold-lifted', node, at: Date.now() }));
  watch.on('majority-again', () => send({ type: 'majority-again', at: Date.now() }));
  await watch.start();
  process.on('message', (m: { cmd: string; nodes?: string[]; node?: string; view?: ManagerView; id?: number }) => {
    void (async () => {
      let reply: unknown = true;
      if (m.cmd === 'smbd-stop') await stopSmbd();
      else if (m.cmd === 'smbd-start') await startSmbd();
      else if (m.cmd === 'cut') cut = new Set(m.nodes);
      else if (m.cmd === 'inactive') inactive = new Set(m.nodes);
      else if (m.cmd === 'hold') reply = watch.holdCtdbDown(m.node as string) ?? null;
      else if (m.cmd === 'cut-off') reply = watch.holdCutOff(m.view) ?? null;
      else if (m.cmd === 'status') reply = watch.status();
      send({ type: 'reply', id: m.id, reply });
    })();
  });
  send({ type: 'ready' });
})();
