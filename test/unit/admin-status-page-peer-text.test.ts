/**
 * The status page's app.js run against a minimal DOM: a client's text (a computer name with
 * U+202E, ESC, a line break, 50,000 characters) is shown escaped, cut, and isolated in a <bdi>;
 * and the page's character class is the one of src/lib/printable.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { UNPRINTABLE } from '../../src/lib/printable';

const APP = readFileSync(path.resolve(__dirname, '../../src/admin/status/app.js'), 'utf8');

class FakeNode {
  readonly attrs: Record<string, string> = {};
  children: Array<FakeNode | string> = [];
  dataset: Record<string, string> = {};
  textContent = '';
  tBodies: FakeNode[] = [];
  tHead: { rows: Array<{ cells: FakeNode[] }> } | undefined;
  parentElement: FakeNode | undefined;
  nextElementSibling: FakeNode | undefined;
  constructor(readonly tag: string) {}
  setAttribute(k: string, v: string) { this.attrs[k] = v; }
  append(c: FakeNode | string) { this.children.push(c); }
  replaceChildren(...c: Array<FakeNode | string>) { this.children = c; }
  prepend(c: FakeNode) { this.children.unshift(c); }
  get lastElementChild() { return this.children[this.children.length - 1]; }
  /** The text shown, with each <bdi> marked. */
  text(): string {
    return this.children.map((c) => (typeof c === 'string' ? c : c.tag === 'bdi' ? `⟦${c.text()}⟧` : c.text())).join('');
  }
}

function loadPage() {
  const els = new Map<string, FakeNode>();
  const byId = (id: string) => {
    let e = els.get(id);
    if (!e) {
      e = new FakeNode('div');
      e.tBodies = [new FakeNode('tbody')];
      e.parentElement = new FakeNode('div');
      e.nextElementSibling = new FakeNode('span');
      e.tHead = { rows: [{ cells: [0, 1, 2, 3, 4, 5].map(() => new FakeNode('th')) }] };
      els.set(id, e);
    }
    return e;
  };
  const handlers: Record<string, (m: { data: string }) => void> = {};
  const context = {
    document: { getElementById: byId, createElement: (t: string) => new FakeNode(t), createTextNode: (t: string) => t },
    Node: FakeNode,
    EventSource: class { static CLOSED = 2; addEventListener(ev: string, fn: (m: { data: string }) => void) { handlers[ev] = fn; } },
    setInterval: () => 0,
    Date, JSON, Object, String, Math, Map, Set, Number, Array,
  };
  vm.runInNewContext(APP, context);
  return { byId, handlers };
}

describe('status page: text a client chose', () => {
  it('uses the character class of src/lib/printable.ts', () => {
    expect(APP).toContain(`const UNPRINTABLE = /${UNPRINTABLE.source}/g;`);
  });

  it('escapes control and bidi characters, isolates each name in a <bdi> and cuts a long one (full text in the tooltip)', () => {
    const { byId, handlers } = loadPage();
    const long = 'L'.repeat(50_000);
    const reg = (clientName: string, id: string) => ({ id, clientName, netName: 'SOFS', ipAddress: '127.0.0.11', lif: 'lif1', version: 0x00010001, pendingAsyncNotify: 1, pendingNotifications: 0 });
    handlers.snapshot({ data: JSON.stringify({
      at: new Date().toISOString(), config: 'demo', nodes: [], lifs: [], svms: [], shares: [], findings: [], watcher: null,
      counts: { registrations: 2, registrationsV1: 2, registrationsV2: 0, pendingAsyncNotify: 2, notificationsSent: {} },
      registrations: [reg('abc\u202Eexe.txt\u001b[2J\r\nx', 'r1'), reg(long, 'r2')],
    }) });
    const rows = byId('registrations').tBodies[0].children as FakeNode[];
    const first = rows[0].text();
    expect(first).toContain('⟦abc\\u{202e}exe.txt\\u{1b}[2J\\u{d}\\u{a}x⟧');
    expect(first).not.toMatch(/[\u202e\u001b\r\n]/);
    const cell = (rows[1].children[0] as FakeNode).children[0] as FakeNode;
    expect(cell.tag).toBe('bdi');
    expect(cell.text().length).toBeLessThanOrEqual(65);
    expect(cell.attrs.title).toBe(long);
  });
});
