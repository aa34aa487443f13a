/**
 * NDR64 from an independent implementation: impacket (python3-impacket) binds the Witness
 * interface with the NDR64 transfer syntax only and marshals its own NDR64: WitnessrRegister,
 * WitnessrAsyncNotify answered with a RESOURCE_CHANGE (the hand-written MessageBuffer override
 * in NDR64; the record bytes are checked exactly), WitnessrUnRegister. The daemon's assembly
 * runs in-process (scripts/drill-witnessd.ts) so the test can fail the node at the right time.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeWithPeers, peerPath, startTool } from './helpers';
import { startTestWitnessd, type TestWitnessd } from '../../scripts/drill-witnessd';

const HOST = '127.0.0.11';

const SCRIPT = `import sys
from impacket.dcerpc.v5 import transport
from impacket.dcerpc.v5.ndr import NDRCALL, NDRSTRUCT, NDRPOINTER, NDRUniConformantArray
from impacket.dcerpc.v5.dtypes import DWORD, LPWSTR
from impacket.uuid import uuidtup_to_bin
WITNESS = uuidtup_to_bin(('ccd8c074-d0e5-4a40-92b4-d074faa6ba28', '1.1'))
NDR64 = ('71710533-beba-4937-8319-b5dbef9ccc36', '1.0')
class CONTEXT_HANDLE(NDRSTRUCT):
    structure = (('Data', '20s=b""'),)
    def getAlignment(self): return 4
class WitnessrRegister(NDRCALL):
    opnum = 1
    structure = (('Version', DWORD), ('NetName', LPWSTR), ('IpAddress', LPWSTR), ('ClientComputerName', LPWSTR))
class WitnessrRegisterResponse(NDRCALL):
    structure = (('ppContext', CONTEXT_HANDLE), ('ErrorCode', DWORD))
class WitnessrUnRegister(NDRCALL):
    opnum = 2
    structure = (('pContext', CONTEXT_HANDLE),)
class WitnessrUnRegisterResponse(NDRCALL):
    structure = (('ErrorCode', DWORD),)
class BYTE_ARRAY(NDRUniConformantArray):
    item = 'c'
class PBYTE_ARRAY(NDRPOINTER):
    referent = (('Data', BYTE_ARRAY),)
class RESP_ASYNC_NOTIFY(NDRSTRUCT):
    structure = (('MessageType', DWORD), ('Length', DWORD), ('NumberOfMessages', DWORD), ('MessageBuffer', PBYTE_ARRAY))
class PRESP_ASYNC_NOTIFY(NDRPOINTER):
    referent = (('Data', RESP_ASYNC_NOTIFY),)
class WitnessrAsyncNotify(NDRCALL):
    opnum = 3
    structure = (('pContext', CONTEXT_HANDLE),)
class WitnessrAsyncNotifyResponse(NDRCALL):
    structure = (('pResp', PRESP_ASYNC_NOTIFY), ('ErrorCode', DWORD))

host, port, net, ip = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
t = transport.DCERPCTransportFactory('ncacn_ip_tcp:%s[%d]' % (host, port))
t.set_connect_timeout(10)
dce = t.get_dce_rpc(); dce.connect(); dce.bind(WITNESS, transfer_syntax=NDR64)
r = WitnessrRegister(); r['Version'] = 0x10001; r['NetName'] = net + '\\x00'; r['IpAddress'] = ip + '\\x00'; r['ClientComputerName'] = 'IMPACKET64\\x00'
resp = dce.request(r)
print('REGISTER', resp['ErrorCode'], bytes(resp['ppContext'] if isinstance(resp['ppContext'], (bytes, bytearray)) else resp['ppContext'].getData()).hex(), flush=True)
a = WitnessrAsyncNotify(); a['pContext'] = resp['ppContext']
print('WAITING', flush=True)
n = dce.request(a)
mb = n['pResp']['MessageBuffer']; buf = b''.join(mb if isinstance(mb, list) else mb['Data'])
print('NOTIFY', n['ErrorCode'], n['pResp']['MessageType'], n['pResp']['Length'], n['pResp']['NumberOfMessages'], buf.hex())
u = WitnessrUnRegister(); u['pContext'] = resp['ppContext']
print('UNREGISTER', dce.request(u)['ErrorCode'])
dce.disconnect()
`;

describeWithPeers('NDR64 with impacket (Register, AsyncNotify, UnRegister)', ['impacket'], () => {
  let d: TestWitnessd;
  let dir = '';

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'witness-imp64-'));
    d = await startTestWitnessd({ epmPort: 135 });
  }, 30_000);
  afterAll(async () => {
    await d?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('registers, is notified (node2 fails: SOFS unavailable) and unregisters over NDR64', async () => {
    const script = path.join(dir, 'witness_ndr64.py');
    fs.writeFileSync(script, SCRIPT);
    const t = startTool(peerPath('impacket')!, [script, HOST, String(d.witnessPort), 'SOFS', '127.0.0.12'], { timeoutMs: 60_000, cwd: dir });
    let failed = false;
    try {
      await t.waitFor((o) => /WAITING/.test(o), 30_000, 'the AsyncNotify to be sent');
      const end = Date.now() + 10_000;
      while (d.witness.service.counts().pendingAsyncNotify < 1) {
        if (Date.now() > end) throw new Error(`AsyncNotify never arrived\n${t.stdout}\n${t.stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      d.model.failNode('node2');
      failed = true;
      const { code } = await t.exited;
      const why = `\n--- stdout ---\n${t.stdout}\n--- stderr ---\n${t.stderr}`;
      expect({ code, why }).toEqual({ code: 0, why });
      expect(t.stdout).toMatch(/^REGISTER 0 00000000[0-9a-f]{32}$/m);
      // RESOURCE_CHANGE_NOTIFICATION, one record of 18 bytes: Length, ChangeType 0xFF (unavailable), "SOFS\0" in UTF-16LE
      expect(t.stdout).toContain('NOTIFY 0 1 18 1 12000000ff00000053004f00460053000000');
      expect(t.stdout).toContain('UNREGISTER 0');
    } finally {
      if (failed) d.model.recoverNode('node2');
      await t.stop(5000);
    }
  }, 70_000);
});
