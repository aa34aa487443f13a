/**
 * Fuzz targets for the generated NDR codecs (one per interface) and the configuration loader.
 *
 * NDR input: [operation selector, flags (bit 0 = response stub, bit 1 = big-endian, bit 2 =
 * NDR64), stub...].
 * Every decoded value must re-encode, and decode again to the same value (a decoder that
 * accepts what its encoder cannot write, or that reads the same bytes two ways, is a bug).
 */
import { NdrError, type NdrModule } from '../../../src/ndr';
import { ConfigError, DEMO_CONFIG_YAML, parseConfig, demoConfig } from '../../../src/config';
import { ClusterModel } from '../../../src/cluster/model';
import { MODULES, type Samples } from '../gen/samples';
import { byteMutate, int, type FuzzTarget, type Rng } from './engine';
import pino from 'pino';

/** Stable text of a decoded value (Buffers as hex, bigints as text) for equality checks. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'bigint') return `${x}n`;
    if (x && typeof x === 'object' && (x as { type?: string }).type === 'Buffer' && Array.isArray((x as { data?: unknown }).data)) {
      return `hex:${Buffer.from((x as { data: number[] }).data).toString('hex')}`;
    }
    return x;
  });
}

export function ndrTarget(mod: NdrModule, samples: Samples): FuzzTarget {
  const ops = Object.entries(mod.operations);
  const seeds = (): Buffer[] => {
    const out: Buffer[] = [];
    ops.forEach(([name, op], i) => {
      for (const dir of [0, 1]) {
        for (const be of [0, 2]) {
          for (const n64 of [0, 4]) {
            const codecs = n64 ? op.ndr64 : op;
            for (const v of samples[name][dir ? 'out' : 'in']) {
              const enc = dir ? codecs.encodeOut : codecs.encodeIn;
              out.push(Buffer.concat([Buffer.from([i, dir | be | n64]), enc(v as never, be === 0)]));
            }
          }
        }
      }
    });
    return out;
  };
  return {
    name: `ndr-${mod.name}`,
    maxLength: 2048,
    coverage: /\/src\/(ndr|gen)\//,
    seeds,
    mutate(input: Buffer, r: Rng, corpus: readonly Buffer[]) {
      if (input.length < 2) return undefined;
      const head = Buffer.from(input.subarray(0, 2));
      if (r() < 0.05) head[0] = int(r, ops.length);
      if (r() < 0.05) head[1] = int(r, 8);
      // Keep the selector; mutate the stub only (splicing stubs of other entries).
      return Buffer.concat([head, byteMutate(input.subarray(2), r, corpus.map((c) => c.subarray(2)), 2046)]);
    },
    allowed: (e) => e instanceof NdrError,
    run(input) {
      if (input.length < 2) return;
      const [, o] = ops[input[0] % ops.length];
      const op = (input[1] & 4) !== 0 ? o.ndr64 : o;
      const out = (input[1] & 1) !== 0;
      const le = (input[1] & 2) === 0;
      const stub = input.subarray(2);
      const decode = out ? op.decodeOut : op.decodeIn;
      const encode = out ? op.encodeOut : op.encodeIn;
      const v = decode(stub, le);
      let again: Buffer;
      try {
        again = encode(v as never, le);
      } catch (e) {
        throw new Error(`decoded value does not re-encode: ${(e as Error).message}`);
      }
      const v2 = decode(again, le);
      if (canonical(v) !== canonical(v2)) throw new Error(`re-decoded value differs: ${canonical(v).slice(0, 200)} vs ${canonical(v2).slice(0, 200)}`);
    },
  };
}

export function ndrTargets(): FuzzTarget[] {
  return MODULES.map(([m, s]) => ndrTarget(m, s));
}

// ------------------------------------------------------------------ configuration

const SCALARS = [
  '', '0', '-1', '1', '65535', '65536', '4294967296', '1e308', '.nan', '.inf', 'null', '~', 'true', 'no', '[]', '{}',
  '"x"', "'127.0.0.1'", '::1', '127.0.0.1:0', '[::1]:445', '0.0.0.0', '300.1.1.1', 'fe80::1%eth0', '*a', '&a x',
  '!!binary AAAA', '!!js/function x', '"\\u0000"', 'a'.repeat(300), '[1, [2, [3, [4]]]]', '{a: {b: {c: 1}}}', '|', '>-',
  'node1', 'node2', 'lif1', 'vs1', 'integrity', 'simulated', 'smb2-negotiate',
];

/** Line-level YAML mutation: replace a value, drop, duplicate or move a line, re-indent one. */
function yamlMutate(input: Buffer, r: Rng, corpus: readonly Buffer[]): Buffer | undefined {
  const lines = input.toString('utf8').split('\n');
  if (lines.length === 0) return undefined;
  const i = int(r, lines.length);
  switch (int(r, 6)) {
    case 0: {
      const m = /^(\s*(?:- )?[A-Za-z0-9_]+:)\s*(.*)$/.exec(lines[i]);
      if (!m) return undefined;
      lines[i] = `${m[1]} ${SCALARS[int(r, SCALARS.length)]}`;
      break;
    }
    case 1: lines.splice(i, 1); break;
    case 2: lines.splice(i, 0, lines[int(r, lines.length)]); break;
    case 3: { const [l] = lines.splice(i, 1); lines.splice(int(r, lines.length + 1), 0, l); break; }
    case 4: lines[i] = (r() < 0.5 ? '  ' : '') + lines[i].replace(/^ {2}/, r() < 0.5 ? '' : '  '); break;
    default: {
      const other = (corpus[int(r, corpus.length)] ?? input).toString('utf8').split('\n');
      lines.splice(i, 0, other[int(r, other.length)]);
    }
  }
  return Buffer.from(lines.join('\n'), 'utf8');
}

const IPV6_VARIANT = DEMO_CONFIG_YAML.replace('ipv4: 127.0.0.12', 'ipv4: 127.0.0.12\n        ipv6: "::1"')
  .replace('allowAnonymous: true', 'allowAnonymous: false')
  .replace('password: demo-password', 'ntHash: 0123456789abcdef0123456789abcdef');

/** Small valid documents: YAML parsing costs about 3 ms per kilobyte, so small seeds fuzz faster. */
const MINIMAL = `nodes:
  - {name: a, partner: b, smbAddress: "127.0.0.21:445"}
  - {name: b, partner: a, smbAddress: "127.0.0.22:445"}
svms:
  - name: s
    netbiosName: S
    dnsName: s.x
    lifs: [{name: l1, ipv4: 127.0.0.21, homeNode: a, currentNode: a, up: true}, {name: l2, ipv6: "fd00::2", homeNode: b, currentNode: a, up: false}]
    shares: [{name: sh, continuouslyAvailable: true, node: a}]
limits: {maxRegistrationsPerClient: 2}
auth: {accounts: [{user: u, password: p}]}
`;

export function configTarget(): FuzzTarget {
  const silent = pino({ level: 'silent' });
  return {
    name: 'config',
    maxLength: 8192,
    coverage: /\/src\/cluster\//,
    seeds: () => [Buffer.from(MINIMAL), Buffer.from(MINIMAL.replace(/\{name: (a|b), partner: (a|b), /g, '{name: $1, ')), Buffer.from(DEMO_CONFIG_YAML), Buffer.from(IPV6_VARIANT), Buffer.from('nodes: []\nsvms: []\n')],
    mutate: (input, r, corpus) => (r() < 0.7 ? yamlMutate(input, r, corpus) : undefined),
    allowed: (e) => e instanceof ConfigError,
    run(input) {
      const cfg = parseConfig(input.toString('utf8'), 'fuzz.yaml');
      // A configuration that validates must build a model and reload onto a running one.
      const model = new ClusterModel(cfg, { logger: silent });
      model.findings();
      new ClusterModel(demoConfig(), { logger: silent }).applyConfig(cfg);
    },
  };
}
