/** IDL lexer: identifiers, numbers, strings, punctuation; comments and preprocessor lines. */
import { IdlError, SrcPos } from './errors';

export type TokKind = 'ident' | 'number' | 'string' | 'punct' | 'eof';

export interface Token extends SrcPos {
  kind: TokKind;
  text: string;
  /** Offsets into the source (used to take raw text, e.g. an unquoted uuid). */
  start: number;
  end: number;
}

const PUNCT3 = ['<<=', '>>='];
const PUNCT2 = ['<<', '>>', '==', '!=', '<=', '>=', '&&', '||', '->'];
const PUNCT1 = '[](){};,*=:<>+-/%&|^~!?.';

export interface Define {
  name: string;
  tokens: Token[];
  pos: SrcPos;
}

/**
 * Tokenize one file. `#define NAME tokens` lines are returned separately (the parser turns
 * them into constants); `#pragma` lines are ignored; any other directive is an error.
 */
export function lex(file: string, src: string): { tokens: Token[]; defines: Define[] } {
  const tokens: Token[] = [];
  const defines: Define[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  let atLineStart = true;
  const pos = (): SrcPos => ({ file, line, col: i - lineStart + 1 });
  const err = (msg: string): never => {
    throw new IdlError(file, line, i - lineStart + 1, msg);
  };

  while (i < src.length) {
    const c = src[i];
    if (c === '\n') {
      line++; i++; lineStart = i; atLineStart = true;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') { i++; continue; }
    if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const p = pos();
      i += 2;
      while (i < src.length && !(src[i] === '*' && src[i + 1] === '/')) {
        if (src[i] === '\n') { line++; lineStart = i + 1; }
        i++;
      }
      if (i >= src.length) throw new IdlError(file, p.line, p.col, 'unterminated comment');
      i += 2;
      continue;
    }
    if (c === '#' && atLineStart) {
      const p = pos();
      let j = i;
      // A directive runs to the end of the line (backslash continuations allowed).
      let text = '';
      while (j < src.length && src[j] !== '\n') {
        if (src[j] === '\\' && src[j + 1] === '\n') { text += ' '; j += 2; line++; lineStart = j; continue; }
        text += src[j++];
      }
      const m = /^#\s*(\w+)\s*(.*)$/.exec(text);
      const directive = m ? m[1] : '';
      if (directive === 'define') {
        const dm = /^(\w+)\s*(.*)$/.exec(m![2]);
        if (!dm) throw new IdlError(file, p.line, p.col, 'expected a name after #define');
        const bodyCol = p.col + text.indexOf(dm[2]);
        const sub = lex(file, ' '.repeat(Math.max(0, bodyCol - 1)) + dm[2]).tokens.filter((t) => t.kind !== 'eof');
        for (const t of sub) t.line = p.line;
        defines.push({ name: dm[1], tokens: sub, pos: p });
      } else if (directive !== 'pragma') {
        throw new IdlError(file, p.line, p.col, `unsupported preprocessor directive #${directive || text.slice(1)} (only #define and #pragma are supported)`);
      }
      i = j;
      continue;
    }
    atLineStart = false;
    const p = pos();
    const start = i;
    if (/[A-Za-z_]/.test(c)) {
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i])) i++;
      tokens.push({ kind: 'ident', text: src.slice(start, i), start, end: i, ...p });
      continue;
    }
    if (/[0-9]/.test(c)) {
      if (c === '0' && (src[i + 1] === 'x' || src[i + 1] === 'X')) {
        i += 2;
        while (i < src.length && /[0-9A-Fa-f]/.test(src[i])) i++;
      } else {
        while (i < src.length && /[0-9.]/.test(src[i])) i++;
      }
      while (i < src.length && /[uUlL]/.test(src[i])) i++;
      // Hex-looking runs like the pieces of an unquoted uuid: keep them whole.
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i])) i++;
      tokens.push({ kind: 'number', text: src.slice(start, i), start, end: i, ...p });
      continue;
    }
    if (c === '"') {
      i++;
      let s = '';
      while (i < src.length && src[i] !== '"') {
        if (src[i] === '\n') err('unterminated string');
        if (src[i] === '\\') { s += src[i + 1]; i += 2; continue; }
        s += src[i++];
      }
      if (i >= src.length) err('unterminated string');
      i++;
      tokens.push({ kind: 'string', text: s, start, end: i, ...p });
      continue;
    }
    if (c === "'") {
      // character constant: an integer
      const m = /^'(\\?.)'/.exec(src.slice(i));
      if (!m) err('bad character constant');
      const ch = m![1].length === 2 ? ({ n: '\n', t: '\t', '0': '\0' } as Record<string, string>)[m![1][1]] ?? m![1][1] : m![1];
      i += m![0].length;
      tokens.push({ kind: 'number', text: String(ch.charCodeAt(0)), start, end: i, ...p });
      continue;
    }
    const three = src.slice(i, i + 3);
    const two = src.slice(i, i + 2);
    if (PUNCT3.includes(three)) { i += 3; tokens.push({ kind: 'punct', text: three, start, end: i, ...p }); continue; }
    if (PUNCT2.includes(two)) { i += 2; tokens.push({ kind: 'punct', text: two, start, end: i, ...p }); continue; }
    if (PUNCT1.includes(c)) { i++; tokens.push({ kind: 'punct', text: c, start, end: i, ...p }); continue; }
    err(`unexpected character ${JSON.stringify(c)}`);
  }
  tokens.push({ kind: 'eof', text: '<end of file>', start: i, end: i, ...pos() });
  return { tokens, defines };
}
