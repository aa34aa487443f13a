/**
 * witnessctl: the operator's (and the drill's) command line for a running witnessd, spoken
 * over the admin API. Every command takes --json, --admin URL (default
 * http://127.0.0.1:8135 or $WITNESSCTL_ADMIN) and the admin token ($WITNESSCTL_TOKEN, or
 * --token-file / $WITNESSCTL_TOKEN_FILE; --token works but shows in ps). Errors are
 * one clear line on stderr and a non-zero exit: 1 the server refused, 2 bad usage,
 * 3 witnessd could not be reached.
 */
import { readFileSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import { AdminClient, AdminError, DEFAULT_ADMIN_URL } from '../admin/client';
import type { ClusterEvent } from '../cluster/types';
import { describeEvent, formatRegistrations, formatStatus, table, type RegistrationRow, type StatusBody } from '../admin/format';
import type { ToldRegistration } from '../admin/port';
import { ClusterView, ctdbView, formatCtdb } from '../admin/cluster-view';
import { ctdbDrain, ctdbFanOut } from './witnessctl-ctdb';
import { printableJson, printableLines } from '../lib/printable';
import { readSecret, smbpasswdLine } from './smbpasswd-line';
import { netWitnessMain } from './net-witness';

export interface CtlIO {
  out(text: string): void;
  err(text: string): void;
  readonly env: NodeJS.ProcessEnv;
  /** A password typed without echo, or piped in (smbpasswd-line); default: the process's terminal. */
  readSecret?(prompt: string): Promise<string>;
}

const processIO: CtlIO = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
  env: process.env,
};

class UsageError extends Error {}

interface Global {
  admin: string;
  token?: string;
  json: boolean;
  timeout: number;
  /** CTDB mode: only the node asked, not the whole cluster. */
  local: boolean;
}
type Action = (client: AdminClient, g: Global) => Promise<{ json: unknown; text: string }>;

const FILTER_OPTIONS = {
  'net-name': { type: 'string', describe: 'NetName as registered (CIFS NetBIOS or DNS name)' },
  share: { type: 'string', describe: 'share name (RegisterEx)' },
  ip: { type: 'string', describe: 'registered IP address (the LIF the client watches)' },
  client: { type: 'string', describe: 'client computer name' },
  id: { type: 'string', describe: 'registration id (context handle GUID)' },
} as const;

function filterFrom(a: Record<string, unknown>): Record<string, string> {
  const f: Record<string, string> = {};
  const map: Record<string, string> = { 'net-name': 'netName', share: 'shareName', ip: 'ipAddress', client: 'clientName', id: 'id' };
  for (const [opt, field] of Object.entries(map)) {
    const v = a[opt];
    if (typeof v === 'string' && v !== '') f[field] = v;
  }
  return f;
}

interface ModelAnswer {
  events: ClusterEvent[];
  notified: number;
  queued: number;
  told: ToldRegistration[];
}

function eventsResult(title: string, body: ModelAnswer): { json: unknown; text: string } {
  const lines = body.events.length ? body.events.map((e) => `  ${describeEvent(e)}`) : ['  (no events)'];
  const told = body.told.length === 0
    ? ['told no registration']
    : [
      `told ${body.told.length} registration(s): ${body.notified} notified now, ${body.queued} queued for their next AsyncNotify`,
      ...table([['  CLIENT', 'NETNAME', 'IP', 'MESSAGE', 'DELIVERY', 'ID'], ...body.told.map((t) => [`  ${t.clientName}`, t.netName, t.ipAddress, `${t.type} ${t.detail}`, t.delivery, t.id])]),
    ];
  return { json: body, text: [`${title}:`, ...lines, ...told].join('\n') };
}

const modelCommand =
  (title: string, path: string, body: () => unknown = () => ({})): Action =>
  async (c) =>
    eventsResult(title, await c.post<ModelAnswer>(path, body()));

/** CTDB mode (unless --local): the same command on every node (a registration may sit on any). */
const clusterCommand =
  (title: string, path: string, body: () => unknown = () => ({})): Action =>
  async (c, g) => {
    const view = g.local ? undefined : await ClusterView.open(c, g.token, g.timeout);
    return view ? ctdbFanOut(view, title, path, body()) : eventsResult(title, await c.post<ModelAnswer>(path, body()));
  };

function buildParser(args: string[], env: NodeJS.ProcessEnv, setAction: (a: Action) => void, io: CtlIO = processIO): Argv {
  const enc = encodeURIComponent;
  return yargs(args)
    .scriptName('witnessctl')
    .usage('$0 <command> [options]\n\nControl a running witnessd through its admin API.')
    .option('admin', { type: 'string', default: env.WITNESSCTL_ADMIN || DEFAULT_ADMIN_URL, describe: 'admin API URL ($WITNESSCTL_ADMIN)', global: true })
    .option('token', { type: 'string', describe: 'admin API token: visible to every user in ps, prefer $WITNESSCTL_TOKEN or --token-file', global: true })
    .option('token-file', { type: 'string', default: env.WITNESSCTL_TOKEN_FILE || undefined, describe: 'file holding the admin API token ($WITNESSCTL_TOKEN_FILE)', global: true, defaultDescription: '$WITNESSCTL_TOKEN_FILE' })
    .option('json', { type: 'boolean', default: false, describe: 'print the JSON answer', global: true })
    .option('timeout', { type: 'number', default: 15000, describe: 'request timeout in ms', global: true })
    .option('local', { type: 'boolean', default: false, describe: 'CTDB mode: only the node asked (default: every node of the cluster)', global: true })
    .command('status', 'nodes, LIFs, shares, deployment findings, registration counts', {}, () =>
      setAction(async (c) => {
        const s = await c.get<StatusBody>('/v1/status');
        const ctdb = ctdbView(s);
        return { json: s, text: ctdb ? `${formatStatus(s)}\n${formatCtdb(ctdb)}` : formatStatus(s) };
      }),
    )
    .command('registrations <action>', 'witness registrations: WAITING = AsyncNotify calls held open, QUEUED = notifications for the next call; a V2 registration with nothing waiting is removed after timeouts.unusedRegistrationSeconds (30 s), and one registered without a keep-alive timeout gets WERR_TIMEOUT at once', (y) =>
      y
        .positional('action', { choices: ['list'] as const, describe: 'list' })
        .options(FILTER_OPTIONS)
        .example('$0 registrations list --net-name SOFS', '')
    , (a) =>
      setAction(async (c, g) => {
        const view = g.local ? undefined : await ClusterView.open(c, g.token, g.timeout);
        if (view) {
          const r = await view.registrations(filterFrom(a));
          const missing = r.unreachable.map((u) => `node ${u.node} did not answer: ${u.error}`);
          return { json: r, text: [formatRegistrations(r.registrations), ...missing].join('\n') };
        }
        const r = { registrations: await c.registrations<RegistrationRow>(filterFrom(a)) };
        return { json: r, text: formatRegistrations(r.registrations) };
      }),
    )
    .command('node <action> <node>', 'simulated unplanned failure / recovery (overrides the health probes)', (y) =>
      y.positional('action', { choices: ['fail', 'recover'] as const }).positional('node', { type: 'string', demandOption: true })
    , (a) => setAction(modelCommand(`node ${a.action} ${a.node}`, `/v1/nodes/${enc(String(a.node))}/${a.action}`)))
    .command('takeover <node>', "planned takeover: the node's SFO partner takes its LIFs and storage (CTDB mode: CLIENT_MOVE, --grace-ms, then ctdb disable)", (y) =>
      y.positional('node', { type: 'string', demandOption: true }).option('grace-ms', { type: 'number', default: 5000, describe: 'CTDB mode: wait after CLIENT_MOVE before ctdb disable' })
    , (a) => setAction(async (c, g) => {
      const view = await ClusterView.open(c, g.token, g.timeout);
      if (view) return ctdbDrain(view, String(a.node), 'takeover', Number(a['grace-ms']));
      return modelCommand(`takeover ${a.node}`, `/v1/nodes/${enc(String(a.node))}/takeover`)(c, g);
    }))
    .command('giveback <node>', 'giveback: the node takes its LIFs and storage back (CTDB mode: ctdb enable)', (y) =>
      y.positional('node', { type: 'string', demandOption: true })
    , (a) => setAction(async (c, g) => {
      const view = await ClusterView.open(c, g.token, g.timeout);
      if (view) return ctdbDrain(view, String(a.node), 'giveback', 0);
      return modelCommand(`giveback ${a.node}`, `/v1/nodes/${enc(String(a.node))}/giveback`)(c, g);
    }))
    .command('lif <action> <lif>', 'LIF migrate (--to NODE), up, down, address (--ipv4/--ipv6)', (y) =>
      y
        .positional('action', { choices: ['migrate', 'up', 'down', 'address'] as const })
        .positional('lif', { type: 'string', demandOption: true })
        .option('to', { type: 'string', describe: 'destination node (migrate)' })
        .option('ipv4', { type: 'string', describe: 'new IPv4 address (address; "none" removes it)' })
        .option('ipv6', { type: 'string', describe: 'new IPv6 address (address; "none" removes it)' })
    , (a) => {
      const lif = String(a.lif);
      if (a.action === 'migrate') {
        if (!a.to) throw new UsageError('lif migrate needs --to NODE');
        setAction(modelCommand(`lif migrate ${lif} --to ${a.to}`, `/v1/lifs/${enc(lif)}/migrate`, () => ({ to: a.to })));
      } else if (a.action === 'address') {
        const addr = (v: string | undefined) => (v === undefined ? undefined : v === 'none' ? null : v);
        if (a.ipv4 === undefined && a.ipv6 === undefined) throw new UsageError('lif address needs --ipv4 and/or --ipv6');
        setAction(modelCommand(`lif address ${lif}`, `/v1/lifs/${enc(lif)}/address`, () => ({ ipv4: addr(a.ipv4), ipv6: addr(a.ipv6) })));
      } else {
        setAction(modelCommand(`lif ${a.action} ${lif}`, `/v1/lifs/${enc(lif)}/${a.action}`));
      }
    })
    .command('share <action> <share>', 'volume move / aggregate relocation of a share (--to NODE)', (y) =>
      y
        .positional('action', { choices: ['move'] as const })
        .positional('share', { type: 'string', demandOption: true })
        .option('to', { type: 'string', demandOption: true, describe: 'node that serves the share afterwards' })
        .option('svm', { type: 'string', describe: 'SVM of the share (when the name is not unique)' })
    , (a) =>
      setAction(
        clusterCommand(`share move ${a.share} --to ${a.to}`, `/v1/shares/${enc(String(a.share))}/move`, () => (a.svm ? { to: a.to, svm: a.svm } : { to: a.to })),
      ),
    )
    .command('client <action>', 'ask a witness client to move its SMB connection (--client NAME --to NODE)', (y) =>
      y
        .positional('action', { choices: ['move'] as const })
        .option('client', { type: 'string', demandOption: true, describe: 'client computer name as registered' })
        .option('to', { type: 'string', demandOption: true, describe: 'destination node' })
    , (a) => setAction(clusterCommand(`client move ${a.client} --to ${a.to}`, '/v1/clients/move', () => ({ client: a.client, to: a.to }))))
    .command('unregister', 'force unregister (filters or --all); pending AsyncNotify calls get ERROR_NOT_FOUND', (y) =>
      y.options(FILTER_OPTIONS).option('all', { type: 'boolean', describe: 'every registration' })
    , (a) => {
      const f = filterFrom(a);
      if (!a.all && Object.keys(f).length === 0) throw new UsageError('unregister needs a filter (--net-name, --share, --ip, --client, --id) or --all');
      if (a.all && Object.keys(f).length > 0) throw new UsageError('unregister: give filters or --all, not both');
      setAction(async (c, g) => {
        const view = g.local ? undefined : await ClusterView.open(c, g.token, g.timeout);
        if (view) {
          const answers = await view.all((n) => n.post<{ unregistered: RegistrationRow[]; notified: number }>('/v1/unregister', a.all ? { all: true } : f));
          const removed = answers.flatMap((x) => (x.ok ? x.body.unregistered.map((r) => ({ ...r, heldBy: x.node })) : []));
          const notified = answers.reduce((n, x) => n + (x.ok ? x.body.notified : 0), 0);
          const missing = answers.flatMap((x) => (x.ok ? [] : [`node ${x.node} did not answer: ${x.error}`]));
          const told = `; ${notified} waiting AsyncNotify call(s) answered ERROR_NOT_FOUND, the others learn it on their next call`;
          return { json: { unregistered: removed, notified, nodes: answers }, text: [`unregistered ${removed.length} registration(s) cluster-wide${removed.length ? told : ''}`, ...(removed.length ? [formatRegistrations(removed)] : []), ...missing].join('\n') };
        }
        const r = await c.post<{ unregistered: RegistrationRow[]; notified: number }>('/v1/unregister', a.all ? { all: true } : f);
        const told = `; ${r.notified} waiting AsyncNotify call(s) answered ERROR_NOT_FOUND, the others learn it on their next call`;
        return { json: r, text: `unregistered ${r.unregistered.length} registration(s)${r.unregistered.length ? `${told}\n${formatRegistrations(r.unregistered)}` : ''}` };
      });
    })
    .command('notify', 'force the next AsyncNotify response of selected registrations (for testing clients)', (y) =>
      y
        .options(FILTER_OPTIONS)
        .option('all', { type: 'boolean', describe: 'every registration' })
        .option('json-response', {
          type: 'string',
          describe: 'the response as JSON, e.g. \'{"type":"RESOURCE_CHANGE","changes":[{"changeType":"UNAVAILABLE","name":"SOFS"}]}\' or \'{"type":"CLIENT_MOVE","addresses":[{"ipv4":"127.0.0.12"}]}\'',
        })
        .option('result', { type: 'string', describe: 'WERROR result of the call (number or 0x hex; with no response: a NULL response)' })
        .example('$0 notify --client hv01 --json-response \'{"type":"CLIENT_MOVE","addresses":[{"ipv4":"127.0.0.12"}]}\'', '')
    , (a) => {
      const f = filterFrom(a);
      if (!a.all && Object.keys(f).length === 0) throw new UsageError('notify needs a filter (--net-name, --share, --ip, --client, --id) or --all');
      const body: Record<string, unknown> = a.all ? { all: true } : { ...f };
      if (a['json-response'] !== undefined) {
        try {
          body.response = JSON.parse(String(a['json-response']));
        } catch {
          throw new UsageError('--json-response is not valid JSON');
        }
      }
      if (a.result !== undefined) {
        const r = String(a.result);
        body.result = /^0x/i.test(r) ? r : Number(r);
        if (typeof body.result === 'number' && !Number.isInteger(body.result)) throw new UsageError(`--result ${r} is not a number`);
      }
      if (body.response === undefined && body.result === undefined) throw new UsageError('notify needs --json-response and/or --result');
      setAction(async (c) => {
        const r = await c.post<{ notified: RegistrationRow[] }>('/v1/notify', body);
        return { json: r, text: `forced response queued for ${r.notified.length} registration(s)${r.notified.length ? '\n' + formatRegistrations(r.notified) : ''}` };
      });
    })
    .command('net-witness <subcommand>', "Samba's `net witness`: list | client-move | share-move | force-unregister | force-response with the --witness-* options and --json (witnessctl net-witness --help)", (y) =>
      y.positional('subcommand', { type: 'string' }), () => setAction(async () => ({ json: {}, text: '' })))
    .command('smbpasswd-line <user>', 'print an smbpasswd line for auth.accountsFile (password asked without echo, or read from stdin); needs no witnessd and no Samba', (y) =>
      y.positional('user', { type: 'string', demandOption: true }).option('uid', { type: 'number', default: 0, describe: 'the uid field (not used by witnessd)' })
    , (a) => setAction(async () => {
      const password = await (io.readSecret ?? readSecret)('Password: ');
      if (password === '') throw new UsageError('an empty password');
      const line = smbpasswdLine(String(a.user), password, Number(a.uid));
      return { json: { line }, text: line };
    }))
    .command('reload', 're-read the configuration file (a bad file keeps the running configuration)', {}, () =>
      setAction(async (c) => {
        const r = await c.post<{ source: string; events: ClusterEvent[]; findings: { severity: string; message: string }[]; applied: string[]; restartNeeded: string[] }>('/v1/reload');
        const lines = [
          `reloaded ${r.source}; applied: ${r.applied.length ? r.applied.join(', ') : 'nothing changed'}`,
          ...(r.restartNeeded.length ? [`WARNING: these settings keep their running value until witnessd restarts: ${r.restartNeeded.join(', ')}`] : []),
          ...r.events.map((e) => `  ${describeEvent(e)}`), ...r.findings.map((f) => `  ${f.severity}: ${f.message}`),
        ];
        return { json: r, text: lines.join('\n') };
      }),
    )
    .command('metrics', 'print the Prometheus metrics', {}, () =>
      setAction(async (c) => {
        const t = await c.text('/metrics');
        return { json: { metrics: t }, text: t.trimEnd() };
      }),
    )
    .demandCommand(1, 'give a command')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 100));
}

/**
 * The admin token: --token-file (or $WITNESSCTL_TOKEN_FILE), else $WITNESSCTL_TOKEN, else
 * --token (an argument every user sees in ps: kept for scripts that still pass it).
 */
function tokenFrom(argv: Record<string, unknown>, env: NodeJS.ProcessEnv): string | undefined {
  const file = argv['token-file'];
  if (typeof file === 'string' && file !== '') {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (e) {
      throw new UsageError(`cannot read the token file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  if (typeof argv.token === 'string') return argv.token;
  return env.WITNESSCTL_TOKEN || undefined;
}

/** Run witnessctl with `args` (without node and script). Returns the exit code. */
export async function main(args: string[], io: CtlIO = processIO): Promise<number> {
  // Samba's own option syntax and exit codes: its own parser (net-witness.ts).
  if (args[0] === 'net-witness') return netWitnessMain(args.slice(1), io);
  let action: Action | undefined;
  let usageError: string | undefined;
  let helpText: string | undefined;
  let g: Global | undefined;
  try {
    const parser = buildParser(args, io.env, (a) => {
      action = a;
    }, io);
    await new Promise<void>((resolve) => {
      void parser
        .fail((msg, err) => {
          usageError = err instanceof UsageError ? err.message : msg || err?.message || 'bad usage';
          throw err ?? new UsageError(usageError);
        })
        .parseAsync(args, {}, (err, argv, output) => {
          if (err && usageError === undefined) usageError = err.message;
          if (!err && output) helpText = output;
          if (!err) g = { admin: String(argv.admin), token: tokenFrom(argv, io.env), json: Boolean(argv.json), timeout: Number(argv.timeout), local: Boolean(argv.local) };
          resolve();
        })
        .catch((e: Error) => {
          if (usageError === undefined) usageError = e.message;
          resolve();
        });
    });
  } catch (e) {
    usageError = (e as Error).message;
  }
  // Under --json every error is one JSON object too (on stderr; stdout stays for answers).
  const json = g?.json ?? args.includes('--json');
  const fail = (code: number, message: string, status?: number): number => {
    io.err(json ? printableJson(JSON.stringify({ error: message, exitCode: code, ...(status ? { status } : {}) })) : printableLines(`witnessctl: ${message}`));
    return code;
  };
  if (usageError !== undefined) return fail(2, `${usageError.split('\n')[0]}${json ? '' : ' (witnessctl --help)'}`);
  if (helpText !== undefined) {
    io.out(helpText);
    return 0;
  }
  if (!action || !g) return fail(2, 'give a command (witnessctl --help lists them)');
  try {
    const client = new AdminClient({ url: g.admin, token: g.token, timeoutMs: g.timeout });
    const r = await action(client, g);
    // Client names come from the network: no terminal escape, bidi override or line break of theirs reaches the screen.
    io.out(g.json ? printableJson(JSON.stringify(r.json, null, 2)) : printableLines(r.text));
    return 0;
  } catch (e) {
    if (e instanceof AdminError) return fail(e.status === 0 ? 3 : 1, e.message, e.status || undefined);
    return fail(1, (e as Error).message);
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
