/**
 * The subunit parser the smbtorture tests rely on (no peer needed): statuses, bracketed
 * reasons, and tests that started but never finished (a crashed smbtorture).
 */
import { parseSubunit } from './helpers/smbtorture';

describe('parseSubunit (smbtorture output)', () => {
  it('reads success, failure with a multi-line reason, error and skip', () => {
    const text = [
      'smbtorture 4.17.12-Debian',
      'time: 2026-11-22 00:19:17.176303',
      'test: witness.GetInterfaceList',
      'success: witness.GetInterfaceList',
      'test: witness.Register',
      'assuming SOFS share: data',
      'failure: witness.Register [',
      '../../source4/torture/rpc/witness.c:80: failed to setup srvsvc connection',
      'second line',
      ']',
      'test: witness.UnRegister',
      'error: witness.UnRegister [',
      'NT_STATUS_CONNECTION_REFUSED',
      ']',
      'test: witness.RegisterEx',
      'skip: witness.RegisterEx [',
      'not today',
      ']',
    ].join('\n');
    expect(parseSubunit(text)).toEqual([
      { name: 'witness.GetInterfaceList', status: 'success', reason: '' },
      { name: 'witness.Register', status: 'failure', reason: '../../source4/torture/rpc/witness.c:80: failed to setup srvsvc connection\nsecond line' },
      { name: 'witness.UnRegister', status: 'error', reason: 'NT_STATUS_CONNECTION_REFUSED' },
      { name: 'witness.RegisterEx', status: 'skip', reason: 'not today' },
    ]);
  });

  it('reports a test that started but never finished as an error', () => {
    const r = parseSubunit('test: witness.AsyncNotify\nTesting Async Notify with timeout of 0 milliseconds');
    expect(r).toEqual([{ name: 'witness.AsyncNotify', status: 'error', reason: 'started but never finished (crash or timeout?)' }]);
  });
});
