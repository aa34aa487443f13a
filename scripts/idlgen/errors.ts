/** A compile error in an IDL or conformance file, reported as file:line:column: message. */
export class IdlError extends Error {
  constructor(readonly file: string, readonly line: number, readonly col: number, readonly reason: string) {
    super(`${file}:${line}:${col}: ${reason}`);
    this.name = 'IdlError';
  }
}

export interface SrcPos {
  file: string;
  line: number;
  col: number;
}

export function errorAt(pos: SrcPos, reason: string): IdlError {
  return new IdlError(pos.file, pos.line, pos.col, reason);
}
