/**
 * Samba 4.22's own Witness service (rpcd_witness) on a CTDB cluster: one samba-dcerpcd and
 * one smbd per node, clustered on that node's ctdbd (CTDB.md "Samba's own witness on CTDB").
 * Each node's Samba binds only its node address (three nodes share one lo); the witness
 * interface sits on a dynamic port behind the endpoint mapper on 135. An NTLM account (tdbsam,
 * mapped to Unix `nobody`) lets clients sign: rpcd_witness serves only callers with packet
 * integrity. When a node's ctdbd dies, its smbd and samba-dcerpcd exit at once: start(pnn)
 * brings them back after the node is restarted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeSandboxDirs, sandboxGlobals } from '../../lib/samba-sandbox';
import { CTDB_NODES, nodeAddress, type CtdbCluster } from '../../../test/interop/helpers/ctdb-cluster';
import { runTool } from '../../../test/interop/helpers/process';
import { sleep } from './stats';
import { portOpen } from './util';

export const SAMBA_NETBIOS = 'SAMBACLU';

function smbConf(dir: string, socket: string, address: string): string {
  return [
    '[global]',
    '  server role = standalone server',
    '  workgroup = BENCH',
    `  netbios name = ${SAMBA_NETBIOS}`,
    '  clustering = yes',
    `  ctdbd socket = ${socket}`,
    '  rpc start on demand helpers = no',
    ...sandboxGlobals(dir),
    `  log file = ${dir}/log/log.%m`,
    `  log level = ${process.env.BENCH_SAMBA_LOG_LEVEL ?? '0'}`,
    `  interfaces = ${address}/32`,
    '  bind interfaces only = yes',
    '  smb ports = 445',
    `  username map = ${dir}/usermap`,
    '',
    '[data]',
    `  path = ${dir}/share`,
    '  guest ok = yes',
    '',
  ].join('\n');
}

export class SambaOnCtdb {
  private readonly procs: ChildProcess[][] = [];

  constructor(readonly cluster: CtdbCluster, readonly dir: string, readonly account: { user: string; password: string }) {}

  nodeDir(pnn: number): string {
    return path.join(this.dir, `samba.${pnn}`);
  }

  /** Lay out every node, add the account (tdbsam is per node), start them all. */
  async startAll(): Promise<void> {
    for (let i = 0; i < CTDB_NODES; i++) {
      const d = this.nodeDir(i);
      makeSandboxDirs(d, ['log', 'share']);
      fs.writeFileSync(path.join(d, 'smb.conf'), smbConf(d, this.cluster.socketPath(i), nodeAddress(i)));
      fs.writeFileSync(path.join(d, 'usermap'), `nobody = ${this.account.user}\n`);
      const r = await runTool('pdbedit', ['-s', path.join(d, 'smb.conf'), '-a', '-u', 'nobody', '-t'], {
        timeoutMs: 30_000,
        input: `${this.account.password}\n${this.account.password}\n`,
      });
      if (r.code !== 0) throw new Error(`pdbedit on node ${i}: ${r.stderr || r.stdout}`);
    }
    for (let i = 0; i < CTDB_NODES; i++) await this.start(i);
  }

  /** samba-dcerpcd then smbd of node `pnn`, each in its own process group; waits for 135 and 445. */
  async start(pnn: number): Promise<void> {
    this.stop(pnn);
    const d = this.nodeDir(pnn);
    const conf = path.join(d, 'smb.conf');
    const out = fs.openSync(path.join(d, 'log', 'stdout'), 'a');
    const opts = { detached: true, stdio: ['ignore', out, out] as ['ignore', number, number], cwd: d };
    const dcerpcd = spawn('/usr/libexec/samba/samba-dcerpcd', ['-F', '--no-process-group', '--libexec-rpcds', '-s', conf], opts);
    const smbd = spawn('/usr/sbin/smbd', ['-F', '--no-process-group', '-s', conf, `--log-basename=${d}/log`], opts);
    fs.closeSync(out);
    this.procs[pnn] = [dcerpcd, smbd];
    const address = nodeAddress(pnn);
    for (let i = 0; i < 300; i++) {
      if ((await portOpen(address, 135)) && (await portOpen(address, 445))) return;
      if (dcerpcd.exitCode !== null || smbd.exitCode !== null) break;
      await sleep(100);
    }
    throw new Error(`Samba on node ${pnn} did not listen on ${address}:135/445 (logs in ${d}/log)`);
  }

  /** SIGKILL node `pnn`'s Samba process groups (they may be gone already). */
  stop(pnn: number): void {
    for (const p of this.procs[pnn] ?? []) {
      try {
        process.kill(-(p.pid as number), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    this.procs[pnn] = [];
  }

  /** PIDs of node `pnn`'s Samba processes (for CPU figures): the group leaders and their children. */
  pids(pnn: number): number[] {
    const leaders = new Set((this.procs[pnn] ?? []).map((p) => p.pid as number));
    const out: number[] = [];
    for (const ent of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(ent)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${ent}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (leaders.has(Number(f[2]))) out.push(Number(ent)); // field 5: pgrp
      } catch {
        /* exited */
      }
    }
    return out;
  }

  stopAll(): void {
    for (let i = 0; i < CTDB_NODES; i++) this.stop(i);
  }
}
