/**
 * Every fuzz target by name, and the regression inputs kept under test/fuzz-corpus/<target>/.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { FuzzTarget } from './engine';
import { ntlmsspTarget, spnegoTarget } from './targets-auth';
import { krb5Target } from './targets-krb5';
import { configTarget, ndrTargets } from './targets-ndr';
import { connectionTarget, pduTarget } from './targets-rpc';

export const TARGET_NAMES = ['pdu', 'connection', 'ndr-witness', 'ndr-epm', 'ndr-clusapi', 'ndr-mgmt', 'ntlmssp', 'spnego', 'krb5', 'config'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

/** A fresh instance of one target (targets hold state; make one per run). */
export function makeTarget(name: TargetName): FuzzTarget & { close?: () => void } {
  switch (name) {
    case 'pdu': return pduTarget();
    case 'connection': return connectionTarget();
    case 'ntlmssp': return ntlmsspTarget();
    case 'spnego': return spnegoTarget();
    case 'krb5': return krb5Target();
    case 'config': return configTarget();
    default: {
      const t = ndrTargets().find((x) => x.name === name);
      if (!t) throw new Error(`no fuzz target ${name}`);
      return t;
    }
  }
}

export const CORPUS_DIR = path.resolve(__dirname, '../../fuzz-corpus');

/** Regression inputs of a target (files under test/fuzz-corpus/<target>/). */
export function regressionInputs(name: string): { file: string; input: Buffer }[] {
  const dir = path.join(CORPUS_DIR, name);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => !f.startsWith('.') && !f.endsWith('.md')).sort()
    .map((f) => ({ file: path.join(dir, f), input: readFileSync(path.join(dir, f)) }));
}

/** Keep an input that broke something; the file name is its hash. */
export function saveRegression(name: string, input: Buffer, tag = 'crash'): string {
  const dir = path.join(CORPUS_DIR, name);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${tag}-${createHash('sha256').update(input).digest('hex').slice(0, 16)}.bin`);
  writeFileSync(file, input);
  return file;
}
