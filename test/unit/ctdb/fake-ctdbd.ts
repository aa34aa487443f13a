/**
 * A fake ctdbd on a Unix socket in a temp dir, speaking the client protocol the way ctdbd
 * 4.22 does (packets checked against a real one): GET_PNN, GET_NODEMAP, GET_PUBLIC_IPS
 * (per destnode), REGISTER_SRVID; messages to the clients that registered a srvid. Tests
 * change its state, push messages, make nodes silent, send garbage, stop and restart it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CTDB_CURRENT_NODE, CtdbControl, decodePacket, encodeControlReply, encodeMessage, encodeNodeMap, encodePublicIps,
  encodeU32, packetLength, type CtdbNodeEntry, type CtdbPublicIpEntry,
} from '../../../src/cluster/ctdb/protocol';

export class FakeCtdbd {
  readonly dir: string;
  readonly path: string;
  pnn = 1;
  nodes: CtdbNodeEntry[] = [];
  /** Each node's public IP list (what it may host, and who hosts each now). */
  publicIps = new Map<number, CtdbPublicIpEntry[]>();
  /** Controls to these destnodes get no reply (a node that hangs). */
  readonly silentNodes = new Set<number>();
  /** Every control seen: opcode and destnode. */
  readonly controls: Array<{ opcode: number; destnode: number }> = [];
  /** When set, the next control is answered with these bytes instead. */
  garbageReply: Buffer | undefined;
  private server: net.Server | undefined;
  private readonly clients = new Map<net.Socket, Set<bigint>>();
  connections = 0;

  private constructor() {
    this.dir = mkdtempSync(path.join(tmpdir(), 'fake-ctdbd-'));
    this.path = path.join(this.dir, 'ctdbd.socket');
  }

  /**
   * Three nodes NET.21–23, public IPs NET.31–33 on nodes 0–2 (NET default 127.0.0), every
   * node may host every IP.
   */
  static async start(net = '127.0.0'): Promise<FakeCtdbd> {
    const f = new FakeCtdbd();
    f.nodes = [0, 1, 2].map((pnn) => ({ pnn, flags: 0, address: `${net}.2${pnn + 1}` }));
    for (const n of [0, 1, 2]) f.publicIps.set(n, [0, 1, 2].map((h) => ({ pnn: h, address: `${net}.3${h + 1}` })));
    await f.listen();
    return f;
  }

  /** Set who hosts an IP, in every node's list (as CTDB's redundant releases do). */
  place(address: string, host: number): void {
    for (const [n, list] of this.publicIps) this.publicIps.set(n, list.map((ip) => (ip.address === address ? { ...ip, pnn: host } : ip)));
  }
  setFlags(pnn: number, flags: number): void {
    this.nodes = this.nodes.map((n) => (n.pnn === pnn ? { ...n, flags } : n));
  }

  get clientCount(): number {
    return this.clients.size;
  }
  registeredCount(srvid: bigint): number {
    return [...this.clients.values()].filter((s) => s.has(srvid)).length;
  }

  /** A message to every client that registered `srvid` (data: NUL-terminated text, as ctdbd sends IPs). */
  message(srvid: bigint, text = ''): void {
    const data = text === '' ? Buffer.alloc(0) : Buffer.from(`${text}\0`);
    for (const [sock, srvids] of this.clients) if (srvids.has(srvid)) sock.write(encodeMessage(srvid, data));
  }
  /** Raw bytes to every client. */
  sendRaw(buf: Buffer): void {
    for (const sock of this.clients.keys()) sock.write(buf);
  }

  /** ctdbd goes away: the socket file is gone and every client connection closes. */
  async stop(): Promise<void> {
    const srv = this.server;
    this.server = undefined;
    for (const sock of this.clients.keys()) sock.destroy();
    this.clients.clear();
    if (srv) await new Promise<void>((r) => srv.close(() => r()));
    rmSync(this.path, { force: true });
  }
  async restart(): Promise<void> {
    await this.stop();
    await this.listen();
  }
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private listen(): Promise<void> {
    const srv = net.createServer((sock) => this.accept(sock));
    this.server = srv;
    return new Promise((resolve) => srv.listen(this.path, () => resolve()));
  }

  private accept(sock: net.Socket): void {
    this.connections++;
    this.clients.set(sock, new Set());
    let buf = Buffer.alloc(0);
    sock.on('error', () => undefined);
    sock.on('close', () => this.clients.delete(sock));
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const len = packetLength(buf);
        if (len === undefined || buf.length < len) return;
        const pkt = decodePacket(buf.subarray(0, len));
        buf = buf.subarray(len);
        if (pkt.kind === 'control') this.control(sock, pkt.header.reqid, pkt.header.destnode, pkt.opcode, pkt.srvid);
      }
    });
  }

  private control(sock: net.Socket, reqid: number, destnode: number, opcode: number, srvid: bigint): void {
    this.controls.push({ opcode, destnode });
    const node = destnode === CTDB_CURRENT_NODE ? this.pnn : destnode;
    if (this.silentNodes.has(node)) return;
    if (this.garbageReply) {
      const g = this.garbageReply;
      this.garbageReply = undefined;
      sock.write(g);
      return;
    }
    switch (opcode) {
      case CtdbControl.GET_PNN:
        sock.write(encodeControlReply(reqid, this.pnn));
        return;
      case CtdbControl.REGISTER_SRVID:
        this.clients.get(sock)?.add(srvid);
        sock.write(encodeControlReply(reqid, 0));
        return;
      case CtdbControl.GET_NODEMAP:
        sock.write(encodeControlReply(reqid, 0, encodeNodeMap(this.nodes)));
        return;
      case CtdbControl.GET_PUBLIC_IPS: {
        const list = this.publicIps.get(node);
        if (!list) sock.write(encodeControlReply(reqid, -1, Buffer.alloc(0), 'no such node'));
        else sock.write(encodeControlReply(reqid, 0, encodePublicIps(list)));
        return;
      }
      default:
        sock.write(encodeControlReply(reqid, -1, encodeU32(0), `control ${opcode} not implemented`));
    }
  }
}
