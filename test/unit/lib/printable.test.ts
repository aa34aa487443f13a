/** Peer text on a human's screen: control and bidi characters escaped, long text cut with its length said. */
import { hasUnprintable, printable, printableJson, printableLines } from '../../../src/lib/printable';

describe('printable', () => {
  it('escapes ESC, BEL, CR/LF, DEL, C1 and the bidi controls, and keeps ordinary text (accents, CJK) as it is', () => {
    expect(printable('host\u001b]0;pwned\u0007\r\nnext\u007f\u009b')).toBe('host\\x1b]0;pwned\\x07\\x0d\\x0anext\\x7f\\x9b');
    expect(printable('abc\u202Efdp.exe\u2066x\u2069\u200f')).toBe('abc\\u{202e}fdp.exe\\u{2066}x\\u{2069}\\u{200f}');
    expect(printable('Zürich-東京.example')).toBe('Zürich-東京.example');
    expect(hasUnprintable('hv01.demo.local')).toBe(false);
    expect(hasUnprintable('a\u202eb')).toBe(true);
    expect(hasUnprintable('a\u202eb')).toBe(true); // the global regex keeps no state between calls
  });

  it('cuts long text and says how long it was', () => {
    expect(printable('x'.repeat(100), 10)).toBe(`${'x'.repeat(10)}…(100 chars)`);
    expect(printable('short', 10)).toBe('short');
  });

  it('keeps the line breaks of multi-line output and escapes those inside a line; JSON stays valid JSON', () => {
    expect(printableLines('a\u001b[2J\nb')).toBe('a\\x1b[2J\nb');
    const j = printableJson(JSON.stringify({ client: 'x\u202e\u009by\u001b' }, null, 2));
    expect(j).not.toMatch(/[\u202e\u009b\u001b]/);
    expect(JSON.parse(j)).toEqual({ client: 'x\u202e\u009by\u001b' });
  });
});

describe('witnessctl tables (admin/format.ts)', () => {
  it('a client name with ESC, OSC, BEL, CR/LF or U+202E prints escaped on one line, a long one cut', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { formatRegistrations } = require('../../../src/admin/format') as typeof import('../../../src/admin/format');
    const text = formatRegistrations([
      { id: 'a', version: 0x00010001, clientName: 'hv\u001b]0;owned\u0007\r\nFAKE LINE\u202e', netName: 'SOFS', ipAddress: '127.0.0.11', lif: 'lif1' },
      { id: 'b', version: 0x00010001, clientName: 'x'.repeat(5000), netName: 'SOFS', ipAddress: '127.0.0.11', lif: 'lif1' },
    ] as never);
    const lines = text.split('\n');
    expect(lines).toHaveLength(3);
    expect(text).not.toMatch(/[\u001b\u0007\r\u202e]/);
    expect(lines[1]).toContain('hv\\x1b]0;owned\\x07\\x0d\\x0aFAKE LINE\\u{202e}');
    expect(lines[2].length).toBeLessThan(400);
  });
});
