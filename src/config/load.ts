/**
 * The configuration loader: one YAML document → a validated WitnessdConfig. Every error
 * names the file, the line and column, and the field (a zod path is mapped back to the YAML
 * node through the document's source ranges).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { LineCounter, parseDocument, isMap, isPair, isScalar, isSeq, type Node as YamlNode, type Document } from 'yaml';
import { z } from 'zod';
import { DEMO_CONFIG_NAME, DEMO_CONFIG_YAML } from './demo';
import { documentSchemaFor, type WitnessdConfig } from './document';

export interface ConfigProblem {
  readonly file: string;
  /** 1-based; 0 when unknown. */
  readonly line: number;
  readonly column: number;
  /** Dotted field path, e.g. svms[0].lifs[1].ipv4; '' for the document itself. */
  readonly field: string;
  readonly message: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return p.field ? `${where}: ${p.field}: ${p.message}` : `${where}: ${p.message}`;
}

function fieldName(p: readonly (string | number)[]): string {
  let out = '';
  for (const seg of p) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  return out;
}

/** Find the YAML node for a zod path; falls back to the deepest existing ancestor. */
function locate(doc: Document, p: readonly (string | number)[], key?: string): { offset: number; exact: boolean } {
  let node: unknown = doc.contents;
  let offset = (doc.contents as YamlNode | null)?.range?.[0] ?? 0;
  const steps = key === undefined ? p : [...p, key];
  for (let i = 0; i < steps.length; i++) {
    const seg = steps[i];
    const last = i === steps.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(seg));
      if (!pair) return { offset, exact: false };
      // An unknown key is best shown at the key itself.
      const target = last && key !== undefined ? pair.key : pair.value ?? pair.key;
      const r = (target as YamlNode | null)?.range ?? (pair.key as YamlNode | null)?.range;
      if (r) offset = r[0];
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as YamlNode | undefined;
      if (!item) return { offset, exact: false };
      if (item.range) offset = item.range[0];
      node = item;
    } else {
      return { offset, exact: false };
    }
  }
  return { offset, exact: true };
}

/** Parse and validate a configuration text. Throws ConfigError. */
export function parseConfig(text: string, sourceName: string): WitnessdConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const pos = (offset: number) => lineCounter.linePos(offset);
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const lp = e.linePos?.[0] ?? pos(e.pos[0]);
        return { file: sourceName, line: lp.line, column: lp.col, field: '', message: e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '') };
      }),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // yaml throws (ReferenceError) for an alias without its anchor or an alias bomb; found by
    // the config fuzzer (test/fuzz-corpus/config/).
    throw new ConfigError([{ file: sourceName, line: 1, column: 1, field: '', message: `YAML aliases: ${(e as Error).message}` }]);
  }
  if (data === null || data === undefined || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError([{ file: sourceName, line: 1, column: 1, field: '', message: 'the configuration must be a YAML mapping (nodes:, svms:, ...)' }]);
  }
  const result = documentSchemaFor(data).safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.map((issue): ConfigProblem => {
      const keys = issue.code === z.ZodIssueCode.unrecognized_keys ? issue.keys : [];
      const at = locate(doc, issue.path, keys[0]);
      const lp = pos(at.offset);
      let message = issue.message;
      if (issue.code === z.ZodIssueCode.invalid_type && issue.received === 'undefined') message = 'required field is missing';
      else if (issue.code === z.ZodIssueCode.unrecognized_keys) message = `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}`;
      const field = fieldName(keys.length === 1 ? [...issue.path, keys[0]] : issue.path);
      return { file: sourceName, line: lp.line, column: lp.col, field, message };
    });
    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new ConfigError(problems);
  }
  return { ...result.data, source: sourceName };
}

/** Read, parse and validate a configuration file. Relative accountsFile and keytab paths become absolute. */
export function loadConfig(file: string): WitnessdConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError([{ file, line: 0, column: 0, field: '', message: `cannot read: ${err.code ?? err.message}` }]);
  }
  const cfg = parseConfig(text, file);
  const beside = (p: string) => path.resolve(path.dirname(file), p);
  const { accountsFile, kerberos } = cfg.auth;
  return {
    ...cfg,
    auth: {
      ...cfg.auth,
      ...(accountsFile !== undefined ? { accountsFile: beside(accountsFile) } : {}),
      ...(kerberos !== undefined ? { kerberos: { ...kerberos, keytab: beside(kerberos.keytab) } } : {}),
    },
  };
}

/** The embedded demo configuration, validated. */
export function demoConfig(): WitnessdConfig {
  return parseConfig(DEMO_CONFIG_YAML, DEMO_CONFIG_NAME);
}
