/**
 * witnessd: the daemon. `npm start` (no arguments) runs the embedded demo cluster.
 *
 *   witnessd [--config FILE] [--check-config] [--print-demo-config] [--log-level LEVEL]
 *   witnessd --print-ctdb-config [--smb-conf FILE]   a configuration for one node of a CTDB cluster
 *   witnessd --config FILE --ctdb-socket PATH
 */
import { randomBytes } from 'node:crypto';
import yargs from 'yargs';
import { ConfigError, DEMO_CONFIG_YAML, demoConfig, loadConfig, type WitnessdConfig } from '../config';
import { ctdbConfigTemplate, CTDB_DEFAULT_SOCKET } from '../config';
import { startWitnessd, type Witnessd } from './daemon';
import { createLogger, LOG_FORMATS, type LogFormat } from './logging';

/**
 * The demo's try-it flow, exactly as a person can type it: one rpcclient command that lists
 * the interfaces, an interactive rpcclient (Register, then AsyncNotify with the handle it
 * printed) at the SFO partner's LIF, and the witnessctl line that fires the failure.
 */
export function demoBanner(d: Witnessd): string {
  const svm = d.config.svms[0];
  const [failing, partner] = d.config.nodes;
  const lifOn = (node: string) => svm.lifs.find((l) => l.currentNode === node)?.ipv4 ?? d.addresses[0];
  const clientIp = lifOn(failing.name); // the LIF the client uses for SMB, on the node that fails
  const witnessIp = lifOn(partner?.name ?? failing.name); // GetInterfaceList's witness interface: the partner's LIF
  const epm = d.epmEndpoint ? `port ${d.epmEndpoint.port}` : 'off (listener.epmPort is 0)';
  return [
    '',
    `witnessd is serving the Witness interface (MS-SWN) on ${d.addresses.join(', ')} port ${d.witnessEndpoint.port} (embedded demo cluster)`,
    `  endpoint mapper: ${epm}; admin API: ${d.admin.url}`,
    `  cluster: ${d.config.nodes.map((n) => `${n.name}${n.partner ? ` (SFO partner ${n.partner})` : ''}`).join(', ')}; ` +
      `SVM ${svm.name} = CIFS server ${svm.netbiosName} / ${svm.dnsName}`,
    '',
    'Try it with Samba\'s rpcclient (it finds the witness port through the endpoint mapper):',
    `  rpcclient -s /dev/null -U% ncacn_ip_tcp:${clientIp} -c GetInterfaceList`,
    `  rpcclient -s /dev/null -U% ncacn_ip_tcp:${witnessIp}`,
    `  rpcclient $> Register -n ${svm.netbiosName} -i ${clientIp} -c myhost`,
    '  0:<the handle it prints>',
    '  rpcclient $> AsyncNotify 0:<the handle it printed>     (waits for a notification)',
    "  (with credentials instead of -U%: -U 'DEMO\\demo%demo-password' 'ncacn_ip_tcp:" + witnessIp + "[sign]')",
    '',
    'Then, in another terminal, fail the node and watch the waiting AsyncNotify print it:',
    `  npm run witnessctl -- node fail ${failing.name}`,
    `  npm run witnessctl -- node recover ${failing.name}`,
    '  npm run witnessctl -- status',
    '',
  ].join('\n');
}

/** Under --config: one line for the service log. */
export function startupSummary(d: Witnessd): string {
  const epm = d.epmEndpoint ? `, endpoint mapper port ${d.epmEndpoint.port}` : '';
  return `witnessd is serving ${d.config.source}: Witness on ${d.addresses.join(', ')} port ${d.witnessEndpoint.port}${epm}, ` +
    `admin API ${d.admin.url}, ${d.config.nodes.length} node(s), watcher ${d.config.watcher.mode}, ` +
    `anonymous ${d.config.auth.allowAnonymous ? 'ON' : 'off'}, minimum auth level ${d.config.auth.minimumLevel}\n`;
}

export async function main(argv: string[]): Promise<void> {
  // `witnessd --print-demo-config | head` closes our stdout early: that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const args = await yargs(argv)
    .scriptName('witnessd')
    .usage('$0 [--config FILE]\n\nServes the Service Witness Protocol beside an SMB 3 server. Without --config it runs the embedded demo cluster.')
    .option('config', { alias: 'c', type: 'string', describe: 'YAML configuration file (default: the embedded demo)' })
    .option('check-config', { type: 'boolean', default: false, describe: 'validate the configuration, print deployment findings and exit' })
    .option('print-demo-config', { type: 'boolean', default: false, describe: 'print the embedded demo configuration (a starting point for your own) and exit' })
    .option('log-format', { type: 'string', choices: LOG_FORMATS, default: 'auto', describe: 'log lines: JSON, or human (pretty); auto = pretty on a terminal' })
    .option('print-ctdb-config', { type: 'boolean', default: false, describe: "print a configuration for one node of a CTDB cluster (names and CA shares from Samba's smb.conf, a fresh admin token) and exit" })
    .option('smb-conf', { type: 'string', describe: "Samba's configuration for --print-ctdb-config and --check-config (read with testparm; default: Samba's own smb.conf)" })
    .option('ctdb-socket', { type: 'string', describe: `CTDB mode: ctdbd's Unix socket (default: cluster.socket, else $CTDB_SOCKET, else ${CTDB_DEFAULT_SOCKET})` })
    .option('log-level', { type: 'string', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], describe: 'override logging.level' })
    .strict()
    .help()
    .parseAsync();

  if (args['print-demo-config']) {
    process.stdout.write(DEMO_CONFIG_YAML);
    return;
  }
  if (args['print-ctdb-config']) {
    const { readSambaConf, sambaFacts } = await import('./smb-conf');
    let facts;
    try {
      facts = sambaFacts(await readSambaConf(args['smb-conf']));
    } catch (e) {
      // A file named on the command line must be read; without one the template says what to fill in.
      process.stderr.write(`witnessd: ${(e as Error).message}${args['smb-conf'] ? '' : ' (the configuration printed has placeholder names)'}\n`);
      if (args['smb-conf']) process.exit(1);
    }
    process.stdout.write(ctdbConfigTemplate(randomBytes(24).toString('base64url'), facts));
    for (const note of facts?.notes ?? []) process.stderr.write(`witnessd: ${note}\n`);
    return;
  }

  let config: WitnessdConfig;
  try {
    config = args.config ? loadConfig(args.config) : demoConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      // Exit 1, as --check-config's "would not work" (the README's contract: 1 = this configuration does not work).
      process.stderr.write(`witnessd: invalid configuration:\n${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  if (args['log-level']) config = { ...config, logging: { ...config.logging, level: args['log-level'] as WitnessdConfig['logging']['level'] } };

  if (args['check-config']) {
    const { checkConfig, formatCheck } = await import('./check-config');
    const r = formatCheck(args.config ?? '(embedded demo)', await checkConfig(config, { file: args['smb-conf'], ctdbSocket: args['ctdb-socket'] }));
    process.stdout.write(r.text);
    process.exit(r.code);
  }

  const logger = createLogger(config.logging.level, args['log-format'] as LogFormat);
  let daemon: Witnessd;
  try {
    if (args['ctdb-socket'] && config.cluster.source !== 'ctdb') throw new Error('--ctdb-socket needs a configuration with cluster.source: ctdb');
    daemon = await startWitnessd(config, { configPath: args.config, logger, ...(args['ctdb-socket'] ? { ctdbSocket: args['ctdb-socket'] } : {}) });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const hint = e.code === 'EACCES' ? ' (ports below 1024, like the endpoint mapper\'s 135, need root or CAP_NET_BIND_SERVICE)'
      : e.code === 'EADDRINUSE' ? ' (another endpoint mapper or witnessd already listens there)'
      : e.code === 'EADDRNOTAVAIL' ? ' (that address is not configured on this machine)' : '';
    logger.fatal({ err }, 'witnessd could not start');
    process.stderr.write(`witnessd: cannot start: ${e.message}${hint}\n`);
    process.exit(1);
  }
  if (config.auth.allowAnonymous) logger.warn('auth.allowAnonymous is on: calls without authentication are accepted');
  process.stderr.write(args.config ? startupSummary(daemon) : demoBanner(daemon));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: answering pending calls, closing listeners');
    // Hard bound: the process is gone within 5 s whatever a peer does.
    setTimeout(() => process.exit(1), 5000).unref();
    daemon.close().then(() => process.exit(0), (err) => {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // The same reload as witnessctl reload: it logs its outcome and records it for status and /metrics.
  process.on('SIGHUP', () => {
    daemon.reload().catch(() => undefined);
  });
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`witnessd: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
