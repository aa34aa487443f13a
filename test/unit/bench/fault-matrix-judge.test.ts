/** How the fault matrix judges one fault's records (scripts/lib/fault-matrix.ts judgeFault): told, duplicates, false, lost. */
import { judgeFault, type Fault } from '../../../scripts/lib/fault-matrix';
import type { ClientRecord } from '../../../scripts/lib/fault-fleet';

const fault = (mustTell: Fault['mustTell']): Fault => ({ name: 'f', mustTell, ctdbAlone: '-', settleMs: 0, run: async () => 0 });
const N = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
const IP = ['10.0.0.31', '10.0.0.32', '10.0.0.33'];
const placed = new Map(IP.map((ip, i) => [ip, i]));
const rec = (host: number, ip: number, kinds: string[], lost?: string): ClientRecord => ({ target: { host: N[host], ip: IP[ip] }, told: kinds.map((kind, i) => ({ at: 1000 + 100 * i, kind })), reregistered: 0, lost });

describe('judgeFault', () => {
  it('times the last affected client at a spared node; counts what it was told first', () => {
    const r = judgeFault(fault(true), [rec(1, 0, ['RESOURCE_CHANGE/UNAVAILABLE']), rec(2, 0, ['CLIENT_MOVE', 'RESOURCE_CHANGE/AVAILABLE']), rec(1, 2, [])], 900, [0], placed, new Map(), N, true);
    expect({ told: r.told, affected: r.affected, last: r.lastToldMs, kinds: r.kinds, false: r.falseNotifications }).toEqual({ told: 2, affected: 2, last: 100, kinds: { 'RESOURCE_CHANGE/UNAVAILABLE': 1, CLIENT_MOVE: 1 }, false: 0 });
  });

  it('a notification for an IP neither faulted nor moved is false; for a fault that must tell nothing, any is', () => {
    expect(judgeFault(fault(true), [rec(0, 1, ['RESOURCE_CHANGE/UNAVAILABLE'])], 900, [0], placed, new Map(), N, true).falseNotifications).toBe(1);
    expect(judgeFault(fault(false), [rec(1, 0, ['RESOURCE_CHANGE/UNAVAILABLE'])], 900, [0], placed, new Map(), N, true).falseNotifications).toBe(1);
    // CTDB moved IP 1 during the window: its clients' notifications are not false.
    expect(judgeFault(fault(false), [rec(0, 1, ['CLIENT_MOVE'])], 900, [0], placed, new Map([[IP[1], new Set([1, 2])]]), N, true).falseNotifications).toBe(0);
    // 'either': the faulted node's clients may be told.
    expect(judgeFault(fault('either'), [rec(1, 0, ['RESOURCE_CHANGE/UNAVAILABLE'])], 900, [0], placed, new Map(), N, true).falseNotifications).toBe(0);
  });

  it('a duplicate is the same notification twice in a row to one registration, not across a new registration', () => {
    const r = judgeFault(fault(true), [
      rec(1, 0, ['RESOURCE_CHANGE/UNAVAILABLE', 'RESOURCE_CHANGE/UNAVAILABLE']),
      rec(2, 0, ['RESOURCE_CHANGE/UNAVAILABLE', 'not-found', 'RESOURCE_CHANGE/UNAVAILABLE']),
    ], 900, [0], placed, new Map(), N, true);
    expect(r.duplicates).toBe(1);
  });

  it('counts lost registrations', () => {
    expect(judgeFault(fault(true), [rec(1, 0, ['closed'], 'could not register again')], 900, [0], placed, new Map(), N, true).lost).toBe(1);
  });
});
