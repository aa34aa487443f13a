/**
 * A Samba instance whose every state path lives in one private directory (PERF.md,
 * INTEROP.md): the directories it needs and the [global] lines that put them there and keep
 * it off printing, NetBIOS and user shares. Shared by the interop fixture's smbd, the
 * detection benchmark's smbd and the rpc benchmark's samba-dcerpcd.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const STATE_DIRS: ReadonlyArray<readonly [dir: string, option: string]> = [
  ['lock', 'lock directory'],
  ['state', 'state directory'],
  ['cache', 'cache directory'],
  ['private', 'private dir'],
  ['pid', 'pid directory'],
  ['ncalrpc', 'ncalrpc dir'],
  ['binddns', 'binddns dir'],
];

/** Make the state directories (and `extra` ones, e.g. log, shares) under `dir`. */
export function makeSandboxDirs(dir: string, extra: readonly string[] = []): void {
  for (const d of [...STATE_DIRS.map(([name]) => name), ...extra]) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.chmodSync(path.join(dir, 'state'), 0o1777);
}

/** [global] lines: every state path under `dir`, no printers, no NetBIOS, no user shares. */
export function sandboxGlobals(dir: string): string[] {
  return [
    ...STATE_DIRS.map(([name, option]) => `  ${option} = ${dir}/${name}`),
    '  disable netbios = yes',
    '  load printers = no',
    '  printing = bsd',
    '  printcap name = /dev/null',
    '  usershare path =',
  ];
}
