/** The daemon's log lines (issue 13 item 5): ISO time, no key twice, pretty on request. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
// Each case runs in a child so that the logger writes to a real stdout (a pipe: not a TTY).
function logLines(format: string): string {
  const script = `
    const { createLogger } = require('./src/cli/logging');
    const log = createLogger('info', ${JSON.stringify(format)}).child({ room: 'rpc' });
    log.info({ authLevel: 2, minAuthLevel: 5, iface: 'witness' }, 'call below the minimum auth level');`;
  const r = spawnSync(process.execPath, ['-r', require.resolve('ts-node/register/transpile-only'), '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

it('auto on a pipe and json: one JSON object per line, each key once, ISO-8601 time', () => {
  for (const format of ['auto', 'json']) {
    const [line] = logLines(format).trim().split('\n');
    const keys = [...line.matchAll(/"([a-zA-Z]+)":/g)].map((m) => m[1]);
    expect(keys.length).toBe(new Set(keys).size);
    const o = JSON.parse(line);
    expect(o).toMatchObject({ level: 30, room: 'rpc', authLevel: 2, minAuthLevel: 5, msg: 'call below the minimum auth level' });
    expect(o.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
});

it('pretty: a human line with the time, the level name and the message', () => {
  const out = logLines('pretty');
  expect(() => JSON.parse(out.split('\n')[0])).toThrow();
  expect(out).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d{4}\] INFO: call below the minimum auth level/);
  expect(out).toMatch(/room: "rpc"/);
});
