/**
 * The two inputs of `net witness` that are languages of their own: POSIX extended regular
 * expressions (as regcomp(REG_EXTENDED|REG_ICASE|REG_NOSUB) takes them: unanchored,
 * case-insensitive, bracket classes like [[:digit:]]) and --witness-forced-response's JSON
 * ({"result": N, "response": {"type": 1..4, "messages": [...]}}, net_witness.c), turned into
 * the admin API's forced response.
 */
const CLASSES: Record<string, string> = {
  alpha: 'A-Za-z', digit: '0-9', alnum: 'A-Za-z0-9', upper: 'A-Z', lower: 'a-z', space: ' \\t\\n\\r\\f\\v',
  blank: ' \\t', xdigit: '0-9A-Fa-f', punct: '!-\\/:-@\\[-`{-~', print: ' -~', graph: '!-~', cntrl: '\\x00-\\x1f\\x7f',
};

/** A JavaScript RegExp for a POSIX ERE (throws on one regcomp would refuse too). */
export function posixEre(ere: string): RegExp {
  const js = ere.replace(/\[:([a-z]+):\]/g, (m, name: string) => {
    const c = CLASSES[name];
    if (c === undefined) throw new Error(`invalid character class [:${name}:]`);
    return c;
  });
  return new RegExp(js, 'i');
}

export class ForcedResponseError extends Error {}

/** The admin API's forced response (POST /v1/registrations/update FORCE_RESPONSE fields). */
export interface ForcedBody {
  readonly result?: number;
  readonly response?: {
    type: number;
    changes?: Array<{ changeType: number; name: string }>;
    addresses?: Array<{ flags: number; ipv4?: string; ipv6?: string }>;
    moreLists?: Array<Array<{ flags: number; ipv4?: string; ipv6?: string }>>;
  };
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const bad = (what: string): never => {
  throw new ForcedResponseError(`net_witness_force_response_parse failed: NT_STATUS_INVALID_PARAMETER (${what})`);
};

/** Parse --witness-forced-response as net does; undefined text = an empty response with ERROR_SUCCESS. */
export function sambaForcedResponse(text: string | undefined): { json: unknown; body: ForcedBody } | undefined {
  if (text === undefined) return undefined;
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    return bad(`Invalid JSON in --witness-forced-response='${text}'`);
  }
  if (root === null || typeof root !== 'object' || Array.isArray(root)) return bad('the JSON needs to be an object');
  const o = root as Record<string, unknown>;
  let result: number | undefined;
  if (o.result !== undefined) {
    if (!isInt(o.result) || o.result < 0 || o.result > 0xffffffff) bad("'result' needs an integer 0..4294967295");
    result = o.result as number;
  }
  if (o.response === undefined) return { json: root, body: { result: result ?? 0 } };
  const r = o.response as Record<string, unknown>;
  if (r === null || typeof r !== 'object' || Array.isArray(r)) bad("'response' needs to be an object");
  if (!isInt(r.type) || r.type < 1 || r.type > 4) bad("'type' in 'response' needs an integer 1..4");
  const type = r.type as number;
  const messages = r.messages ?? [];
  if (!Array.isArray(messages)) return bad("'messages' in 'response' needs to be an array");
  if (type === 1) {
    const changes = messages.map((m: Record<string, unknown>, i) => {
      if (m === null || typeof m !== 'object' || !isInt(m.type) || typeof m.name !== 'string') bad(`'messages[${i}]' needs {"type": integer, "name": string}`);
      return { changeType: m.type as number, name: m.name as string };
    });
    return { json: root, body: { result: result ?? 0, response: { type, changes } } };
  }
  const lists = messages.map((list: unknown, m) => {
    if (!Array.isArray(list)) return bad(`'messages[${m}]' needs to be an array`);
    return list.map((a: Record<string, unknown>, i) => {
      if (a === null || typeof a !== 'object' || !isInt(a.flags)) bad(`'messages[${m}][${i}]' needs an integer 'flags'`);
      if (a.ipv4 !== undefined && typeof a.ipv4 !== 'string') bad(`'messages[${m}][${i}]['ipv4']' needs to be a string`);
      if (a.ipv6 !== undefined && typeof a.ipv6 !== 'string') bad(`'messages[${m}][${i}]['ipv6']' needs to be a string`);
      // A missing address is 0.0.0.0 / :: on the wire, as net sends it.
      return { flags: a.flags as number, ipv4: (a.ipv4 as string | undefined) ?? (a.ipv6 === undefined ? '0.0.0.0' : undefined), ...(a.ipv6 !== undefined ? { ipv6: a.ipv6 as string } : {}) };
    });
  });
  const [addresses = [], ...moreLists] = lists;
  return { json: root, body: { result: result ?? 0, response: { type, addresses, ...(moreLists.length ? { moreLists } : {}) } } };
}
