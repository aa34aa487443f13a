// witnessd's status page: follows /v1/events (server-sent events) and draws the state.
// Plain browser JavaScript, no build step. Every text from the server goes in with
// textContent: client names and the like come from the network.
'use strict';

(function () {
  const MAX_TIMELINE = 300;
  const STALE_AFTER_PINGS = 2.5;
  let pingMs = 15000;
  let lastHeard = 0;
  let run = null;
  let lastSeq = 0;
  let latest = null;

  const $ = (id) => document.getElementById(id);

  /** An element with attributes and children (strings become text nodes). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      el.setAttribute(k, String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  // Text a client chose (its computer name, and what it registered): control and bidi characters
  // shown as escapes, so that U+202E cannot reorder a line; cut to MAX_PEER characters (the
  // whole text in the tooltip); in its own <bdi> so that its direction stays inside it. The same
  // character class as src/lib/printable.ts (this page has no build step to import it from).
  const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;
  const MAX_PEER = 64;
  const escapeText = (t) => t.replace(UNPRINTABLE, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
  function peer(text) {
    if (text === undefined || text === null || text === '') return '–';
    const safe = escapeText(String(text));
    const cut = safe.length > MAX_PEER;
    return h('bdi', { class: 'peer', title: cut ? safe : undefined }, cut ? `${safe.slice(0, MAX_PEER)}…` : safe);
  }

  const pad = (n, w = 2) => String(n).padStart(w, '0');
  function clock(iso) {
    const d = new Date(iso);
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }
  function timeEl(iso) {
    return h('time', { datetime: iso, title: new Date(iso).toString() }, clock(iso));
  }
  function ms(v) {
    if (v < 1) return `${(v * 1000).toFixed(0)} µs`;
    if (v < 1000) return `${v.toFixed(v < 10 ? 2 : 0)} ms`;
    return `${(v / 1000).toFixed(2)} s`;
  }
  const plural = (n, one, many) => `${n} ${n === 1 ? one : many || one + 's'}`;

  // ---- connection ---------------------------------------------------------------------

  function setConnection(state, text) {
    const el = $('connection');
    el.dataset.state = state;
    el.textContent = text;
  }

  function heard() {
    lastHeard = Date.now();
  }

  setInterval(() => {
    const el = $('heard');
    if (!lastHeard) return;
    const ago = Math.round((Date.now() - lastHeard) / 1000);
    el.textContent = ago <= 1 ? 'heard from witnessd just now' : `heard from witnessd ${ago} s ago`;
    if (Date.now() - lastHeard > pingMs * STALE_AFTER_PINGS && $('connection').dataset.state === 'live') {
      setConnection('stale', 'No word from witnessd: the state shown may be old');
    }
  }, 1000);

  function connect() {
    const es = new EventSource('/v1/events');
    es.addEventListener('open', () => setConnection('live', 'Live: updates as they happen'));
    es.addEventListener('error', () => {
      if (es.readyState === EventSource.CLOSED) {
        setConnection('down', 'Disconnected: the event stream was refused (reload the page; log in again with ?token= if the token changed)');
      } else {
        setConnection('reconnecting', 'Connection lost: reconnecting… (the state shown may be old)');
      }
    });
    es.addEventListener('hello', (m) => {
      heard();
      const d = JSON.parse(m.data);
      pingMs = d.pingMs || pingMs;
      if (run !== null && run !== d.run) {
        // witnessd restarted: its timeline starts again.
        $('timeline').replaceChildren();
        lastSeq = 0;
        addNotice(d.serverTime, 'witnessd restarted; the timeline starts again');
      }
      run = d.run;
    });
    es.addEventListener('ping', heard);
    es.addEventListener('gap', (m) => {
      heard();
      const d = JSON.parse(m.data);
      addNotice(new Date().toISOString(), `${plural(d.missed, 'timeline entry', 'timeline entries')} missed while disconnected`);
    });
    es.addEventListener('timeline', (m) => {
      heard();
      const e = JSON.parse(m.data);
      if (e.seq <= lastSeq) return;
      lastSeq = e.seq;
      addEntry(e);
    });
    es.addEventListener('snapshot', (m) => {
      heard();
      latest = JSON.parse(m.data);
      render(latest);
    });
  }

  // ---- state --------------------------------------------------------------------------

  function nodeState(n) {
    if (n.up) return { key: 'up', text: 'up' };
    // Down either way: serving nothing. Whether its partner serves its LIFs is said in words.
    if (n.takenOver) return { key: 'down', text: 'DOWN — taken over by its partner' };
    return { key: 'down', text: 'DOWN — not taken over' };
  }

  /** The CTDB source's status, when witnessd runs with it (the cluster as CTDB sees it). */
  const ctdbOf = (s) => (s.source && s.source.name === 'ctdb' ? s.source : null);

  function renderSource(s) {
    const el = $('source-health');
    const src = s.source;
    if (!src) {
      el.hidden = true;
      return;
    }
    el.hidden = false;
    el.dataset.state = src.health.ok ? 'live' : 'down';
    el.textContent = src.health.ok
      ? `Cluster source ${src.name}: ${src.health.detail}`
      : `Cluster source ${src.name} is NOT healthy: ${src.health.detail}`;
  }

  function render(s) {
    $('config-source').textContent = s.config || '–';
    renderSource(s);
    const upd = $('updated');
    upd.dateTime = s.at;
    upd.textContent = clock(s.at);

    const up = s.nodes.filter((n) => n.up).length;
    const avail = s.lifs.filter((l) => l.operational).length;
    $('sum-nodes').textContent = `${up}/${s.nodes.length}`;
    $('sum-nodes').parentElement.dataset.bad = up < s.nodes.length;
    $('sum-lifs').textContent = `${avail}/${s.lifs.length}`;
    $('sum-lifs').parentElement.dataset.bad = avail < s.lifs.length;
    const c = s.counts;
    $('sum-regs').textContent = s.clusterWide ? s.registrations.length : c ? c.registrations : 'n/a';
    $('sum-regs').nextElementSibling.textContent = s.clusterWide ? 'registrations cluster-wide' : 'registrations';
    $('sum-waiting').textContent = c ? c.pendingAsyncNotify : 'n/a';
    $('sum-sent').textContent = c ? Object.values(c.notificationsSent).reduce((a, b) => a + b, 0) : 'n/a';

    renderPairs(s);
    renderLifs(s);
    renderRegistrations(s);
    renderFindings(s);
  }

  function renderPairs(s) {
    const health = new Map(((s.watcher && s.watcher.nodes) || []).map((n) => [n.node, n]));
    const ctdb = ctdbOf(s);
    $('h-nodes').textContent = ctdb ? 'CTDB nodes' : 'Nodes and SFO pairs';
    if (ctdb) {
      // CTDB nodes have no SFO partner: any node may host any public IP it lists.
      const flags = new Map(ctdb.nodes.map((n) => [n.name, n]));
      const cards = s.nodes.map((n) => {
        const c = flags.get(n.name);
        const label = `${n.name}${c ? ` (CTDB pnn${c.pnn}, ${c.address})` : ''}${n.name === `pnn${ctdb.pnn}` ? ' · this node' : ''}`;
        return h('article', { class: 'pair', 'aria-label': label }, h('h3', {}, label), h('div', { class: 'pair-nodes' }, nodeCard(n, health.get(n.name), s, c)));
      });
      $('pairs').replaceChildren(...cards);
      return;
    }
    const byName = new Map(s.nodes.map((n) => [n.name, n]));
    const done = new Set();
    const pairs = [];
    for (const n of s.nodes) {
      if (done.has(n.name)) continue;
      const partner = n.partner && byName.get(n.partner) && byName.get(n.partner).partner === n.name ? byName.get(n.partner) : undefined;
      done.add(n.name);
      if (partner) done.add(partner.name);
      pairs.push(partner ? [n, partner] : [n]);
    }
    const cards = pairs.map((pair) => {
      const label = pair.length === 2 ? `SFO pair ${pair[0].name} ⇄ ${pair[1].name}` : `${pair[0].name} (no SFO partner)`;
      return h('article', { class: 'pair', 'aria-label': label },
        h('h3', {}, label),
        h('div', { class: 'pair-nodes' }, pair.map((n) => nodeCard(n, health.get(n.name), s))));
    });
    $('pairs').replaceChildren(...cards);
  }

  function nodeCard(n, hl, s, ctdbNode) {
    const st = nodeState(n);
    const lifs = s.lifs.filter((l) => l.currentNode === n.name);
    let probe = 'no health watcher';
    if (ctdbNode) {
      // CTDB's own word on the node; the SMB2 probe only as a second opinion when it runs.
      probe = `CTDB: ${ctdbNode.flags.join(', ')}`;
      if (hl && s.watcher.mode !== 'simulated') probe += ` · SMB2 probe: ${hl.health}${hl.lastProbe ? ` — ${hl.lastProbe.detail}` : ''}`;
    } else if (hl) {
      if (s.watcher.mode === 'simulated') probe = 'health: simulated (changes only by operator commands)';
      else probe = `health: ${hl.health}${hl.heldDownByOperator ? ' (held down by the operator)' : ''}${hl.lastProbe ? ` — ${hl.lastProbe.detail}` : ''}`;
    }
    return h('div', { class: 'node', 'data-node': n.name, 'data-state': st.key },
      h('p', { class: 'node-name' }, h('strong', {}, n.name), ' ', h('span', { class: 'state-badge', 'data-state': st.key }, st.text)),
      h('p', { class: 'probe' }, probe),
      h('p', { class: 'hosts' }, lifs.length ? `hosts ${lifs.map((l) => l.name + (!ctdbNode && l.homeNode !== n.name ? ` (home ${l.homeNode})` : '')).join(', ')}` : ctdbNode ? 'hosts no public IP now' : 'hosts no LIF now'),
      n.smbAddress ? h('p', { class: 'probe' }, `SMB server ${n.smbAddress}`) : null);
  }

  function renderLifs(s) {
    const ctdb = ctdbOf(s);
    $('h-lifs').textContent = ctdb ? 'Public IPs (CTDB)' : 'Data LIFs';
    $('lifs').tHead.rows[0].cells[3].textContent = ctdb ? 'May be hosted by' : 'Home';
    const possible = new Map(ctdb ? ctdb.ips.map((ip) => [ip.address, ip.possible]) : []);
    const rows = s.lifs.map((l) => {
      // CTDB places a public IP on any node that lists it: there is no home to be away from.
      const away = !ctdb && l.currentNode !== l.homeNode;
      const state = l.operational ? 'available' : l.up ? 'UNAVAILABLE (its node is down)' : 'DOWN';
      return h('tr', { 'data-lif': l.name, 'data-state': l.operational ? 'available' : 'unavailable' },
        h('th', { scope: 'row' }, l.name),
        h('td', {}, l.svm),
        h('td', { class: 'mono' }, [l.ipv4, l.ipv6].filter(Boolean).join(' ') || '–'),
        h('td', {}, ctdb ? (possible.get(l.name) || []).join(', ') || '–' : l.homeNode),
        h('td', { 'data-away': away }, away ? `${l.currentNode} (moved from home)` : l.currentNode),
        h('td', {}, h('span', { class: 'state-badge', 'data-state': l.operational ? 'up' : 'down' }, state)));
    });
    $('lifs').tBodies[0].replaceChildren(...rows);
  }

  function regState(r) {
    if (r.pendingAsyncNotify > 0) return { key: 'waiting', text: 'waiting (AsyncNotify)' };
    if (r.pendingNotifications > 0) return { key: 'queued', text: `queued: ${r.pendingNotifications} (no AsyncNotify waiting)` };
    return { key: 'idle', text: 'idle (no AsyncNotify waiting)' };
  }

  function renderRegistrations(s) {
    const c = s.counts;
    const regs = s.registrations || [];
    const cw = s.clusterWide;
    let note = !c
      ? 'The Witness service is not attached.'
      : `${plural(c.registrations, 'registration')} on this node (V1 ${c.registrationsV1}, V2 ${c.registrationsV2}); ${c.pendingAsyncNotify} AsyncNotify waiting` +
        (!cw && c.registrations > regs.length ? `; the first ${regs.length} are listed` : '');
    if (cw) {
      note += `. Cluster-wide: ${plural(regs.length, 'registration')} listed from ${plural(cw.nodes - cw.unreachable.length, 'node')} of ${cw.nodes}`;
      for (const u of cw.unreachable) note += `; node ${u.node} did not answer (${u.error})`;
    }
    $('reg-counts').textContent = note;
    $('held-by').hidden = !cw;
    const rows = regs.map((r) => {
      const st = regState(r);
      return h('tr', { 'data-registration': r.id, 'data-client': r.clientName, 'data-state': st.key, title: `registration ${r.id}` },
        h('th', { scope: 'row' }, peer(r.clientName)),
        h('td', {}, peer(r.netName)),
        h('td', { class: 'mono' }, peer(r.ipAddress)),
        h('td', {}, r.lif || '–'),
        h('td', {}, r.version === 0x00010001 ? 'V1' : r.version === 0x00020000 ? ['V2', r.shareName ? [' · ', peer(r.shareName)] : ''] : `0x${r.version.toString(16)}`),
        h('td', {}, h('span', { class: 'state-badge', 'data-state': st.key }, st.text)),
        h('td', {}, r.registeredAt ? timeEl(r.registeredAt) : '–'),
        cw ? h('td', { 'data-held-by': r.heldBy }, r.heldBy || '–') : null);
    });
    if (rows.length === 0) rows.push(h('tr', {}, h('td', { colspan: cw ? 8 : 7, class: 'empty' }, cw ? 'No client is registered on any node.' : 'No client is registered.')));
    $('registrations').tBodies[0].replaceChildren(...rows);
  }

  function renderFindings(s) {
    const items = s.findings.map((f) => h('li', { 'data-severity': f.severity }, h('strong', {}, `${f.severity}: `), f.message));
    if (items.length === 0) items.push(h('li', { class: 'empty' }, 'None: every rule of witness-assisted failover holds.'));
    $('findings').replaceChildren(...items);
  }

  // ---- timeline -----------------------------------------------------------------------

  const EVENT_TONE = { NodeDown: 'bad', LifDown: 'bad', NodeUp: 'good', LifUp: 'good' };
  const byTypeText = (m) => Object.entries(m).map(([t, n]) => `${t} ${n}`).join(', ');

  function samplesList(samples, total, line) {
    const items = samples.map((x) => h('li', {}, line(x)));
    if (total > samples.length) items.push(h('li', { class: 'more' }, `… and ${total - samples.length} more`));
    return h('ul', { class: 'samples' }, items);
  }

  function entryBody(e) {
    switch (e.kind) {
      case 'cluster':
        return { tone: EVENT_TONE[e.type] || 'move', badge: e.type, title: e.text };
      case 'notifications':
        return {
          tone: 'notify',
          badge: 'notified',
          title: `${plural(e.count, 'notification')} sent: ${byTypeText(e.byType)}` +
            `${e.fromQueue ? ` (${e.fromQueue} from the queue)` : ''}; latency ${e.count === 1 ? ms(e.latencyMs.max) : `${ms(e.latencyMs.min)} – ${ms(e.latencyMs.max)}, mean ${ms(e.latencyMs.mean)}`}`,
          more: samplesList(e.samples, e.count, (x) => [
            h('strong', {}, peer(x.client)), ' (', peer(x.netName), ' @ ', peer(x.ipAddress), `, ${x.version}): `,
            h('span', { class: 'mono' }, `${x.forced ? 'forced ' : ''}${x.type}${x.detail ? ` ${x.detail}` : ''}`),
            x.result !== 'ERROR_SUCCESS' ? ` → ${x.result}` : '',
            ` in ${ms(x.latencyMs)}${x.queued ? ' (waited in the queue for its next AsyncNotify)' : ''}`,
          ]),
        };
      case 'queued':
        return {
          tone: 'warn',
          badge: 'queued',
          title: `${byTypeText(e.byType)} queued for ${plural(e.count, 'registration')} with no AsyncNotify waiting: delivered at the client's next AsyncNotify`,
          more: samplesList(e.samples, e.count, (x) => [h('strong', {}, peer(x.client)), ' (', peer(x.netName), ' @ ', peer(x.ipAddress), `, ${x.version}): ${x.type} ${x.detail}`]),
        };
      case 'registrations': {
        const parts = [];
        if (e.added) parts.push(`${plural(e.added, 'registration')} added`);
        if (e.removed) parts.push(`${e.removed} removed (${byTypeText(e.removedBy)})`);
        return {
          tone: 'info',
          badge: 'registrations',
          title: parts.join('; '),
          more: samplesList(e.samples, e.added + e.removed, (x) => [
            x.action === 'registered' ? '+ ' : '− ', h('strong', {}, peer(x.client)), ' ', peer(x.netName), ' @ ', peer(x.ipAddress), ` ${x.version}`, x.reason ? ` (${x.reason})` : '',
          ]),
        };
      }
      default:
        return { tone: 'info', badge: e.kind, title: JSON.stringify(e) };
    }
  }

  function addEntry(e) {
    const b = entryBody(e);
    const li = h('li', { class: 'entry', 'data-kind': e.kind, 'data-type': e.type || null, 'data-tone': b.tone, 'data-seq': e.seq },
      timeEl(e.at), ' ', h('span', { class: 'badge' }, b.badge), ' ', h('span', { class: 'entry-title' }, b.title), b.more || null);
    prepend(li);
  }

  function addNotice(at, text) {
    prepend(h('li', { class: 'entry', 'data-kind': 'notice', 'data-tone': 'warn' }, timeEl(at), ' ', h('span', { class: 'badge' }, 'notice'), ' ', text));
  }

  function prepend(li) {
    const list = $('timeline');
    list.prepend(li);
    while (list.children.length > MAX_TIMELINE) list.lastElementChild.remove();
  }

  connect();
})();
