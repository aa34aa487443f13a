/**
 * /metrics of the assembled daemon is right in simulated mode (issue 13 item 9): a health
 * gauge for every node that follows the operator's fail/recover, notifications by type,
 * reloads by result (restart-reload.test.ts), refused authentications by reason.
 */
import pino from 'pino';
import { AdminClient } from '../../src/admin/client';
import { demoConfig } from '../../src/config';
import { startWitnessd, type Witnessd } from '../../src/cli/daemon';
import { RpcClient } from '../../src/client/rpc-client';
import { WITNESS_SYNTAX, witnessCalls } from '../../src/client/witness-calls';
import { RawConnection, call, ntlmsspSession } from './auth/raw-auth-client';

let d: Witnessd;
let admin: AdminClient;
const metric = async (line: string): Promise<number | undefined> => {
  const text = await admin.text('/metrics');
  const m = text.split('\n').find((l) => l.startsWith(`${line} `));
  return m === undefined ? undefined : Number(m.slice(line.length + 1));
};

beforeAll(async () => {
  const config = demoConfig();
  d = await startWitnessd({ ...config, listener: { ...config.listener, addresses: ['127.0.0.1'] } }, {
    logger: pino({ level: 'silent' }), epmPort: 0, witnessPort: 0, adminAddress: '127.0.0.1:0',
  });
  admin = new AdminClient({ url: d.admin.url });
});
afterAll(async () => { await d.close(); });

it('simulated mode: every node has a health gauge from the start, and it follows node fail / recover', async () => {
  expect(d.watcher.mode).toBe('simulated');
  expect(await metric('witnessd_node_healthy{node="node1"}')).toBe(1);
  expect(await metric('witnessd_node_healthy{node="node2"}')).toBe(1);
  await admin.post('/v1/nodes/node1/fail');
  expect(await metric('witnessd_node_healthy{node="node1"}')).toBe(0);
  expect(await metric('witnessd_node_healthy{node="node2"}')).toBe(1);
  expect(await metric('witnessd_node_state_changes_total{node="node1",to="down",by="operator"}')).toBe(1);
  await admin.post('/v1/nodes/node1/recover');
  expect(await metric('witnessd_node_healthy{node="node1"}')).toBe(1);
});

it('notifications are counted by type', async () => {
  const rpc = await RpcClient.connect({ host: '127.0.0.1', port: d.witnessEndpoint.port });
  try {
    await rpc.bind(WITNESS_SYNTAX);
    const r = await witnessCalls.register(rpc, { version: 0x10001, netName: 'SOFS', ipAddress: '127.0.0.11', clientName: 'METRICS' });
    expect(r.result).toBe(0);
    const before = (await metric('witnessd_notifications_total{type="RESOURCE_CHANGE"}')) ?? 0;
    const waiting = witnessCalls.asyncNotify(rpc, r.handle!);
    await new Promise((res) => setTimeout(res, 100));
    await admin.post('/v1/nodes/node1/fail');
    expect((await waiting).result).toBe(0);
    expect(await metric('witnessd_notifications_total{type="RESOURCE_CHANGE"}')).toBe(before + 1);
    await admin.post('/v1/nodes/node1/recover');
    await witnessCalls.unRegister(rpc, r.handle!);
  } finally {
    await rpc.close();
  }
});

it('refused authentications are counted by reason', async () => {
  for (const [user, password] of [['nobody', 'x'], ['demo', 'wrong']]) {
    const conn = await RawConnection.connect(d.witnessEndpoint.port, '127.0.0.1');
    try {
      const s = await ntlmsspSession(conn, WITNESS_SYNTAX, 5, user, password, 1, 'DEMO');
      expect((await call(s, 0, Buffer.alloc(0))).stub).toBeUndefined();
    } finally {
      conn.close();
    }
  }
  expect(await metric('witnessd_auth_failures_total{reason="unknown user"}')).toBe(1);
  expect(await metric('witnessd_auth_failures_total{reason="wrong password"}')).toBe(1);
});
