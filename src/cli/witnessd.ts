/**
 * witnessd: the daemon. `npm start` (no arguments) runs the embedded demo cluster.
 *
 *   witnessd [--config FILE] [--check-config] [--print-demo-config] [--log-level LEVEL]
 *   witnessd --print-ctdb-config          a configuration for one node of a CTDB cluster
 *   witnessd --config FILE --ctdb-socket PATH
 */
import { randomBytes } from 'node:crypto';
import yargs from 'yargs';
import pino from 'pino';
import { ConfigError, DEMO_CONFIG_YAML, demoConfig, loadConfig, type WitnessdConfig } from '../cluster';
import { ctdbConfigTemplate, CTDB_DEFAULT_SOCKET } from '../cluster/ctdb/config';
import { startWitnessd, type Witnessd } from './daemon';

function banner(d: Witnessd, demo: boolean): string {
  const svm = d.config.svms[0];
  const first = d.addresses[0] ?? '127.0.0.1';
  const nodes = d.model.nodes();
  const epm = d.epmEndpoint ? `port ${d.epmEndpoint.port}` : 'off (listener.epmPort is 0)';
  const lines = [
    '',
    `witnessd is serving the Witness interface (MS-SWN) on ${d.addresses.join(', ')} port ${d.witnessEndpoint.port}`,
    `  endpoint mapper: ${epm}; admin API: ${d.admin.url}`,
    (d.ctdb
      ? `  cluster: CTDB (${d.ctdb.status().socket}), this node ${d.ctdb.nodeName} (${d.ctdb.nodeAddress}); nodes ${nodes.map((n) => n.name).join(', ')}; `
      : `  cluster: ${nodes.map((n) => `${n.name}${n.partner ? ` (SFO partner ${n.partner})` : ''}`).join(', ')}; `) +
      `SVM ${svm.name} = CIFS server ${svm.netbiosName} / ${svm.dnsName}`,
    '',
    'Try it with a real client (Samba\'s rpcclient always asks the endpoint mapper on port 135 first):',
    `  rpcclient -s /dev/null -U% ncacn_ip_tcp:${first} -c GetInterfaceList`,
    `  rpcclient -s /dev/null -U% ncacn_ip_tcp:${first} -c 'Register --net ${svm.netbiosName} --ip ${first} --client myhost'`,
    '  then in an interactive rpcclient: AsyncNotify 0:<the guid Register printed>',
    ...(demo ? [`  with credentials: -U 'DEMO\\demo%demo-password' 'ncacn_ip_tcp:${first}[sign]'`] : []),
    '',
    'Fire a failure and watch the waiting client get told:',
    `  npm run witnessctl -- node fail ${nodes[0]?.name ?? 'NODE'}      (and: node recover, takeover, giveback, lif migrate, share move)`,
    '  npm run witnessctl -- status',
    '  npm run witnessctl -- registrations list',
    '',
  ];
  return lines.join('\n');
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
    .option('print-ctdb-config', { type: 'boolean', default: false, describe: 'print a configuration for one node of a CTDB cluster (with a fresh admin token) and exit' })
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
    process.stdout.write(ctdbConfigTemplate(randomBytes(24).toString('base64url')));
    return;
  }

  let config: WitnessdConfig;
  try {
    config = args.config ? loadConfig(args.config) : demoConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`witnessd: invalid configuration:\n${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (args['log-level']) config = { ...config, logging: { ...config.logging, level: args['log-level'] as WitnessdConfig['logging']['level'] } };

  if (args['check-config'] && config.ctdb) {
    process.stdout.write(`configuration ${args.config} is valid (CTDB mode: nodes and public IPs are read from ctdbd at start)\n`);
    process.exit(0);
  }
  if (args['check-config']) {
    const { ClusterModel } = await import('../cluster');
    const findings = new ClusterModel(config, { logger: pino({ level: 'silent' }) }).findings();
    for (const f of findings) process.stdout.write(`${f.severity}: ${f.message}\n`);
    process.stdout.write(`configuration ${args.config ?? '(embedded demo)'} is valid; ${findings.length} deployment finding(s)\n`);
    process.exit(findings.some((f) => f.severity === 'error') ? 1 : 0);
  }

  const logger = pino({ level: config.logging.level });
  let daemon: Witnessd;
  try {
    if (args['ctdb-socket'] && !config.ctdb) throw new Error('--ctdb-socket needs a configuration with cluster.source: ctdb');
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
  process.stderr.write(banner(daemon, !args.config));

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
  process.on('SIGHUP', () => {
    daemon.reload().then(
      (r) => logger.info({ source: r.source, events: r.events.length, findings: r.findings.length }, 'configuration reloaded'),
      (err) => logger.error({ err: err instanceof ConfigError ? err.message : err }, 'reload refused; the running configuration stays'),
    );
  });
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`witnessd: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
