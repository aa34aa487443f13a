/** The one rate limit for lines a peer causes: a budget per message per second, and the count of those left out. */
import pino from 'pino';
import { LogLimiter, PEER_LINES_PER_SECOND, limitedLog } from '../../../src/lib/log-limit';

describe('LogLimiter', () => {
  it('lets PEER_LINES_PER_SECOND lines of one message through per second, then says how many it left out', () => {
    let now = 0;
    const l = new LogLimiter(PEER_LINES_PER_SECOND, () => now);
    const taken = Array.from({ length: 1000 }, () => l.take('call below the minimum auth level'));
    expect(taken.filter((t) => t !== false)).toHaveLength(PEER_LINES_PER_SECOND);
    expect(l.take('another message')).toBe(0); // each message has its own budget
    now += 1000;
    expect(l.take('call below the minimum auth level')).toBe(1000 - PEER_LINES_PER_SECOND);
    expect(l.take('registration', 100)).toBe(0);
  });

  it('limitedLog: a flood of 100,000 lines from 3 messages writes at most 3 x the budget a second; debug is not limited', () => {
    const lines: string[] = [];
    const log = pino({ level: 'debug' }, { write: (s: string) => lines.push(s) });
    const peer = limitedLog(log.child({ conn: 1 }), new LogLimiter(), { registration: 50 });
    for (let i = 0; i < 100_000; i++) {
      peer.info({ i }, 'call below the minimum auth level');
      peer.warn({ i }, 'protocol violation; closing');
      peer.info({ i }, 'registration');
    }
    peer.debug({}, 'dbg');
    peer.debug({}, 'dbg');
    const msgs = lines.map((l) => JSON.parse(l) as { msg: string; conn: number });
    expect(msgs.filter((m) => m.msg === 'call below the minimum auth level')).toHaveLength(PEER_LINES_PER_SECOND);
    expect(msgs.filter((m) => m.msg === 'registration')).toHaveLength(50);
    expect(msgs.filter((m) => m.msg === 'dbg')).toHaveLength(2);
    expect(msgs.every((m) => m.conn === 1)).toBe(true); // the child's bindings stay
    expect(lines.length).toBeLessThanOrEqual(2 * PEER_LINES_PER_SECOND + 50 + 2 + 10); // +10: a second boundary during the loop
  });
});
