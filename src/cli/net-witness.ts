/**
 * `witnessctl net-witness SUBCOMMAND [flags]`: Samba 4.22's `net witness` (source3/utils/
 * net_witness.c) over witnessd's admin API, for administrators' scripts: the subcommands
 * list, client-move, share-move, force-unregister, force-response; the --witness-* flags
 * (POSIX extended regular expressions, case-insensitive, ANDed; a missing share name matches
 * as ''); the same table, headlines and --json document ({filters, message?, registrations:
 * {uuid: record}}, jansson's spacing); exit 0, 255 where net returns -1, 1 for an unknown
 * option (popt). In CTDB mode the selection is every node's registrations (--local: the node
 * asked), and each update goes to the node holding the registration.
 */
import { AdminClient, AdminError, DEFAULT_ADMIN_URL } from '../admin/client';
import { ClusterView } from '../admin/cluster-view';
import type { RegistrationRow } from '../admin/format';
import type { MoveTarget } from '../admin/port';
import { addressKey } from '../lib/address';
import { printableJson, printableLines } from '../lib/printable';
import { WITNESS_REGISTER_IP_NOTIFICATION } from '../gen/witness';
import { posixEre, sambaForcedResponse } from './net-witness-json';

/** witnessctl's I/O (declared again here: witnessctl.ts imports this module). */
interface CtlIO {
  out(text: string): void;
  err(text: string): void;
  readonly env: NodeJS.ProcessEnv;
}

const FAILED = 255;
const SUBCOMMANDS = {
  list: 'List witness registrations from rpcd_witness_registration.tdb',
  'client-move': 'Generate client move notifications for witness registrations to a new ip or node',
  'share-move': 'Generate share move notifications for witness registrations to a new ip or node',
  'force-unregister': 'Force unregistrations for witness registrations',
  'force-response': 'Force an AsyncNotify response based on json input (mostly for testing)',
} as const;
type Sub = keyof typeof SUBCOMMANDS;

const VALUE_OPTIONS = ['witness-registration', 'witness-net-name', 'witness-share-name', 'witness-ip-address', 'witness-client-computer-name',
  'witness-new-ip', 'witness-new-node', 'witness-forced-response', 'admin', 'token', 'timeout'] as const;
const FLAG_OPTIONS = ['witness-apply-to-all', 'json', 'local', 'help'] as const;
/** The regex filters in Samba's order, with the record field each matches. */
const REGEX_FILTERS = [
  ['witness-net-name', 'netName'],
  ['witness-share-name', 'shareName'],
  ['witness-ip-address', 'ipAddress'],
  ['witness-client-computer-name', 'clientName'],
] as const;

class Failure extends Error {
  constructor(message: string, readonly code = FAILED) {
    super(message);
  }
}

type Opts = Partial<Record<(typeof VALUE_OPTIONS)[number], string>> & Partial<Record<(typeof FLAG_OPTIONS)[number], boolean>>;

/** popt-style: --name=value or --name value; flags take no value. */
function parseArgs(args: readonly string[]): { sub: string | undefined; opts: Opts; extra: string[] } {
  const opts: Record<string, string | boolean> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-h') {
      opts.help = true;
      continue;
    }
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if ((FLAG_OPTIONS as readonly string[]).includes(name)) {
      if (eq >= 0) throw new Failure(`${a}: option does not take an argument`, 1);
      opts[name] = true;
    } else if ((VALUE_OPTIONS as readonly string[]).includes(name)) {
      const v = eq >= 0 ? a.slice(eq + 1) : args[++i];
      if (v === undefined) throw new Failure(`${a}: missing argument`, 1);
      opts[name] = v;
    } else throw new Failure(`${a}: unknown option`, 1);
  }
  return { sub: positional[0], opts: opts as Opts, extra: positional.slice(1) };
}

function usage(): string {
  return ['Usage:', ...Object.entries(SUBCOMMANDS).map(([k, v]) => `net witness ${k.padEnd(15)} ${v}`)].join('\n');
}

const pad = (s: string, n: number): string => s.padEnd(n);
const row = (a: string, b: string, c: string, d: string, e: string, sep = ' '): string => [pad(a, 36), pad(b, 20), pad(c, 15), pad(d, 20), e].join(sep);
const HEADER = [
  row('Registration-UUID:', 'NetName', 'ShareName', 'IpAddress', 'ClientComputerName'),
  row('-'.repeat(36), '-'.repeat(20), '-'.repeat(18), '-'.repeat(20), '-'.repeat(18), '-'),
];

/** jansson's json_dumps(flags 0): ", " and ": " between items, no newlines. */
export function janssonText(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(janssonText).join(', ')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${janssonText(x)}`).join(', ')}}`;
  return JSON.stringify(v ?? null);
}

const hex32 = (n: number): string => `0x${(n >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
/** tsocket's address text: ipv4:ADDR:PORT / ipv6:ADDR:PORT. */
const tsocket = (a: string | undefined, port: number | undefined): string | null =>
  a === undefined ? null : `${a.includes(':') ? 'ipv6' : 'ipv4'}:${a}:${port ?? 0}`;
/** Samba's json_add_time: local time, microseconds, numeric zone. */
function sambaTime(iso: string | undefined): string | null {
  if (!iso) return null;
  const d = new Date(iso);
  const z = -d.getTimezoneOffset();
  const p2 = (n: number): string => String(Math.trunc(Math.abs(n))).padStart(2, '0');
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}T${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${String(d.getMilliseconds() * 1000).padStart(6, '0')}${z < 0 ? '-' : '+'}${p2(z / 60)}${p2(z % 60)}`;
}

/** NONCLUSTER_VNN: the server_id of a registration outside a CTDB cluster. */
const NONCLUSTER_VNN = 0xffffffff;

/** One registration as `net witness list --json` shows it (dump_registration_json). */
export function sambaRecord(r: RegistrationRow, vnn: number): Record<string, unknown> {
  const principal = r.principal ?? '';
  const anonymous = principal === 'ANONYMOUS' || principal === '';
  const [domain, account] = principal.includes('\\') ? principal.split('\\', 2) : ['', principal];
  const flags = r.flags ?? 0;
  return {
    version: hex32(r.version),
    net_name: r.netName,
    share_name: r.shareName ?? null,
    ip_address: r.ipAddress,
    client_computer_name: r.clientName,
    flags: { WITNESS_REGISTER_IP_NOTIFICATION: (flags & WITNESS_REGISTER_IP_NOTIFICATION) !== 0, int: flags, hex: hex32(flags) },
    timeout: r.keepAliveTimeout ?? 0,
    context_handle: { handle_type: 0, uuid: r.id },
    // One witnessd process per node holds every registration: pid 0 (not asked), the association group as unique_id.
    server_id: { pid: 0, task_id: 0, vnn, unique_id: r.associationGroupId ?? 0 },
    // witnessd keeps no SID for an NTLM caller: null rather than a made-up one.
    auth: { account_name: anonymous ? 'ANONYMOUS LOGON' : account, domain_name: anonymous ? 'NT AUTHORITY' : domain, account_sid: anonymous ? 'S-1-5-7' : null },
    connection: { local_address: tsocket(r.localAddress, r.localPort), remote_address: tsocket(r.remoteAddress, r.remotePort) },
    registration_time: sambaTime(r.registeredAt),
  };
}

/** A registration with the node holding it (CTDB mode; undefined: one witnessd). */
type Held = RegistrationRow;

/** Where the registrations are and how to reach the node holding each. */
interface Source {
  readonly registrations: Held[];
  readonly unreachable: string[];
  clientFor(r: Held): AdminClient | undefined;
  vnnOf(r: Held): number;
  /** --witness-new-node N as this deployment's node name (CTDB: pnnN; YAML model: the N-th node, or a name). */
  nodeName(n: string): Promise<string>;
}

async function openSource(client: AdminClient, o: Opts, timeoutMs: number): Promise<Source> {
  const view = o.local ? undefined : await ClusterView.open(client, o.token, timeoutMs);
  if (view) {
    const r = await view.registrations({});
    const pnnOf = new Map(view.nodes.map((n) => [n.name, n.pnn]));
    return {
      registrations: r.registrations,
      unreachable: r.unreachable.map((u) => `node ${u.node} did not answer: ${u.error}`),
      clientFor: (x) => view.client(x.heldBy ?? ''),
      vnnOf: (x) => pnnOf.get(x.heldBy ?? '') ?? NONCLUSTER_VNN,
      nodeName: async (n) => (/^\d+$/.test(n) ? `pnn${n}` : n),
    };
  }
  const regs = (await client.get<{ registrations: Held[] }>('/v1/registrations')).registrations;
  const status = o.local ? await client.status() : undefined;
  const pnn = (status?.ctdb as { pnn?: number } | undefined)?.pnn;
  return {
    registrations: regs,
    unreachable: [],
    clientFor: () => client,
    vnnOf: () => pnn ?? NONCLUSTER_VNN,
    nodeName: async (n) => {
      if (!/^\d+$/.test(n)) return n;
      if (pnn !== undefined) return `pnn${n}`;
      const nodes = ((await client.status()).nodes ?? []) as Array<{ name: string }>;
      const node = nodes[Number(n)];
      if (!node) throw new Failure(`--witness-new-node=${n}: there are ${nodes.length} node(s), numbered from 0`);
      return node.name;
    },
  };
}

/** The `message` of the JSON document and the headline of the table. */
function describe(sub: Sub, o: Opts, forced: unknown): { message?: Record<string, unknown>; headline?: string } {
  if (sub === 'list') return {};
  if (sub === 'force-unregister') return { message: { type: 'FORCE_UNREGISTER' }, headline: 'FORCE_UNREGISTER:' };
  if (sub === 'force-response') {
    const text = o['witness-forced-response'];
    return { message: { type: 'FORCE_RESPONSE', ...(forced !== undefined ? { json: forced } : {}) }, headline: `FORCE_RESPONSE:${text !== undefined ? ` ${text}` : ''}` };
  }
  const prefix = sub === 'client-move' ? 'CLIENT_MOVE_TO' : 'SHARE_MOVE_TO';
  if (o['witness-new-ip'] !== undefined) {
    const type = `${prefix}_IPV${o['witness-new-ip'].includes(':') ? 6 : 4}`;
    return { message: { type, new_ip: o['witness-new-ip'] }, headline: `${type}: ${o['witness-new-ip']}` };
  }
  const node = Number(o['witness-new-node']);
  const type = `${prefix}_NODE`;
  return node === -1
    ? { message: { type, all_nodes: true }, headline: `${type}: ALL` }
    : { message: { type, new_node: Number.isInteger(node) ? node : o['witness-new-node'] }, headline: `${type}: ${o['witness-new-node']}` };
}

/** net_witness_verify_update_options / _move_options, with Samba's own messages. */
function verify(sub: Sub, o: Opts): void {
  const filters = ['witness-registration', ...REGEX_FILTERS.map(([f]) => f)].filter((f) => o[f as keyof Opts] !== undefined);
  if (sub === 'list') return;
  if (filters.length === 0 && !o['witness-apply-to-all']) {
    throw new Failure(['--witness-apply-to-all or at least one of following requires:', '--witness-registration', '--witness-net-name', '--witness-share-name', '--witness-ip-address', '--witness-client-computer-name'].join('\n'));
  }
  if (o['witness-apply-to-all'] && filters.length > 0) {
    throw new Failure(['--witness-apply-to-all not allowed together with the following options:', '--witness-registration', '--witness-net-name', '--witness-share-name', '--witness-ip-address', '--witness-client-computer-name'].join('\n'));
  }
  if (sub !== 'client-move' && sub !== 'share-move') return;
  const ip = o['witness-new-ip'];
  const node = o['witness-new-node'];
  if (ip !== undefined && node !== undefined) throw new Failure('--witness-new-ip and --witness-new-node are not allowed together');
  if (ip === undefined && node === undefined) throw new Failure('--witness-new-ip or --witness-new-node required');
  if (ip !== undefined && addressKey(ip) === undefined) throw new Failure(`Invalid ip address for --witness-new-ip=${ip}`);
}

async function run(sub: Sub, o: Opts, io: CtlIO): Promise<number> {
  verify(sub, o);
  let forced: ReturnType<typeof sambaForcedResponse>;
  try {
    forced = sub === 'force-response' ? sambaForcedResponse(o['witness-forced-response']) : undefined;
  } catch (e) {
    throw new Failure((e as Error).message);
  }
  // Filters first, as net does: a bad expression fails before anything is read or sent.
  const regexes = REGEX_FILTERS.filter(([f]) => o[f] !== undefined).map(([f, field]) => {
    const value = o[f] as string;
    try {
      return { option: `--${f}`, value, field, re: posixEre(value) };
    } catch (e) {
      throw new Failure(`regcomp(${value}) failed for --${f}: ${(e as Error).message}\nnet_witness_scan_registrations_init() failed\nnet_witness_scan_registrations() failed`);
    }
  });
  const timeoutMs = Number(o.timeout ?? 15_000);
  const client = new AdminClient({ url: o.admin ?? io.env.WITNESSCTL_ADMIN ?? DEFAULT_ADMIN_URL, token: o.token ?? io.env.WITNESSCTL_TOKEN, timeoutMs });
  const source = await openSource(client, { ...o, token: o.token ?? io.env.WITNESSCTL_TOKEN }, timeoutMs);
  const wanted = o['witness-registration']?.toLowerCase();
  const selected = source.registrations.filter((r) =>
    (wanted === undefined || r.id.toLowerCase() === wanted) &&
    regexes.every((x) => x.re.test((r[x.field] as string | undefined) ?? '')) &&
    (sub !== 'share-move' || r.shareName !== undefined));

  let target: MoveTarget | undefined;
  if (sub === 'client-move' || sub === 'share-move') {
    const node = o['witness-new-node'];
    target = o['witness-new-ip'] !== undefined ? { ip: o['witness-new-ip'] } : Number(node) === -1 ? { allNodes: true } : { node: await source.nodeName(String(node)) };
  }
  const update = sub === 'list' ? undefined
    : sub === 'force-unregister' ? { type: 'FORCE_UNREGISTER' }
    : sub === 'force-response' ? { type: 'FORCE_RESPONSE', ...(forced?.body ?? {}) }
    : { type: sub === 'client-move' ? 'CLIENT_MOVE' : 'SHARE_MOVE', to: target };
  const done: Held[] = [];
  const problems = [...source.unreachable];
  if (update) {
    const byClient = new Map<AdminClient, Held[]>();
    for (const r of selected) {
      const c = source.clientFor(r);
      if (!c) problems.push(`registration ${r.id}: no admin API for node ${r.heldBy}`);
      else byClient.set(c, [...(byClient.get(c) ?? []), r]);
    }
    await Promise.all([...byClient].map(async ([c, regs]) => {
      for (let i = 0; i < regs.length; i += 1000) {
        const part = regs.slice(i, i + 1000);
        try {
          const ans = await c.post<{ updated: Array<{ id: string }> }>('/v1/registrations/update', { ids: part.map((r) => r.id), update });
          const ok = new Set(ans.updated.map((u) => u.id));
          done.push(...part.filter((r) => ok.has(r.id)));
        } catch (e) {
          problems.push(`${c.url}: ${(e as Error).message}`);
        }
      }
    }));
  } else done.push(...selected);
  const shown = selected.filter((r) => done.includes(r));

  const { message, headline } = describe(sub, o, forced?.json);
  if (o.json) {
    const filters: Record<string, unknown> = {};
    if (o['witness-registration'] !== undefined) filters['--witness-registration'] = o['witness-registration'];
    if (o['witness-apply-to-all']) filters['--witness-apply-to-all'] = true;
    for (const x of regexes) filters[x.option] = x.value;
    const registrations = Object.fromEntries(shown.map((r) => [r.id, sambaRecord(r, source.vnnOf(r))]));
    io.out(printableJson(janssonText({ filters, ...(message ? { message } : {}), registrations })));
  } else {
    // Client computer names are the peers' own text: escaped for the terminal (lib/printable).
    io.out(printableLines([...(headline ? [headline] : []), ...HEADER, ...shown.map((r) => row(r.id, r.netName, r.shareName ?? "''", r.ipAddress, r.clientName))].join('\n')));
  }
  for (const p of problems) io.err(p);
  return problems.length > 0 ? FAILED : 0;
}

/** `witnessctl net-witness ARGS`: the exit code. */
export async function netWitnessMain(args: readonly string[], io: CtlIO): Promise<number> {
  try {
    const { sub, opts, extra } = parseArgs(args);
    if (opts.help && sub === undefined) {
      io.out(usage());
      return 0;
    }
    if (sub === undefined || !(sub in SUBCOMMANDS)) {
      io.err(`Invalid command: net witness ${sub ?? ''}`);
      io.out(usage());
      return FAILED;
    }
    if (opts.help || extra.length > 0) {
      io.out(`Usage:\nnet witness ${sub}\n    ${SUBCOMMANDS[sub as Sub]}\n(witnessctl net-witness takes Samba's --witness-* options, --json, and witnessctl's --admin, --token, --timeout, --local)`);
      return opts.help ? 0 : FAILED;
    }
    return await run(sub as Sub, opts, io);
  } catch (e) {
    if (e instanceof Failure) {
      // net prints its complaints on stdout; popt's go to stderr.
      (e.code === 1 ? io.err : io.out)(e.code === 1 ? `witnessctl net-witness: ${e.message}` : e.message);
      return e.code;
    }
    if (e instanceof AdminError) {
      io.err(`witnessctl net-witness: ${e.message}`);
      return FAILED;
    }
    io.err(`witnessctl net-witness: ${(e as Error).message}`);
    return FAILED;
  }
}
