/**
 * The CTDB event script's hook answered (the contract is hook.ts): takeip and ipreallocated
 * make the link re-read at once; releaseip on the holder announces the move (CLIENT_MOVE to
 * every registration on the IP, wherever CTDB will put it) and waits on the Witness
 * service's completion signal until the notifications are written, bounded by waitMs.
 */
import type { Logger } from 'pino';
import type { ClusterModel } from '../model';
import type { NotificationPort } from '../source';
import type { CtdbLink } from './link';
import { ctdbNodeName, pnnOfNodeName } from './names';
import { CTDB_HOOK_DEFAULT_WAIT_MS, CTDB_HOOK_MAX_WAIT_MS, type CtdbHookReply, type CtdbHookRequest } from './hook';
import type { SyncState } from './sync';

export interface HookParts {
  readonly link: CtdbLink;
  readonly model: ClusterModel;
  readonly state: SyncState;
  /** Undefined until the daemon started the source. */
  readonly witness: NotificationPort | undefined;
  readonly log: Logger | undefined;
}

/** Never throws; bounded by the request's waitMs. */
export async function answerHook(req: CtdbHookRequest, p: HookParts): Promise<CtdbHookReply> {
  const started = Date.now();
  const waitMs = Math.min(Math.max(req.waitMs ?? CTDB_HOOK_DEFAULT_WAIT_MS, 0), CTDB_HOOK_MAX_WAIT_MS);
  const deadline = started + waitMs;
  const reply = (notified = 0, delivered = 0, destination?: string): CtdbHookReply => ({
    ok: true, event: req.event, notified, delivered, ...(destination ? { destination } : {}), waitedMs: Date.now() - started,
  });
  if (req.event === 'takeip' || req.event === 'ipreallocated') {
    await bounded(p.link.resync(`event script ${req.event}`), deadline);
    return reply();
  }
  if (req.event !== 'releaseip' || req.ip === undefined) return reply();
  const { model, log } = p;
  const lif = model.lifByAddress(req.ip);
  if (!lif) {
    log?.warn({ ip: req.ip }, 'ctdb: releaseip for an address that is not a public IP in the model');
    return reply();
  }
  if (!lif.up) {
    // Already reported UNAVAILABLE (a disabled holder under disabledNode resource-change, or no holder).
    log?.debug({ ip: req.ip }, 'ctdb: releaseip of an IP already reported unavailable: no CLIENT_MOVE');
    return reply();
  }
  if (req.pnn !== undefined && ctdbNodeName(req.pnn) !== lif.currentNode) {
    log?.debug({ ip: req.ip, asker: req.pnn, holder: lif.currentNode }, 'ctdb: releaseip from a node that does not hold the IP: nothing moves');
    return reply();
  }
  // The event script asks every node's witnessd (clients registered for the IP may sit on
  // any node); only the holder runs releaseip itself.
  const found = await bounded(p.link.destinationOf(lif.ipv4 ?? (lif.ipv6 as string), pnnOfNodeName(lif.currentNode)), Math.min(deadline, started + Math.max(50, waitMs / 2)));
  // Cut off (the peer watch's R5), this node cannot know where the majority puts the IP, and
  // its guess could send clients to a node that never gets it: its clients hear UNAVAILABLE
  // from the re-read after the release instead.
  const cutOff = found === undefined ? p.state.holdCutOff?.() : undefined;
  if (cutOff !== undefined) {
    log?.info({ ip: req.ip, why: cutOff }, `ctdb: releaseip ${req.ip}: no CLIENT_MOVE (this node is cut off: where the IP goes is not known here)`);
    return reply();
  }
  const destination = found !== undefined ? ctdbNodeName(found) : fallbackDestination(model, lif.currentNode);
  if (destination === undefined || destination === lif.currentNode) {
    log?.warn({ ip: req.ip }, 'ctdb: releaseip: no other node to send clients to');
    return reply();
  }
  const announce = (): void => {
    model.announceLifMove(lif.name, destination);
    p.state.announced.set(lif.name, destination);
  };
  let told: ReadonlyArray<{ id: string; delivery: 'notified' | 'queued' }>;
  try {
    told = p.witness ? p.witness.told(announce).told : (announce(), []);
  } catch (err) {
    log?.warn({ ip: req.ip, to: destination, err: (err as Error).message }, 'ctdb: releaseip: the move could not be announced');
    return reply();
  }
  const queued = told.filter((t) => t.delivery === 'queued').map((t) => t.id);
  const undelivered = queued.length > 0 && p.witness ? await p.witness.whenDelivered(queued, Math.max(0, deadline - Date.now())) : 0;
  log?.info(
    { ip: req.ip, to: destination, known: found !== undefined, notified: told.length, undelivered, ms: Date.now() - started },
    `ctdb: releaseip ${req.ip}: CLIENT_MOVE to ${destination} for ${told.length} registration(s)${found === undefined ? ' (destination guessed: CTDB had not placed the IP yet)' : ''}`,
  );
  return reply(told.length, told.length - undelivered, destination);
}

/** No node knows yet: the first other node that is up and hosts public IPs. */
function fallbackDestination(model: ClusterModel, from: string): string | undefined {
  const up = model.nodes().filter((n) => n.up && n.name !== from);
  const hosting = up.find((n) => model.lifs().some((l) => l.currentNode === n.name && l.operational));
  return (hosting ?? up[0])?.name;
}

/** The promise's value, or undefined once `deadline` (epoch ms) has passed. */
function bounded<T>(p: Promise<T>, deadline: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
    );
  });
}
