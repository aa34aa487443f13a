/** The syntax tree the parser produces (close to the IDL text; resolution happens later). */
import type { SrcPos } from './errors';

export type Expr =
  | { k: 'num'; v: bigint; pos: SrcPos }
  | { k: 'str'; v: string; pos: SrcPos }
  | { k: 'id'; name: string; pos: SrcPos }
  | { k: 'unary'; op: string; e: Expr; pos: SrcPos }
  | { k: 'bin'; op: string; a: Expr; b: Expr; pos: SrcPos }
  | { k: 'cond'; c: Expr; a: Expr; b: Expr; pos: SrcPos }
  | { k: 'member'; e: Expr; name: string; arrow: boolean; pos: SrcPos };

export interface Attr {
  name: string;
  /** Arguments as expressions (null for an empty slot, e.g. size_is(, n)). */
  args: (Expr | null)[];
  /** Raw argument text (uuid, version). */
  raw?: string;
  /** switch_type(T) */
  type?: TypeSpec;
  pos: SrcPos;
}

export type BaseName =
  | 'char' | 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64'
  | 'f32' | 'f64' | 'bool' | 'wchar' | 'void' | 'handle' | 'error_status';

export type TypeSpec =
  | { k: 'base'; name: BaseName; pos: SrcPos }
  | { k: 'named'; name: string; pos: SrcPos }
  | { k: 'struct'; tag?: string; fields?: Field[]; pos: SrcPos }
  | { k: 'union'; tag?: string; arms?: UnionArm[]; encapsulated?: { type: TypeSpec; name: string; unionName?: string }; pos: SrcPos }
  | { k: 'enum'; tag?: string; members?: { name: string; value?: Expr; pos: SrcPos }[]; pos: SrcPos };

export interface Declarator {
  name: string;
  /** Number of '*' before the name. */
  stars: number;
  /** Array dimensions after the name: an expression, or null for [] / [*]. */
  arrays: (Expr | null)[];
  pos: SrcPos;
}

export interface Field {
  attrs: Attr[];
  type: TypeSpec;
  decl: Declarator;
  pos: SrcPos;
}

export interface UnionArm {
  /** Case values; empty with isDefault for the default arm. */
  cases: Expr[];
  isDefault: boolean;
  /** null for an empty arm. */
  field: Field | null;
  pos: SrcPos;
}

export interface Typedef {
  k: 'typedef';
  attrs: Attr[];
  type: TypeSpec;
  decls: Declarator[];
  pos: SrcPos;
}

export interface ConstDecl {
  k: 'const';
  type: TypeSpec;
  stars: number;
  name: string;
  value: Expr;
  pos: SrcPos;
}

export interface Operation {
  k: 'op';
  attrs: Attr[];
  ret: TypeSpec;
  retStars: number;
  name: string;
  params: Field[];
  pos: SrcPos;
}

/** A tagged struct/union/enum declared without typedef: `struct foo { ... };` */
export interface TagDecl {
  k: 'tagdecl';
  type: TypeSpec;
  pos: SrcPos;
}

export type Item = Typedef | ConstDecl | Operation | TagDecl | InterfaceDecl | ImportDecl;

export interface ImportDecl {
  k: 'import';
  files: string[];
  pos: SrcPos;
}

export interface InterfaceDecl {
  k: 'interface';
  attrs: Attr[];
  name: string;
  items: Item[];
  pos: SrcPos;
}

export interface IdlFile {
  file: string;
  items: Item[];
}
