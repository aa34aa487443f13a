/**
 * A Witness client that behaves like the Windows one (MS-SWN §3.2.4, MS-SWN.md §5.3):
 * GetInterfaceList on the server the application uses → pick an INTERFACE_WITNESS +
 * AVAILABLE interface → Register (V1) or RegisterEx (V2) there → AsyncNotify in a loop,
 * calling again at once after ERROR_TIMEOUT and registering again (UnRegister, then the
 * whole sequence) after ERROR_NOT_FOUND or a lost connection: what a Windows Server 2022
 * client does after a forced unregister (src/witness/forced-unregister.ts). With
 * `unRegister: 'UnRegisterEx'` it unregisters as Windows Server 2025 does: UnRegisterEx
 * (opnum 5) first, UnRegister when the server does not have opnum 5 (op-range fault, as
 * from Samba and Windows Server 2022). Notifications are emitted; so is every call ('call').
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { WERR, werrName } from '../witness/constants';
import { INTERFACE_WITNESS, WITNESS_INFO_IPv4, WITNESS_STATE_AVAILABLE, WITNESS_V1, WITNESS_V2 } from '../gen/witness';
import type { Notification } from '../witness/types';
import { epmMapTcpPort } from './epm';
import { RpcClient, RpcFault } from './rpc-client';
import { FaultStatus } from '../rpc/constants';
import { WITNESS_SYNTAX, witnessCalls, type ContextHandle, type InterfaceEntry } from './witness-calls';

export interface WitnessClientOptions {
  /** Address of the server the application talks to: GetInterfaceList is asked there. */
  readonly server: string;
  /** The address the application is connected to (registered IpAddress); default `server`. */
  readonly ipAddress?: string;
  readonly netName: string;
  readonly clientName: string;
  /** 2 (default) uses RegisterEx, 1 uses Register. */
  readonly version?: 1 | 2;
  readonly shareName?: string;
  readonly ipNotification?: boolean;
  /** RegisterEx KeepAliveTimeout in seconds (Windows default 120). */
  readonly keepAliveTimeout?: number;
  /** Endpoint mapper port (default EPM_TCP_PORT, 135). */
  readonly epmPort?: number;
  /** Skip the endpoint mapper and use this witness port on every address. */
  readonly witnessPort?: number;
  /** Skip GetInterfaceList and register at this address (benchmarks, tests). */
  readonly witnessAddress?: string;
  readonly localAddress?: string;
  /** Timeout of every call except AsyncNotify (default 10 s, like rpcclient). */
  readonly callTimeoutMs?: number;
  /**
   * Client-side bound on one AsyncNotify (a server that vanished without a TCP reset).
   * Default: V2 keep-alive + 60 s (like the Windows client's longer RPC call timeout); V1 none.
   */
  readonly asyncNotifyTimeoutMs?: number;
  /** Pause before registering again after a failure (default 1 s). */
  readonly retryDelayMs?: number;
  /** 'UnRegister' (Windows Server 2022, default) or 'UnRegisterEx' first, UnRegister on an op-range fault (Windows Server 2025). */
  readonly unRegister?: 'UnRegister' | 'UnRegisterEx';
  readonly logger?: Logger;
}

export interface ReceivedNotification {
  readonly result: number;
  readonly notification: Notification | undefined;
  /** performance.now() when the response arrived. */
  readonly receivedAt: number;
  readonly handle: string;
}

/** One Witness call and its result (a WERROR, or `fault 0x…`): the client's trace. */
export interface CallTrace {
  readonly op: 'GetInterfaceList' | 'Register' | 'RegisterEx' | 'UnRegister' | 'UnRegisterEx' | 'AsyncNotify';
  readonly result: string;
  /** performance.now() when the answer came. */
  readonly at: number;
}

export interface Registered {
  readonly handle: string;
  readonly witnessAddress: string;
  readonly port: number;
}

/**
 * Events: 'registered' (Registered), 'notification' (ReceivedNotification),
 * 'reregistering' (reason: string), 'call' (CallTrace), 'warning' (Error), 'stopped'.
 */
/** The options' defaults, in one place. */
const DEFAULTS = { keepAliveTimeout: 120, callTimeoutMs: 10_000, retryDelayMs: 1000 } as const;
type ResolvedOptions = WitnessClientOptions & { readonly [K in keyof typeof DEFAULTS]: number };

export class WitnessClient extends EventEmitter {
  readonly options: ResolvedOptions;
  private rpc: RpcClient | undefined;
  private handle: ContextHandle | undefined;
  private stopped = false;
  private readonly stopAc = new AbortController();
  private loop: Promise<void> | undefined;
  private inflight: AbortController | undefined;
  private readonly received: ReceivedNotification[] = [];
  private waiters: Array<(n: ReceivedNotification) => void> = [];
  registrations = 0;

  constructor(options: WitnessClientOptions) {
    super();
    this.options = {
      ...options,
      keepAliveTimeout: options.keepAliveTimeout ?? DEFAULTS.keepAliveTimeout,
      callTimeoutMs: options.callTimeoutMs ?? DEFAULTS.callTimeoutMs,
      retryDelayMs: options.retryDelayMs ?? DEFAULTS.retryDelayMs,
    };
  }

  get version(): number {
    return this.options.version === 1 ? WITNESS_V1 : WITNESS_V2;
  }

  get currentHandle(): string | undefined {
    return this.handle?.uuid;
  }

  /**
   * Start; resolves once the first registration succeeded. After timeoutMs without one it
   * stops the client and rejects with the last error seen.
   */
  start(timeoutMs = 10_000): Promise<Registered> {
    if (this.loop) throw new Error('already started');
    let last: Error | undefined;
    const onWarning = (e: Error): void => {
      last = e;
    };
    this.on('warning', onWarning);
    return new Promise<Registered>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('registered', ok);
        this.off('warning', onWarning);
        void this.stop();
        reject(new Error(`no registration within ${timeoutMs} ms${last ? `: ${last.message}` : ''}`));
      }, timeoutMs);
      const ok = (r: Registered): void => {
        clearTimeout(timer);
        this.off('warning', onWarning);
        resolve(r);
      };
      this.once('registered', ok);
      this.loop = this.run();
    });
  }

  /** Notifications received and not yet taken by next(), oldest first. */
  take(): ReceivedNotification[] {
    return this.received.splice(0);
  }

  /** The next notification (a queued one first); rejects after timeoutMs. */
  next(timeoutMs = 10_000): Promise<ReceivedNotification> {
    const queued = this.received.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const w = (n: ReceivedNotification): void => {
        clearTimeout(timer);
        resolve(n);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no notification within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Stop: cancel the pending AsyncNotify, UnRegister (best effort), close. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopAc.abort();
    this.inflight?.abort();
    const rpc = this.rpc;
    const handle = this.handle;
    if (rpc && handle && !rpc.closed) {
      try {
        await this.unRegisterCall(rpc, handle);
      } catch {
        /* the server may be gone */
      }
    }
    await this.dropConnection();
    await this.loop?.catch(() => undefined);
    this.emit('stopped');
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!this.handle) await this.registerSequence();
        if (this.stopped) break;
        const r = await this.asyncNotify();
        if (this.stopped) break;
        if (r.result === WERR.OK) {
          this.deliver(r.result, r.response);
        } else if (r.result === WERR.TIMEOUT && this.version === WITNESS_V2) {
          continue; // keep-alive: call again at once
        } else if (r.result === WERR.NOT_FOUND) {
          await this.reregister('AsyncNotify returned ERROR_NOT_FOUND');
        } else {
          this.deliver(r.result, r.response);
          await this.reregister(`AsyncNotify returned ${werrName(r.result)}`);
        }
      } catch (err) {
        if (this.stopped) break;
        this.emit('warning', err as Error);
        this.options.logger?.debug({ err: (err as Error).message, client: this.options.clientName }, 'witness client: retrying');
        await this.dropConnection();
        this.handle = undefined;
        await this.pause();
      }
    }
  }

  private deliver(result: number, notification: Notification | undefined): void {
    const n: ReceivedNotification = { result, notification, receivedAt: performance.now(), handle: this.handle?.uuid ?? '' };
    const w = this.waiters.shift();
    if (w) w(n);
    else this.received.push(n);
    this.emit('notification', n);
  }

  private async reregister(reason: string): Promise<void> {
    this.emit('reregistering', reason);
    const rpc = this.rpc;
    if (rpc && this.handle && !rpc.closed) {
      try {
        await this.unRegisterCall(rpc, this.handle);
      } catch {
        /* the connection may be gone */
      }
    }
    this.handle = undefined;
    await this.dropConnection();
  }

  /** Emit a call's outcome; `result` a WERROR or the error thrown. */
  private traced<T extends { result: number } | number>(op: CallTrace['op'], p: Promise<T>): Promise<T> {
    const at = (): number => performance.now();
    return p.then(
      (r) => {
        this.emit('call', { op, result: werrName(typeof r === 'number' ? r : r.result), at: at() } satisfies CallTrace);
        return r;
      },
      (e: unknown) => {
        this.emit('call', { op, result: e instanceof RpcFault ? `fault 0x${(e.status >>> 0).toString(16).padStart(8, '0')}` : String((e as Error).message), at: at() } satisfies CallTrace);
        throw e;
      },
    );
  }

  /** The WERROR of the unregister; UnRegisterEx first when so configured (errors but an op-range fault propagate). */
  private async unRegisterCall(rpc: RpcClient, handle: ContextHandle): Promise<number> {
    const timeoutMs = this.options.callTimeoutMs;
    if (this.options.unRegister === 'UnRegisterEx') {
      try {
        return (await this.traced('UnRegisterEx', witnessCalls.unRegisterEx(rpc, handle, { timeoutMs }))).result;
      } catch (e) {
        if (!(e instanceof RpcFault) || e.status !== FaultStatus.NCA_S_OP_RNG_ERROR) throw e;
      }
    }
    return this.traced('UnRegister', witnessCalls.unRegister(rpc, handle, { timeoutMs }));
  }

  private async asyncNotify(): Promise<{ result: number; response?: Notification }> {
    const ac = new AbortController();
    this.inflight = ac;
    try {
      const guard =
        this.options.asyncNotifyTimeoutMs ??
        (this.version === WITNESS_V2 ? (this.options.keepAliveTimeout + 60) * 1000 : undefined);
      return await this.traced('AsyncNotify', witnessCalls.asyncNotify(this.rpc as RpcClient, this.handle as ContextHandle, { signal: ac.signal, timeoutMs: guard }));
    } finally {
      this.inflight = undefined;
    }
  }

  private async portFor(address: string): Promise<number> {
    if (this.options.witnessPort !== undefined) return this.options.witnessPort;
    return epmMapTcpPort(address, WITNESS_SYNTAX, { port: this.options.epmPort, localAddress: this.options.localAddress, timeoutMs: this.options.callTimeoutMs });
  }

  private lastPort = 0;

  private async open(address: string): Promise<RpcClient> {
    const port = await this.portFor(address);
    this.lastPort = port;
    const rpc = await RpcClient.connect({ host: address, port, localAddress: this.options.localAddress });
    try {
      await rpc.bind(WITNESS_SYNTAX);
    } catch (e) {
      rpc.destroy();
      throw e;
    }
    return rpc;
  }

  /** The interfaces to try, in order. */
  private async candidates(): Promise<string[]> {
    if (this.options.witnessAddress) return [this.options.witnessAddress];
    const rpc = await this.open(this.options.server);
    try {
      const r = await this.traced('GetInterfaceList', witnessCalls.getInterfaceList(rpc, { timeoutMs: this.options.callTimeoutMs }));
      if (r.result !== WERR.OK) throw new Error(`GetInterfaceList returned ${werrName(r.result)}`);
      const usable = r.interfaces.filter((i: InterfaceEntry) => (i.flags & INTERFACE_WITNESS) !== 0 && i.state === WITNESS_STATE_AVAILABLE);
      const addrs = usable.map((i) => ((i.flags & WITNESS_INFO_IPv4) !== 0 && i.ipv4 ? i.ipv4 : i.ipv6)).filter((a): a is string => !!a);
      if (addrs.length === 0) throw new Error('no INTERFACE_WITNESS + AVAILABLE interface in the list');
      return addrs;
    } finally {
      await rpc.close();
    }
  }

  private async registerSequence(): Promise<void> {
    const addrs = await this.candidates();
    let lastErr: Error | undefined;
    for (const address of addrs) {
      if (this.stopped) return;
      try {
        const rpc = await this.open(address);
        const timeoutMs = this.options.callTimeoutMs;
        const args = {
          netName: this.options.netName,
          ipAddress: this.options.ipAddress ?? this.options.server,
          clientName: this.options.clientName,
        };
        const r =
          this.version === WITNESS_V2
            ? await this.traced('RegisterEx', witnessCalls.registerEx(rpc, {
                ...args,
                version: WITNESS_V2,
                shareName: this.options.shareName,
                flags: this.options.ipNotification ? 1 : 0,
                keepAliveTimeout: this.options.keepAliveTimeout,
              }, { timeoutMs }))
            : await this.traced('Register', witnessCalls.register(rpc, { ...args, version: WITNESS_V1 }, { timeoutMs }));
        if (r.result !== WERR.OK || !r.handle) {
          await rpc.close();
          lastErr = new Error(`${this.version === WITNESS_V2 ? 'RegisterEx' : 'Register'} at ${address} returned ${werrName(r.result)}`);
          continue;
        }
        if (this.stopped) {
          await rpc.close();
          return;
        }
        this.rpc = rpc;
        this.handle = r.handle;
        this.registrations++;
        rpc.on('close', () => {
          // A lost witness connection ends the registration (association group gone).
          if (this.rpc === rpc) this.inflight?.abort();
        });
        this.emit('registered', { handle: r.handle.uuid, witnessAddress: address, port: this.lastPort } satisfies Registered);
        return;
      } catch (e) {
        lastErr = e as Error;
      }
    }
    throw lastErr ?? new Error('registration failed');
  }

  private async dropConnection(): Promise<void> {
    const rpc = this.rpc;
    this.rpc = undefined;
    if (rpc) await rpc.close().catch(() => undefined);
  }

  private pause(): Promise<void> {
    return new Promise((r) => {
      const onStop = (): void => {
        clearTimeout(t);
        r();
      };
      const t = setTimeout(() => {
        this.stopAc.signal.removeEventListener('abort', onStop);
        r();
      }, this.options.retryDelayMs);
      this.stopAc.signal.addEventListener('abort', onStop, { once: true });
    });
  }
}
