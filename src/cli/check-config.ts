/**
 * `witnessd --check-config`: what start-up would hit, without starting. Beyond the schema
 * (already checked by loadConfig): the deployment findings, the accounts file (exists,
 * parses, holds accounts), every listener address local and its port free (or held by this
 * witnessd: its admin API answers), and production-safety findings. Errors mean start-up or
 * failover would fail; warnings are choices an administrator should make knowingly.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { parseSmbpasswd } from '../auth/accounts';
import { ClusterModel } from '../cluster';
import { ctdbSettings, defaultCtdbSocket, type WitnessdConfig } from '../config';
import { CtdbConnection } from '../cluster/ctdb/client';
import { CtdbControl } from '../cluster/ctdb/protocol';
import { isLoopbackHost, parseHostPort } from '../lib/address';
import { kerberosFindings } from './security-providers';
import { readSambaConf, sambaFindings } from './smb-conf';

export interface CheckFinding {
  readonly severity: 'error' | 'warning';
  readonly message: string;
}

/** Try to listen on address:port and close at once: undefined when it could, else the errno code. */
function tryBind(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(undefined)));
  });
}

/** Is the running witnessd's admin API there (then the ports in use are ours)? */
async function ourDaemonRuns(adminAddress: string): Promise<boolean> {
  const { host, port } = parseHostPort(adminAddress);
  try {
    const r = await fetch(`http://${host.includes(':') ? `[${host}]` : host}:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
    return r.ok;
  } catch {
    return false;
  }
}

function accountsFindings(config: WitnessdConfig): CheckFinding[] {
  const out: CheckFinding[] = [];
  const file = config.auth.accountsFile;
  if (file !== undefined) {
    let text: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      out.push({ severity: 'error', message: `auth.accountsFile ${file} cannot be read: ${(e as Error).message}` });
    }
    if (text !== undefined) {
      const { accounts, errors } = parseSmbpasswd(text);
      for (const err of errors) out.push({ severity: 'error', message: `auth.accountsFile ${file}: ${err}` });
      if (accounts.size === 0 && errors.length === 0) out.push({ severity: 'warning', message: `auth.accountsFile ${file} holds no usable account` });
    }
  }
  if (!config.auth.allowAnonymous && file === undefined && config.auth.accounts.length === 0) {
    out.push({ severity: 'error', message: 'auth.allowAnonymous is off and there are no accounts (auth.accountsFile, auth.accounts): no client can authenticate' });
  }
  return out;
}

function safetyFindings(config: WitnessdConfig): CheckFinding[] {
  const out: CheckFinding[] = [];
  if (config.auth.allowAnonymous) out.push({ severity: 'warning', message: 'auth.allowAnonymous is on: any host that reaches the witness port can register and watch (production: off, with accounts)' });
  if (config.auth.allowAnonymous && config.clusapi.enabled && config.clusapi.allowAnonymous) {
    out.push({ severity: 'warning', message: 'clusapi.allowAnonymous is on: unauthenticated callers can take an SVM\'s LIFs offline through MS-CMRP' });
  }
  const peerWatch = ctdbSettings(config)?.peerWatch;
  if (peerWatch === undefined) {
    if (config.watcher.mode === 'simulated') out.push({ severity: 'warning', message: 'watcher.mode is simulated: a dead node is never detected, only the operator fails nodes (production: smb2-negotiate)' });
  } else if (!peerWatch.enabled) {
    out.push({ severity: 'warning', message: 'cluster.peerWatch is off: a hung or cut-off node is told only when CTDB gives up on it (~30 s with its defaults)' });
  } else {
    if (config.admin.token === undefined) out.push({ severity: 'warning', message: 'cluster.peerWatch needs admin.token (its heartbeats are signed with it): without one it stays off' });
    if (config.watcher.mode !== 'simulated') out.push({ severity: 'warning', message: `watcher.mode ${config.watcher.mode} judges each node alone beside the peer watch, which needs a majority: a cut-off node would tell its clients falsely (set watcher.mode: simulated)` });
  }
  const admin = parseHostPort(config.admin.address).host;
  if (!isLoopbackHost(admin) && config.admin.token === undefined) out.push({ severity: 'error', message: `admin.address ${config.admin.address} is off loopback without admin.token` });
  return out;
}

async function listenerFindings(config: WitnessdConfig): Promise<CheckFinding[]> {
  const out: CheckFinding[] = [];
  const ports = [
    { what: 'listener.epmPort', port: config.listener.epmPort },
    { what: 'listener.witnessPort', port: config.listener.witnessPort },
  ].filter((p) => p.port !== 0);
  let ours: boolean | undefined;
  const inUse = async (what: string, where: string): Promise<void> => {
    ours ??= await ourDaemonRuns(config.admin.address);
    if (ours) out.push({ severity: 'warning', message: `${what} ${where} is in use by the running witnessd (its admin API answers): fine for a reload, a second daemon would not start` });
    else out.push({ severity: 'error', message: `${what} ${where} is in use by another program: start-up would fail (EADDRINUSE)` });
  };
  for (const address of config.listener.addresses) {
    // Port 0 tells whether the address is local without needing a privileged port.
    const local = await tryBind(address, 0);
    if (local === 'EADDRNOTAVAIL') {
      out.push({ severity: 'error', message: `listener address ${address} is not configured on this host: start-up would fail (EADDRNOTAVAIL)` });
      continue;
    }
    for (const p of ports) {
      const code = await tryBind(address, p.port);
      const where = `${address.includes(':') ? `[${address}]` : address}:${p.port}`;
      if (code === 'EADDRINUSE') await inUse(p.what, where);
      else if (code === 'EACCES') out.push({ severity: 'error', message: `${p.what} ${where} needs root or CAP_NET_BIND_SERVICE (ports below 1024)` });
      else if (code !== undefined) out.push({ severity: 'error', message: `${p.what} ${where} cannot be bound: ${code}` });
    }
  }
  const admin = parseHostPort(config.admin.address);
  const code = await tryBind(admin.host, admin.port);
  if (code === 'EADDRINUSE') await inUse('admin.address', config.admin.address);
  else if (code !== undefined) out.push({ severity: 'error', message: `admin.address ${config.admin.address} cannot be bound: ${code}` });
  return out;
}

/** CTDB mode: ctdbd's socket answers GET_PNN (start-up reads the whole cluster from it). */
async function ctdbFindings(config: WitnessdConfig, socketOverride: string | undefined): Promise<CheckFinding[]> {
  const settings = ctdbSettings(config);
  if (!settings) return [];
  const socket = socketOverride ?? settings.socket ?? defaultCtdbSocket();
  let conn: CtdbConnection | undefined;
  try {
    conn = await CtdbConnection.connect({ path: socket, connectTimeoutMs: settings.controlTimeoutMs, controlTimeoutMs: settings.controlTimeoutMs, onMessage: () => undefined, onClose: () => undefined });
    const r = await conn.control({ opcode: CtdbControl.GET_PNN });
    if (r.status < 0) throw new Error(`GET_PNN answered status ${r.status}`);
    return [];
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return [{ severity: 'error', message: `ctdbd does not answer on ${socket} (${err.code ?? err.message}): start-up would retry for cluster.startTimeoutMs (${settings.startTimeoutMs} ms) and fail; is ctdbd running, and may this user open its socket?` }];
  } finally {
    conn?.close('check done');
  }
}

/** Where --check-config reads Samba's configuration: CTDB mode always (smbd runs beside witnessd), otherwise when a file is named. */
export interface SambaCheck {
  /** --smb-conf FILE; undefined: testparm's default smb.conf. */
  readonly file?: string;
  readonly testparm?: string;
}

async function smbConfFindings(config: WitnessdConfig, o: SambaCheck): Promise<CheckFinding[]> {
  const svm = config.svms[0];
  if (!svm || (!ctdbSettings(config) && o.file === undefined)) return [];
  let smb;
  try {
    smb = await readSambaConf(o.file, o.testparm);
  } catch (e) {
    // A file named on the command line must be read; testparm's default is looked for.
    return [{ severity: o.file !== undefined ? 'error' : 'warning', message: `${(e as Error).message}: names and shares not checked against smbd` }];
  }
  const server = config.svms.find((s) => s.netbiosName.toUpperCase() === smb.netbiosName) ?? svm;
  return sambaFindings(server, server.shares, smb);
}

/** Every finding, errors first. */
export async function checkConfig(config: WitnessdConfig, samba: SambaCheck & { readonly ctdbSocket?: string } = {}): Promise<CheckFinding[]> {
  // CTDB mode: nodes, public IPs and the addresses to listen on are ctdbd's, read at start-up.
  const deployment = ctdbSettings(config) ? [] : new ClusterModel(config).findings().map((f) => ({ severity: f.severity, message: f.message }));
  const listeners = ctdbSettings(config) ? [] : await listenerFindings(config);
  const all = [...deployment, ...(await ctdbFindings(config, samba.ctdbSocket)), ...(await smbConfFindings(config, samba)), ...accountsFindings(config), ...kerberosFindings(config), ...listeners, ...safetyFindings(config)];
  return [...all.filter((f) => f.severity === 'error'), ...all.filter((f) => f.severity === 'warning')];
}

/** The report and the exit code, which agree: 0 no error (warnings allowed), 1 errors. */
export function formatCheck(source: string, findings: readonly CheckFinding[]): { text: string; code: number } {
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.length - errors;
  const lines = findings.map((f) => `${f.severity}: ${f.message}`);
  lines.push(errors > 0
    ? `configuration ${source} would not work: ${errors} error(s), ${warnings} warning(s)`
    : `configuration ${source} is valid; ${warnings} warning(s)`);
  return { text: `${lines.join('\n')}\n`, code: errors > 0 ? 1 : 0 };
}
