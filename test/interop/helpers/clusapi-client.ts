/**
 * A tiny anonymous MS-CMRP (clusapi v3.0) client for tests: it toggles the CIFS server's
 * resource to make witnessd raise RESOURCE_CHANGE (what smbtorture's AsyncNotify does).
 * The stubs are encoded by hand from MS-CMRP 3.1.4.2, independently of src/gen, so the
 * generated server codec is checked against a second reading of the spec.
 * Needs the daemon to allow anonymous calls (the test cluster does).
 */
import { RpcClient } from '../../../src/client/rpc-client';

export const CLUSAPI_SYNTAX = { uuid: 'b97db8b2-4c63-11cf-bff6-08002be23f2f', major: 3, minor: 0 };

export const OPNUM = { OpenResource: 8, CloseResource: 11, GetResourceState: 12, OnlineResource: 17, OfflineResource: 18 } as const;

export const RESOURCE_STATE = { Online: 2, Offline: 3, Failed: 4 } as const;

/** [in, string] LPCWSTR at top level: a ref pointer, so just the conformant varying string. */
export function encodeWideString(s: string): Buffer {
  const chars = Buffer.from(`${s}\0`, 'utf16le');
  const n = chars.length / 2;
  const head = Buffer.alloc(12);
  head.writeUInt32LE(n, 0);
  head.writeUInt32LE(0, 4);
  head.writeUInt32LE(n, 8);
  return Buffer.concat([head, chars]);
}

/** Reads `[out, string] LPWSTR *`: referent id, then (if non-null) a conformant varying string. */
function readOutString(b: Buffer, off: number): { value: string | null; next: number } {
  const ref = b.readUInt32LE(off);
  off += 4;
  if (ref === 0) return { value: null, next: off };
  const actual = b.readUInt32LE(off + 8);
  off += 12;
  const value = b.subarray(off, off + actual * 2).toString('utf16le').replace(/\0$/, '');
  off += actual * 2;
  off = (off + 3) & ~3;
  return { value, next: off };
}

export interface ResourceState {
  readonly state: number;
  readonly nodeName: string | null;
  readonly groupName: string | null;
  readonly rpcStatus: number;
  readonly result: number;
}

export class ClusapiClient {
  private constructor(private readonly rpc: RpcClient) {}

  static async connect(host: string, port: number): Promise<ClusapiClient> {
    const rpc = await RpcClient.connect({ host, port, connectTimeoutMs: 5000 });
    try {
      await rpc.bind(CLUSAPI_SYNTAX);
    } catch (e) {
      rpc.destroy();
      throw e;
    }
    return new ClusapiClient(rpc);
  }

  /** ApiOpenResource: { status, rpcStatus, handle (20 bytes) }. */
  async openResource(name: string): Promise<{ status: number; rpcStatus: number; handle: Buffer }> {
    const out = await this.rpc.call(OPNUM.OpenResource, encodeWideString(name), { timeoutMs: 10_000 });
    if (out.length !== 28) throw new Error(`OpenResource: out stub is ${out.length} bytes, expected 28`);
    return { status: out.readUInt32LE(0), rpcStatus: out.readUInt32LE(4), handle: Buffer.from(out.subarray(8, 28)) };
  }

  async getResourceState(handle: Buffer): Promise<ResourceState> {
    const out = await this.rpc.call(OPNUM.GetResourceState, handle, { timeoutMs: 10_000 });
    const state = out.readUInt32LE(0);
    const node = readOutString(out, 4);
    const group = readOutString(out, node.next);
    if (out.length !== group.next + 8) throw new Error(`GetResourceState: out stub is ${out.length} bytes, expected ${group.next + 8}`);
    return { state, nodeName: node.value, groupName: group.value, rpcStatus: out.readUInt32LE(group.next), result: out.readUInt32LE(group.next + 4) };
  }

  private async handleCall(opnum: number, handle: Buffer): Promise<{ rpcStatus: number; result: number }> {
    const out = await this.rpc.call(opnum, handle, { timeoutMs: 10_000 });
    if (out.length !== 8) throw new Error(`opnum ${opnum}: out stub is ${out.length} bytes, expected 8`);
    return { rpcStatus: out.readUInt32LE(0), result: out.readUInt32LE(4) };
  }

  onlineResource(handle: Buffer): Promise<{ rpcStatus: number; result: number }> {
    return this.handleCall(OPNUM.OnlineResource, handle);
  }

  offlineResource(handle: Buffer): Promise<{ rpcStatus: number; result: number }> {
    return this.handleCall(OPNUM.OfflineResource, handle);
  }

  /** ApiCloseResource: { handle (zeroed on success), result }. */
  async closeResource(handle: Buffer): Promise<{ handle: Buffer; result: number }> {
    const out = await this.rpc.call(OPNUM.CloseResource, handle, { timeoutMs: 10_000 });
    if (out.length !== 24) throw new Error(`CloseResource: out stub is ${out.length} bytes, expected 24`);
    return { handle: Buffer.from(out.subarray(0, 20)), result: out.readUInt32LE(20) };
  }

  /** Open, set online or offline, close. Returns the state after the change. */
  async setResource(name: string, online: boolean): Promise<number> {
    const open = await this.openResource(name);
    if (open.status !== 0) throw new Error(`OpenResource(${name}) failed: 0x${open.status.toString(16)}`);
    try {
      const r = online ? await this.onlineResource(open.handle) : await this.offlineResource(open.handle);
      if (r.result !== 0) throw new Error(`${online ? 'Online' : 'Offline'}Resource(${name}) failed: 0x${r.result.toString(16)}`);
      return (await this.getResourceState(open.handle)).state;
    } finally {
      await this.closeResource(open.handle);
    }
  }

  close(): Promise<void> {
    return this.rpc.close();
  }
}
