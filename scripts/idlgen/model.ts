/** The resolved NDR model: what each type looks like on the wire. */
import type { Expr } from './ast';
import type { SrcPos } from './errors';

export type Prim = 'char' | 'u8' | 'i8' | 'u16' | 'i16' | 'wchar' | 'u32' | 'i32' | 'u64' | 'i64' | 'f32' | 'f64' | 'bool';
export type PtrKind = 'ref' | 'unique' | 'ptr' | 'default';

export type Ty =
  | { k: 'prim'; p: Prim; range?: [bigint, bigint] }
  | { k: 'enum'; def: EnumDef }
  | { k: 'guid' }
  | { k: 'ctx' }
  | { k: 'handle' }
  | { k: 'void' }
  | { k: 'struct'; def: StructDef }
  | { k: 'union'; def: UnionDef; switchIs: Expr | null }
  | { k: 'ptr'; kind: PtrKind; to: Ty }
  /** Conformant array; `hoisted` when it is the last member of a struct (max_count at the struct start). */
  | { k: 'carr'; size: Expr | null; length: Expr | null; elem: Ty; hoisted: boolean }
  | { k: 'farr'; n: number; length: Expr | null; elem: Ty }
  /**
   * [string] array of char/wchar_t: conformant varying (fixed = null) or varying in a fixed array.
   * `size` is a [string, size_is(n)] array's max_count (else max_count is the length + 1).
   */
  | { k: 'str'; cs: 'c' | 'w'; fixed: number | null; hoisted: boolean; size?: Expr }
  /** A field replaced by a hand-written codec; base is the declared wire type. */
  | { k: 'ov'; codec: string; ts: string; base: Ty };

export interface StructField {
  name: string;
  ty: Ty;
  pos: SrcPos;
}

export interface StructDef {
  kind: 'struct';
  name: string;
  fields: StructField[];
  pos: SrcPos;
  /** Set when the struct is replaced by a hand-written NdrTypeCodec. */
  override?: { codec: string; ts: string };
  resolved: boolean;
}

export interface UnionArm {
  cases: bigint[];
  isDefault: boolean;
  name: string | null;
  ty: Ty | null;
}

export interface UnionDef {
  kind: 'union';
  name: string;
  switchType: Prim;
  arms: UnionArm[];
  /** The inner union of an encapsulated union: the enclosing struct carries the discriminant. */
  noDiscriminant?: boolean;
  pos: SrcPos;
  resolved: boolean;
}

export interface EnumDef {
  kind: 'enum';
  name: string;
  wire: 'u16' | 'u32';
  members: { name: string; value: bigint }[];
}

export interface Param {
  name: string;
  ty: Ty;
  dirIn: boolean;
  dirOut: boolean;
  pos: SrcPos;
}

export interface OpModel {
  name: string;
  opnum: number;
  params: Param[];
  /** Return type (null for void). */
  ret: Ty | null;
  pos: SrcPos;
  /** An OpnumNNotUsedOnWire placeholder: keeps the numbering, generates nothing. */
  placeholder: boolean;
  /** Answered later through a reply handle (ASYNC in the conformance file). */
  async: boolean;
}

export interface ConstModel {
  name: string;
  value: bigint | string;
  pos: SrcPos;
}

export interface InterfaceModel {
  name: string;
  uuid: string;
  major: number;
  minor: number;
  ops: OpModel[];
}

export interface ModuleModel {
  idlFile: string;
  cnfFile: string | null;
  moduleName: string;
  ifaceName: string;
  overridesImport: string | null;
  reexports: string[];
  consts: ConstModel[];
  enums: EnumDef[];
  /** Named constructed types in emission order. */
  types: (StructDef | UnionDef)[];
  iface: InterfaceModel;
}
