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
