/**
 * The node's Samba configuration as smbd reads it, for `witnessd --print-ctdb-config` and
 * `--check-config`: `testparm -s -v [FILE]` (Samba's own parser, shipped with every Samba
 * server in samba-common-bin; -v prints the computed defaults too, so "not set" needs no
 * table of Samba's defaults here; Samba's Python bindings would be a second package,
 * python3-samba, that a file server need not have). From it: the NetBIOS name, the DNS host
 * name Samba's witness answers to (`dns hostname`, else netbios name.realm in lower case,
 * lpcfg_dns_hostname), `rpcd witness:` options, and per disk share the capabilities smbd
 * 4.22 announces in TREE_CONNECT (source3/smbd/smb2_tcon.c): CONTINUOUS AVAILABILITY only by
 * `smb3 share cap:CONTINUOUS AVAILABILITY = yes`; SCALE OUT by default with clustering;
 * CLUSTER by default only with `clustering = yes` and `rpc start on demand helpers = no`,
 * else by `smb3 share cap:CLUSTER = yes`. A share's parametric option falls back to [global]'s.
 */
import { execFile } from 'node:child_process';
import type { SambaFacts } from '../config';

export interface SambaShare {
  readonly name: string;
  readonly continuousAvailability: boolean;
  readonly scaleOut: boolean;
  readonly cluster: boolean;
}

export interface SambaConf {
  /** What was read: the file, or testparm's default. */
  readonly source: string;
  readonly netbiosName: string;
  readonly realm: string;
  readonly dnsHostname: string;
  readonly clustering: boolean;
  readonly rpcStartOnDemandHelpers: boolean;
  /** Disk shares (not printers, not IPC$), in file order. */
  readonly shares: readonly SambaShare[];
  /** `rpcd witness:include node ips` / `include public ips` where smb.conf sets them. */
  readonly includeNodeIps: boolean | undefined;
  readonly includePublicIps: boolean | undefined;
}

/** loadparm's boolean words. */
function bool(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const s = v.trim().toLowerCase();
  if (['yes', 'true', '1', 'on'].includes(s)) return true;
  if (['no', 'false', '0', 'off'].includes(s)) return false;
  return undefined;
}

/** Sections of `testparm -s -v` output: name → (lower-cased parameter → value). */
function sections(text: string): Array<{ name: string; params: Map<string, string> }> {
  const out: Array<{ name: string; params: Map<string, string> }> = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      out.push({ name: sec[1], params: new Map() });
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || out.length === 0) continue;
    out[out.length - 1].params.set(line.slice(0, eq).trim().toLowerCase().replace(/\s*:\s*/, ':'), line.slice(eq + 1).trim());
  }
  return out;
}

export function parseTestparm(text: string, source: string): SambaConf {
  const all = sections(text);
  const global = all.find((s) => s.name.toLowerCase() === 'global')?.params ?? new Map<string, string>();
  const g = (k: string): string | undefined => global.get(k);
  const netbiosName = (g('netbios name') ?? '').toUpperCase();
  const realm = g('realm') ?? '';
  const dnsHostname = g('dns hostname') || (realm ? `${netbiosName.toLowerCase()}.${realm.toLowerCase()}` : netbiosName.toLowerCase());
  const clustering = bool(g('clustering')) ?? false;
  const rpcStartOnDemandHelpers = bool(g('rpc start on demand helpers')) ?? true;
  const witness = clustering && !rpcStartOnDemandHelpers;
  const shares = all
    .filter((s) => s.name.toLowerCase() !== 'global' && s.name.toLowerCase() !== 'printers' && s.name.toUpperCase() !== 'IPC$')
    .filter((s) => bool(s.params.get('printable') ?? g('printable')) !== true)
    .map((s) => {
      const cap = (what: string, dflt: boolean): boolean => bool(s.params.get(`smb3 share cap:${what}`) ?? g(`smb3 share cap:${what}`)) ?? dflt;
      return { name: s.name, continuousAvailability: cap('continuous availability', false), scaleOut: cap('scale out', clustering), cluster: cap('cluster', witness) };
    });
  return {
    source, netbiosName, realm, dnsHostname, clustering, rpcStartOnDemandHelpers, shares,
    includeNodeIps: bool(g('rpcd witness:include node ips')),
    includePublicIps: bool(g('rpcd witness:include public ips')),
  };
}

/** Run testparm (bounded: 10 s) on FILE, or on Samba's default smb.conf. */
export function readSambaConf(file?: string, testparm = 'testparm'): Promise<SambaConf> {
  return new Promise((resolve, reject) => {
    execFile(testparm, ['-s', '-v', ...(file ? [file] : [])], { timeout: 10_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      // testparm also exits 1 for its own sanity checks (a missing cache directory) after
      // printing the configuration: what counts is whether the services file loaded.
      if (err && !(stderr.includes('Loaded services file OK') && /^\[global\]$/m.test(stdout))) {
        const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${testparm} is not installed (Debian: samba-common-bin)`
          : (stderr.split('\n').find((l) => /error|can't|cannot|failed/i.test(l))?.trim() || stderr.trim().split('\n').pop() || err.message);
        reject(new Error(`cannot read Samba's configuration${file ? ` ${file}` : ''}: ${why}`));
        return;
      }
      resolve(parseTestparm(stdout, file ?? "Samba's default smb.conf"));
    });
  });
}

/** --check-config's findings about witnessd's CIFS server and CA shares against smbd's configuration. */
export function sambaFindings(
  server: { readonly netbiosName: string; readonly dnsName: string },
  shares: ReadonlyArray<{ readonly name: string; readonly continuouslyAvailable: boolean }>,
  smb: SambaConf,
): Array<{ severity: 'error' | 'warning'; message: string }> {
  const out: Array<{ severity: 'error' | 'warning'; message: string }> = [];
  const from = `smb.conf (${smb.source})`;
  if (server.netbiosName.toUpperCase() !== smb.netbiosName) {
    out.push({ severity: 'error', message: `the CIFS server's NetBIOS name ${server.netbiosName} is not smbd's "netbios name" ${smb.netbiosName} in ${from}: clients register with smbd's name and would get ERROR_INVALID_PARAMETER` });
  }
  if (server.dnsName.toLowerCase() !== smb.dnsHostname.toLowerCase()) {
    out.push({ severity: 'warning', message: `the CIFS server's DNS name ${server.dnsName} is not Samba's DNS host name ${smb.dnsHostname} (${from}: dns hostname, or netbios name.realm)` });
  }
  if (!smb.clustering) out.push({ severity: 'warning', message: `${from} has clustering = no: smbd announces neither SCALE OUT nor CLUSTER by default` });
  for (const sh of shares.filter((s) => s.continuouslyAvailable)) {
    const theirs = smb.shares.find((s) => s.name.toLowerCase() === sh.name.toLowerCase());
    if (!theirs) {
      out.push({ severity: 'error', message: `CA share ${sh.name} is not a disk share in ${from}` });
      continue;
    }
    if (!theirs.cluster) {
      out.push({ severity: 'error', message: `smbd will not announce CLUSTER for CA share ${sh.name}: Windows clients never call the Witness service for it (add "smb3 share cap:CLUSTER = yes" to [${theirs.name}] in ${from})` });
    }
    if (!theirs.continuousAvailability) {
      out.push({ severity: 'error', message: `smbd will not announce CONTINUOUS AVAILABILITY for CA share ${sh.name}: Windows clients act on CLUSTER only with it (add "smb3 share cap:CONTINUOUS AVAILABILITY = yes" to [${theirs.name}] in ${from})` });
    }
  }
  for (const theirs of smb.shares.filter((s) => s.continuousAvailability && s.cluster)) {
    if (!shares.some((s) => s.name.toLowerCase() === theirs.name.toLowerCase())) {
      out.push({ severity: 'warning', message: `smbd announces CA and CLUSTER for share ${theirs.name}, which the configuration does not list: a RegisterEx naming it would get ERROR_INVALID_STATE` });
    }
  }
  return out;
}

/** What --print-ctdb-config writes from smb.conf: the names, the CA shares, and what needs fixing there. */
export function sambaFacts(smb: SambaConf): SambaFacts {
  const ca = smb.shares.filter((s) => s.continuousAvailability);
  const notes = [
    ...ca.filter((s) => !s.cluster).map((s) => `smbd will not announce CLUSTER for [${s.name}]: add "smb3 share cap:CLUSTER = yes" there, or Windows clients never call witnessd for it`),
    ...(ca.length === 0 ? ['no share has "smb3 share cap:CONTINUOUS AVAILABILITY = yes": Windows clients use a witness only for CA shares'] : []),
  ];
  return {
    source: smb.source, netbiosName: smb.netbiosName, dnsName: smb.dnsHostname, caShares: ca.map((s) => s.name),
    includeNodeIps: smb.includeNodeIps, includePublicIps: smb.includePublicIps, notes,
  };
}
