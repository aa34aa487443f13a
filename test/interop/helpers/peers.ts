/**
 * Which real peers are installed, whether we run in a private network namespace, and the
 * interop layer's skip rule: a missing peer skips the test file with a loud message, except
 * under CI=true, where it is a failure (CI installs every peer, so a missing one is a bug).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export type Peer = 'rpcclient' | 'smbclient' | 'smbtorture' | 'tshark' | 'smbd' | 'python3' | 'impacket' | 'python3-samba' | 'ip' | 'timeout' | 'chromium' | 'samba' | 'kinit' | 'ctdbd' | 'ctdb' | 'testparm' | 'net';

const SEARCH_PATH = (process.env.PATH ?? '/usr/bin:/bin') + ':/usr/sbin:/sbin:/usr/local/sbin';

const cache = new Map<string, string | undefined>();

/** Absolute path of an executable on PATH (plus the sbin directories, where smbd lives). */
export function findExecutable(name: string): string | undefined {
  if (cache.has(name)) return cache.get(name);
  let found: string | undefined;
  for (const dir of SEARCH_PATH.split(':')) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) {
        found = p;
        break;
      }
    } catch {
      /* not here */
    }
  }
  cache.set(name, found);
  return found;
}

/**
 * The Debian python3 (where python3-impacket and python3-samba install) rather than whatever
 * python3 comes first on PATH (a pyenv shim, for instance, has neither).
 */
export function systemPython(): string | undefined {
  try {
    fs.accessSync('/usr/bin/python3', fs.constants.X_OK);
    return '/usr/bin/python3';
  } catch {
    return findExecutable('python3');
  }
}

function pythonHas(module: string): boolean {
  const key = `python:${module}`;
  if (cache.has(key)) return cache.get(key) !== undefined;
  let ok = false;
  const py = systemPython();
  if (py) {
    try {
      execFileSync('timeout', ['20', py, '-c', `import ${module}`], { stdio: 'ignore' });
      ok = true;
    } catch {
      ok = false;
    }
  }
  cache.set(key, ok ? 'yes' : undefined);
  return ok;
}

/** The path to a peer, or undefined if it is not installed. */
export function peerPath(peer: Peer): string | undefined {
  switch (peer) {
    case 'impacket':
      return pythonHas('impacket') ? systemPython() : undefined;
    case 'python3':
      return systemPython();
    case 'python3-samba':
      return pythonHas('samba.dcerpc.witness') ? systemPython() : undefined;
    default:
      return findExecutable(peer);
  }
}

/** Debian package that provides each peer (for the skip message). */
const PACKAGE: Record<Peer, string> = {
  rpcclient: 'smbclient',
  smbclient: 'smbclient',
  smbtorture: 'samba-testsuite',
  tshark: 'tshark',
  smbd: 'samba',
  python3: 'python3',
  impacket: 'python3-impacket',
  'python3-samba': 'python3-samba',
  ip: 'iproute2',
  timeout: 'coreutils',
  chromium: 'chromium',
  samba: 'samba-ad-dc',
  kinit: 'krb5-user',
  ctdbd: 'ctdb',
  ctdb: 'ctdb',
  testparm: 'samba-common-bin',
  net: 'samba-common-bin',
};

/**
 * True when this process's network namespace has no interface but loopback, i.e. it is a
 * private one made by `unshare -n` (comparing with PID 1's namespace is not reliable in
 * containers and micro-VMs, where PID 1 may live in yet another namespace).
 */
export function inPrivateNetns(): boolean {
  try {
    const names = fs
      .readFileSync('/proc/self/net/dev', 'utf8')
      .split('\n')
      .slice(2)
      .map((l) => l.trim().split(':')[0])
      .filter((n) => n);
    return names.length > 0 && names.every((n) => n === 'lo');
  } catch {
    return false;
  }
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export const CI = process.env.CI === 'true';

export interface PeerCheck {
  readonly ok: boolean;
  readonly missing: readonly string[];
  readonly message: string;
}

/**
 * Check peers and the environment the interop layer needs: root and a private network
 * namespace (ports 135/445 free, loopback addresses of our own). `npm test` provides both;
 * to run one file by hand: `unshare -n sh -c 'ip link set lo up; npx jest <file>'`.
 */
export function checkPeers(peers: readonly Peer[], opts: { needNetns?: boolean } = {}): PeerCheck {
  const missing: string[] = [];
  for (const p of new Set<Peer>(['timeout', ...peers])) {
    if (!peerPath(p)) missing.push(`${p} (Debian package ${PACKAGE[p]})`);
  }
  if (opts.needNetns !== false) {
    if (!isRoot()) missing.push('root (interop tests add loopback addresses and bind ports 135/445)');
    else if (!inPrivateNetns())
      missing.push("a private network namespace (run `npm test`, or `unshare -n sh -c 'ip link set lo up; npx jest <file>'`)");
  }
  const message = missing.length === 0 ? '' : `missing: ${missing.join('; ')}`;
  return { ok: missing.length === 0, missing, message };
}

/**
 * `describe` for an interop test file: runs the body when every peer is present; otherwise
 * skips it with a loud message, or (CI=true) registers one failing test that names what is
 * missing, so the report shows the regression by name.
 */
export function describeWithPeers(title: string, peers: readonly Peer[], body: () => void, opts: { needNetns?: boolean } = {}): void {
  const check = checkPeers(peers, opts);
  if (check.ok) {
    describe(title, body);
    return;
  }
  const banner = `\n!!! INTEROP SKIPPED: "${title}" — ${check.message}\n`;
  if (CI) {
    describe(title, () => {
      it('has every real peer it needs (CI=true: a missing peer is a failure)', () => {
        throw new Error(banner);
      });
    });
    return;
  }
  // Loud: straight to stderr (jest may buffer console.*), and a visible skipped test.
  process.stderr.write(banner);
  describe.skip(`${title} [SKIPPED: ${check.message}]`, body);
}
