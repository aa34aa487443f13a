/** The heartbeat datagram: signed with the cluster's key, refused when forged, garbled, old or from another cluster. */
import { createHmac } from 'node:crypto';
import { beatKey, decodeBeat, encodeBeat, type Beat } from '../../../src/cluster/peers/heartbeat';

const key = beatKey('the-cluster-admin-token');
const beat: Beat = { from: 'pnn1', inc: 'abcd', seq: 7, at: 1_000_000, smb: { pnn0: 'silent', pnn1: 'serving' } };

describe('heartbeat datagram', () => {
  it('round-trips', () => {
    expect(decodeBeat(encodeBeat(beat, key), key, 1_000_100)).toEqual(beat);
  });

  it('is refused with another cluster\'s token', () => {
    expect(decodeBeat(encodeBeat(beat, beatKey('another-cluster-token')), key, 1_000_100)).toMatch(/signature/);
  });

  it('is refused when one byte changed', () => {
    const d = encodeBeat(beat, key);
    d[d.length - 3] ^= 1;
    expect(decodeBeat(d, key, 1_000_100)).toMatch(/signature/);
  });

  it('is refused when old (a replay) or from a clock far ahead', () => {
    expect(decodeBeat(encodeBeat(beat, key), key, 1_000_000 + 60_000)).toMatch(/replay/);
    expect(decodeBeat(encodeBeat(beat, key), key, 1_000_000 - 60_000)).toMatch(/replay/);
  });

  it('refuses signed garbage: bad shape, unknown judgements, absurd sizes', () => {
    const signed = (o: unknown) => {
      const body = Buffer.from(JSON.stringify(o));
      return Buffer.concat([createHmac('sha256', key).update(body).digest(), body]);
    };
    expect(decodeBeat(signed({ ...beat, v: 1, smb: { pnn0: 'maybe' } }), key, 1_000_000)).toBe('bad view');
    expect(decodeBeat(signed({ ...beat, v: 1, seq: -1 }), key, 1_000_000)).toMatch(/sequence/);
    expect(decodeBeat(signed({ ...beat, v: 2 }), key, 1_000_000)).toMatch(/version/);
    expect(decodeBeat(signed({ ...beat, v: 1, from: '' }), key, 1_000_000)).toMatch(/sender/);
    expect(decodeBeat(Buffer.alloc(10), key, 1_000_000)).toMatch(/length/);
    expect(decodeBeat(Buffer.alloc(9000), key, 1_000_000)).toMatch(/length/);
    const notJson = Buffer.from('{{{');
    expect(decodeBeat(Buffer.concat([createHmac('sha256', key).update(notJson).digest(), notJson]), key, 1_000_000)).toBe('not JSON');
  });
});
