/**
 * The conformance file beside an IDL (idl/<name>.cnf), in the spirit of Wireshark's: it names
 * the generated module and points the generator at the hand-written overrides module.
 *
 *   MODULE witness                          output file src/gen/witness.ts
 *   NAME Witness                            <Name>Server, create<Name>Interface, <Name>_SYNTAX
 *   OVERRIDES ../ndr/overrides/witness      import path of the overrides module (from src/gen)
 *   FIELD STRUCT.Member codec TsType        member coded by overrides.<codec> (an NdrFieldCodec)
 *   TYPE  STRUCT codec TsType               whole struct coded by overrides.<codec> (an NdrTypeCodec)
 *   EXPORT Name Name ...                    re-export these names from the overrides module
 *   ASYNC Operation ...                     these operations answer later, through a reply handle
 *
 * TsType may use `ov.` to name a type exported by the overrides module.
 */
import { IdlError } from './errors';

export interface Cnf {
  file: string;
  module?: string;
  name?: string;
  overrides?: string;
  fields: Map<string, { codec: string; ts: string; line: number }>;
  types: Map<string, { codec: string; ts: string; line: number }>;
  exports: string[];
  /** Operations whose server method answers later (Reply<Out>) instead of returning Out. */
  async: Map<string, number>;
}

export function parseCnf(file: string, text: string): Cnf {
  const cnf: Cnf = { file, fields: new Map(), types: new Map(), exports: [], async: new Map() };
  const lines = text.split('\n');
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    const s = raw.replace(/#.*$/, '').trim();
    if (!s) return;
    const words = s.split(/\s+/);
    const err = (msg: string): never => {
      throw new IdlError(file, line, raw.indexOf(words[0]) + 1, msg);
    };
    const want = (n: number, usage: string): void => {
      if (words.length < n) err(`expected ${usage}`);
    };
    switch (words[0]) {
      case 'MODULE': want(2, 'MODULE <name>'); cnf.module = words[1]; break;
      case 'NAME': want(2, 'NAME <InterfaceName>'); cnf.name = words[1]; break;
      case 'OVERRIDES': want(2, 'OVERRIDES <import path>'); cnf.overrides = words[1]; break;
      case 'FIELD': {
        want(4, 'FIELD <Struct.Member> <codec> <TsType>');
        if (!/^\w+\.\w+$/.test(words[1])) err(`expected <Struct.Member>, found '${words[1]}'`);
        cnf.fields.set(words[1], { codec: words[2], ts: words.slice(3).join(' '), line });
        break;
      }
      case 'TYPE': want(4, 'TYPE <Struct> <codec> <TsType>'); cnf.types.set(words[1], { codec: words[2], ts: words.slice(3).join(' '), line }); break;
      case 'EXPORT': want(2, 'EXPORT <name> ...'); cnf.exports.push(...words.slice(1)); break;
      case 'ASYNC': want(2, 'ASYNC <Operation> ...'); for (const w of words.slice(1)) cnf.async.set(w, line); break;
      default: err(`expected MODULE, NAME, OVERRIDES, FIELD, TYPE, EXPORT or ASYNC, found '${words[0]}'`);
    }
  });
  return cnf;
}
