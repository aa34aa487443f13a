/**
 * Peer text made safe for a human's screen: control characters (C0, DEL, C1: ESC, BEL, CR/LF,
 * the CSI that starts a terminal escape) and the bidi formatting characters (U+202E reorders
 * a line; Trojan Source, CVE-2021-42574) become visible escapes, and long text is cut with its
 * length said. witnessctl's text output, the log's copies of client strings and the status
 * page (src/admin/status/app.js keeps the same character class: it has no build step to import
 * this) go through it. JSON output keeps the data, with the same characters \u-escaped.
 */

/** C0 except nothing, DEL, C1; ALM, LRM/RLM, LRE..RLO, LRI..PDI, line/paragraph separators, BOM. */
export const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

/** Whether `s` has a character printable() would escape. */
export function hasUnprintable(s: string): boolean {
  UNPRINTABLE.lastIndex = 0;
  const found = UNPRINTABLE.test(s);
  UNPRINTABLE.lastIndex = 0;
  return found;
}

const escapeOne = (c: string): string => {
  const n = c.charCodeAt(0);
  return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
};

/** `s` with every unprintable character escaped, cut to `max` characters (with the full length said). */
export function printable(s: string, max = Infinity): string {
  const cut = s.length > max ? s.slice(0, max) : s;
  const safe = cut.replace(UNPRINTABLE, escapeOne);
  return cut === s ? safe : `${safe}…(${s.length} chars)`;
}

/** Text of several lines (witnessctl's output): each line made printable, the line breaks kept. */
export function printableLines(text: string): string {
  return text.split('\n').map((l) => printable(l)).join('\n');
}

/** What JSON.stringify leaves raw (it escapes C0 inside strings; these occur only inside strings). */
const UNPRINTABLE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

/** JSON text (from JSON.stringify) with the unprintable characters it leaves raw (DEL, C1, bidi) \u-escaped. */
export function printableJson(json: string): string {
  return json.replace(UNPRINTABLE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
