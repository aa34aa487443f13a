/** Recursive-descent parser for the MIDL subset (see README in this folder). */
import type { Attr, BaseName, Declarator, Expr, Field, IdlFile, Item, Operation, TypeSpec, UnionArm } from './ast';
import { errorAt, SrcPos } from './errors';
import { Define, lex, Token } from './lexer';

const BASE_WORDS = new Set([
  'signed', 'unsigned', 'char', 'small', 'short', 'int', 'long', 'hyper', 'byte', 'boolean',
  'wchar_t', 'float', 'double', 'void', 'handle_t', 'error_status_t',
  '__int8', '__int16', '__int32', '__int64', '__int3264',
]);

export function parseIdl(file: string, src: string): IdlFile {
  const { tokens, defines } = lex(file, src);
  const p = new Parser(file, src, tokens);
  const items: Item[] = defines.map((d) => defineToConst(p, d));
  items.push(...p.parseItems(true));
  return { file, items };
}

function defineToConst(outer: Parser, d: Define): Item {
  if (d.tokens.length === 0) throw errorAt(d.pos, `#define ${d.name} has no value`);
  const sub = new Parser(outer.file, outer.src, [...d.tokens, { ...d.tokens[d.tokens.length - 1], kind: 'eof', text: '<end of #define>' }]);
  const value = sub.parseExpr();
  sub.expectEof();
  return { k: 'const', type: { k: 'base', name: 'i64', pos: d.pos }, stars: 0, name: d.name, value, pos: d.pos };
}

class Parser {
  private i = 0;
  constructor(readonly file: string, readonly src: string, private readonly toks: Token[]) {}

  private get t(): Token {
    return this.toks[this.i];
  }
  private peek(n = 1): Token {
    return this.toks[Math.min(this.i + n, this.toks.length - 1)];
  }
  private next(): Token {
    const t = this.toks[this.i];
    if (t.kind !== 'eof') this.i++;
    return t;
  }
  private is(text: string): boolean {
    return (this.t.kind === 'punct' || this.t.kind === 'ident') && this.t.text === text;
  }
  private accept(text: string): boolean {
    if (this.is(text)) { this.i++; return true; }
    return false;
  }
  private fail(what: string, t: Token = this.t): never {
    const found = t.kind === 'eof' ? 'end of file' : `'${t.text}'`;
    throw errorAt(t, `expected ${what}, found ${found}`);
  }
  private expect(text: string, what = `'${text}'`): Token {
    if (!this.is(text)) this.fail(what);
    return this.next();
  }
  private ident(what = 'an identifier'): Token {
    if (this.t.kind !== 'ident') this.fail(what);
    return this.next();
  }
  expectEof(): void {
    if (this.t.kind !== 'eof') this.fail('end of expression');
  }

  parseItems(topLevel: boolean): Item[] {
    const items: Item[] = [];
    for (;;) {
      if (this.t.kind === 'eof') {
        if (!topLevel) this.fail("'}' closing the interface");
        return items;
      }
      if (!topLevel && this.is('}')) return items;
      if (this.accept(';')) continue;
      items.push(this.parseItem(topLevel));
    }
  }

  private parseItem(topLevel: boolean): Item {
    const pos: SrcPos = this.t;
    if (this.is('import')) {
      this.next();
      const files: string[] = [];
      do {
        if (this.t.kind !== 'string') this.fail('a quoted file name after import');
        files.push(this.next().text);
      } while (this.accept(','));
      this.expect(';');
      return { k: 'import', files, pos };
    }
    if (this.is('cpp_quote')) {
      this.next(); this.expect('(');
      if (this.t.kind !== 'string') this.fail('a string in cpp_quote');
      this.next(); this.expect(')');
      this.accept(';');
      return { k: 'import', files: [], pos };
    }
    if (this.is('typedef')) {
      this.next();
      const attrs = this.parseAttrs();
      const type = this.parseTypeSpec();
      const decls: Declarator[] = [this.parseDeclarator()];
      while (this.accept(',')) decls.push(this.parseDeclarator());
      this.expect(';', "';' after typedef");
      return { k: 'typedef', attrs, type, decls, pos };
    }
    if (this.is('const')) {
      this.next();
      const type = this.parseTypeSpec();
      let stars = 0;
      while (this.accept('*')) stars++;
      const name = this.ident('the constant name').text;
      this.expect('=', "'=' in const declaration");
      const value = this.parseExpr();
      this.expect(';', "';' after const declaration");
      return { k: 'const', type, stars, name, value, pos };
    }
    const attrs = this.parseAttrs();
    if (this.is('interface')) {
      if (!topLevel) this.fail('a declaration (nested interfaces are not allowed)');
      const ipos: SrcPos = this.next();
      const name = this.ident('the interface name').text;
      if (this.accept(':')) this.ident('the base interface name');
      this.expect('{', "'{' opening the interface body");
      const items = this.parseItems(false);
      this.expect('}');
      this.accept(';');
      return { k: 'interface', attrs, name, items, pos: ipos };
    }
    if ((this.is('struct') || this.is('union') || this.is('enum')) && this.peek().kind === 'ident' && this.peek(2).text === '{' && attrs.length === 0) {
      const type = this.parseTypeSpec();
      this.expect(';', "';' after the declaration");
      return { k: 'tagdecl', type, pos };
    }
    return this.parseOperation(attrs, pos);
  }

  private parseOperation(attrs: Attr[], pos: SrcPos): Operation {
    if (this.t.kind !== 'ident') this.fail('a declaration (typedef, const, interface or an operation)');
    const ret = this.parseTypeSpec();
    let retStars = 0;
    while (this.accept('*')) retStars++;
    const name = this.ident('the operation name').text;
    this.expect('(', `'(' after operation name ${name}`);
    const params: Field[] = [];
    if (this.is('void') && this.peek().text === ')') {
      this.next();
    } else if (!this.is(')')) {
      do {
        const ppos: SrcPos = this.t;
        const pattrs = this.parseAttrs();
        this.accept('const');
        const type = this.parseTypeSpec();
        const decl = this.parseDeclarator();
        params.push({ attrs: pattrs, type, decl, pos: ppos });
      } while (this.accept(','));
    }
    this.expect(')', "')' or ',' in the parameter list");
    this.expect(';', `';' after operation ${name}`);
    return { k: 'op', attrs, ret, retStars, name, params, pos };
  }

  parseAttrs(): Attr[] {
    const attrs: Attr[] = [];
    while (this.is('[')) {
      this.next();
      if (this.is(']')) { this.next(); continue; }
      do {
        attrs.push(this.parseAttr());
      } while (this.accept(','));
      this.expect(']', "']' or ',' in the attribute list");
    }
    return attrs;
  }

  private parseAttr(): Attr {
    const t = this.t;
    if (t.kind !== 'ident') this.fail('an attribute name');
    this.next();
    const attr: Attr = { name: t.text, args: [], pos: t };
    if (!this.is('(')) return attr;
    const open = this.next();
    if (t.text === 'uuid' || t.text === 'version' || t.text === 'helpstring' || t.text === 'endpoint') {
      // Raw text up to the matching ')': an unquoted uuid is not one token.
      let depth = 1;
      while (this.t.kind !== 'eof') {
        if (this.is('(')) depth++;
        if (this.is(')') && --depth === 0) break;
        this.next();
      }
      const close = this.expect(')', `')' closing ${t.text}(`);
      attr.raw = this.src.slice(open.end, close.start).trim().replace(/^"(.*)"$/s, '$1');
      return attr;
    }
    if (t.text === 'switch_type') {
      attr.type = this.parseTypeSpec();
      this.expect(')', "')' closing switch_type(");
      return attr;
    }
    if (!this.is(')')) {
      for (;;) {
        if (this.is(',')) { attr.args.push(null); this.next(); continue; }
        attr.args.push(this.parseExpr());
        if (!this.accept(',')) break;
      }
    }
    this.expect(')', `')' closing ${t.text}(`);
    return attr;
  }

  parseTypeSpec(): TypeSpec {
    const t = this.t;
    while (this.accept('const')) { /* qualifier */ }
    if (this.is('struct')) return this.parseStruct();
    if (this.is('union')) return this.parseUnion();
    if (this.is('enum')) return this.parseEnum();
    if (this.t.kind !== 'ident') this.fail('a type');
    if (BASE_WORDS.has(this.t.text)) return this.parseBase();
    const name = this.next().text;
    while (this.accept('const')) { /* qualifier */ }
    return { k: 'named', name, pos: t };
  }

  private parseBase(): TypeSpec {
    const pos: SrcPos = this.t;
    const words: string[] = [];
    while (this.t.kind === 'ident' && (BASE_WORDS.has(this.t.text) || this.t.text === 'const')) {
      const w = this.next().text;
      if (w !== 'const') words.push(w);
    }
    const signed = words.includes('signed');
    const unsigned = words.includes('unsigned');
    const core = words.filter((w) => w !== 'signed' && w !== 'unsigned' && w !== 'int');
    const hasInt = words.includes('int');
    let name: BaseName | undefined;
    const key = core.join(' ');
    const u = unsigned;
    switch (key) {
      case '': name = hasInt || signed || unsigned ? (u ? 'u32' : 'i32') : undefined; break;
      case 'char': name = u ? 'u8' : signed ? 'i8' : 'char'; break;
      case 'small': case '__int8': name = u ? 'u8' : 'i8'; break;
      case 'short': case '__int16': name = u ? 'u16' : 'i16'; break;
      case 'long': case '__int32': case '__int3264': name = u ? 'u32' : 'i32'; break;
      case 'hyper': case '__int64': case 'long long': name = u ? 'u64' : 'i64'; break;
      case 'byte': name = 'u8'; break;
      case 'boolean': name = 'bool'; break;
      case 'wchar_t': name = 'wchar'; break;
      case 'float': name = 'f32'; break;
      case 'double': name = 'f64'; break;
      case 'void': name = 'void'; break;
      case 'handle_t': name = 'handle'; break;
      case 'error_status_t': name = 'error_status'; break;
    }
    if (!name || (u && signed)) throw errorAt(pos, `expected a type, found '${words.join(' ')}'`);
    return { k: 'base', name, pos };
  }

  private parseStruct(): TypeSpec {
    const pos: SrcPos = this.next();
    const tag = this.t.kind === 'ident' ? this.next().text : undefined;
    if (!this.is('{')) {
      if (!tag) this.fail("a struct tag or '{'");
      return { k: 'struct', tag, pos };
    }
    this.next();
    const fields: Field[] = [];
    while (!this.is('}')) {
      if (this.t.kind === 'eof') this.fail("'}' closing the struct");
      const fpos: SrcPos = this.t;
      const attrs = this.parseAttrs();
      const type = this.parseTypeSpec();
      do {
        fields.push({ attrs, type, decl: this.parseDeclarator(), pos: fpos });
      } while (this.accept(','));
      this.expect(';', "';' after the struct member");
    }
    this.next();
    return { k: 'struct', tag, fields, pos };
  }

  private parseUnion(): TypeSpec {
    const pos: SrcPos = this.next();
    let tag = this.t.kind === 'ident' && this.t.text !== 'switch' ? this.next().text : undefined;
    let encapsulated: { type: TypeSpec; name: string; unionName?: string } | undefined;
    if (this.accept('switch')) {
      this.expect('(', "'(' after switch");
      const type = this.parseTypeSpec();
      const name = this.ident('the discriminant name').text;
      this.expect(')', "')' after the discriminant");
      const unionName = this.t.kind === 'ident' ? this.next().text : undefined;
      encapsulated = { type, name, unionName };
    }
    if (!this.is('{')) {
      if (!tag) this.fail("a union tag or '{'");
      return { k: 'union', tag, pos };
    }
    this.next();
    const arms: UnionArm[] = [];
    while (!this.is('}')) {
      if (this.t.kind === 'eof') this.fail("'}' closing the union");
      const apos: SrcPos = this.t;
      let cases: Expr[] = [];
      let isDefault = false;
      let attrs: Attr[] = [];
      if (encapsulated) {
        // C-style labels: case 1: case 2: default:
        let any = false;
        for (;;) {
          if (this.accept('case')) { cases.push(this.parseExpr()); this.expect(':', "':' after the case label"); any = true; continue; }
          if (this.accept('default')) { this.expect(':', "':' after default"); isDefault = true; any = true; continue; }
          break;
        }
        if (!any) this.fail("'case' or 'default'");
        attrs = this.parseAttrs();
      } else {
        attrs = this.parseAttrs();
        const keep: Attr[] = [];
        for (const a of attrs) {
          if (a.name === 'case') cases.push(...a.args.filter((x): x is Expr => x !== null));
          else if (a.name === 'default') isDefault = true;
          else keep.push(a);
        }
        attrs = keep;
        if (!cases.length && !isDefault) throw errorAt(apos, 'expected [case(...)] or [default] on a union arm');
      }
      let field: Field | null = null;
      if (!this.accept(';')) {
        const fpos: SrcPos = this.t;
        const type = this.parseTypeSpec();
        field = { attrs, type, decl: this.parseDeclarator(), pos: fpos };
        this.expect(';', "';' after the union arm");
      }
      arms.push({ cases, isDefault, field, pos: apos });
    }
    this.next();
    if (encapsulated && !tag) tag = undefined;
    return { k: 'union', tag, arms, encapsulated, pos };
  }

  private parseEnum(): TypeSpec {
    const pos: SrcPos = this.next();
    const tag = this.t.kind === 'ident' ? this.next().text : undefined;
    if (!this.is('{')) {
      if (!tag) this.fail("an enum tag or '{'");
      return { k: 'enum', tag, pos };
    }
    this.next();
    const members: { name: string; value?: Expr; pos: SrcPos }[] = [];
    while (!this.is('}')) {
      const t = this.ident('an enumerator name');
      const value = this.accept('=') ? this.parseExpr() : undefined;
      members.push({ name: t.text, value, pos: t });
      if (!this.accept(',')) break;
    }
    this.expect('}', "',' or '}' in the enum");
    return { k: 'enum', tag, members, pos };
  }

  parseDeclarator(): Declarator {
    let stars = 0;
    for (;;) {
      if (this.accept('*')) { stars++; continue; }
      if (this.accept('const')) continue;
      // MIDL calling-convention / pointer qualifiers that carry no wire meaning.
      if (this.t.kind === 'ident' && ['__RPC_FAR', '__stdcall', '__RPC_USER'].includes(this.t.text)) { this.next(); continue; }
      break;
    }
    const t = this.ident('a declarator name');
    const arrays: (Expr | null)[] = [];
    while (this.accept('[')) {
      if (this.accept(']')) { arrays.push(null); continue; }
      if (this.is('*') && this.peek().text === ']') { this.next(); this.next(); arrays.push(null); continue; }
      arrays.push(this.parseExpr());
      this.expect(']', "']' after the array size");
    }
    return { name: t.text, stars, arrays, pos: t };
  }

  // ---- expressions (C precedence) ----
  parseExpr(): Expr {
    const c = this.parseBinary(0);
    if (this.is('?')) {
      const pos: SrcPos = this.next();
      const a = this.parseExpr();
      this.expect(':', "':' in conditional expression");
      const b = this.parseExpr();
      return { k: 'cond', c, a, b, pos };
    }
    return c;
  }

  private static readonly PREC: Record<string, number> = {
    '||': 1, '&&': 2, '|': 3, '^': 4, '&': 5, '==': 6, '!=': 6, '<': 7, '>': 7, '<=': 7, '>=': 7,
    '<<': 8, '>>': 8, '+': 9, '-': 9, '*': 10, '/': 10, '%': 10,
  };

  private parseBinary(min: number): Expr {
    let a = this.parseUnary();
    for (;;) {
      const op = this.t.kind === 'punct' ? this.t.text : '';
      const prec = Parser.PREC[op];
      if (prec === undefined || prec <= min) return a;
      const pos: SrcPos = this.next();
      const b = this.parseBinary(prec);
      a = { k: 'bin', op, a, b, pos };
    }
  }

  private parseUnary(): Expr {
    const t = this.t;
    if (t.kind === 'punct' && ['-', '+', '~', '!', '*', '&'].includes(t.text)) {
      this.next();
      return { k: 'unary', op: t.text, e: this.parseUnary(), pos: t };
    }
    return this.parsePostfix(this.parsePrimary());
  }

  private parsePostfix(e: Expr): Expr {
    for (;;) {
      if (this.is('.') || this.is('->')) {
        const arrow = this.next().text === '->';
        const name = this.ident('a member name').text;
        e = { k: 'member', e, name, arrow, pos: e.pos };
        continue;
      }
      return e;
    }
  }

  private parsePrimary(): Expr {
    const t = this.t;
    if (t.kind === 'number') {
      this.next();
      const text = t.text.replace(/[uUlL]+$/, '');
      if (!/^(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(text)) throw errorAt(t, `expected a number, found '${t.text}'`);
      return { k: 'num', v: BigInt(text), pos: t };
    }
    if (t.kind === 'string') {
      this.next();
      return { k: 'str', v: t.text, pos: t };
    }
    if (t.kind === 'ident') {
      this.next();
      if (t.text === 'TRUE' || t.text === 'true') return { k: 'num', v: 1n, pos: t };
      if (t.text === 'FALSE' || t.text === 'false') return { k: 'num', v: 0n, pos: t };
      return { k: 'id', name: t.text, pos: t };
    }
    if (this.accept('(')) {
      const e = this.parseExpr();
      this.expect(')', "')' closing the parenthesis");
      return e;
    }
    return this.fail('an expression');
  }
}
