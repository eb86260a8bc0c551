// The Logloom dashboard: plain JavaScript, no framework, nothing loaded from elsewhere.
// Every datum comes from /api/* with the viewer's bearer token (kept in sessionStorage for the
// tab's lifetime). Text from entries is only ever set as textContent, never parsed as HTML.
'use strict';

const LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
const S = {
  token: sessionStorage.getItem('logloom.token') || '',
  lang: localStorage.getItem('logloom.lang') || 'en',
  t: {},
  sort: { key: 'name', dir: 1 },
  filter: '',
  timer: 0,
  tail: null,
  /** The aggregator lets anyone read (api.anonymous: viewer): no sign-in needed. */
  anonymous: false,
};

const authHeaders = () => (S.token ? { authorization: `Bearer ${S.token}` } : {});

const $ = (sel) => document.querySelector(sel);
const t = (k) => S.t[k] || k;

/** h('tag', {attr…}, children…): builds DOM; strings become text nodes. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

class ApiError extends Error {}

async function api(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  q.set('lang', S.lang);
  const res = await fetch(`${path}?${q}`, { headers: authHeaders() });
  const body = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (res.status === 401 && sessionStorage.getItem('logloom.token')) {
    // A signed-in session whose token was revoked: back to the login page.
    signOut();
    throw new ApiError(body.error);
  }
  if (!res.ok) throw new ApiError(body.error || `HTTP ${res.status}`);
  return body;
}

async function loadStrings() {
  const res = await fetch(`/api/i18n?lang=${encodeURIComponent(S.lang)}`);
  S.t = (await res.json()).strings;
  document.documentElement.lang = S.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  $('#lang-en').classList.toggle('active', S.lang === 'en');
  $('#lang-zh').classList.toggle('active', S.lang === 'zh');
}

async function setLang(lang) {
  S.lang = lang;
  localStorage.setItem('logloom.lang', lang);
  await loadStrings();
  route();
}

function signOut() {
  S.token = '';
  sessionStorage.removeItem('logloom.token');
  location.hash = '#/login';
}

function fmtTime(iso) {
  if (!iso) return '-';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function fmtNum(n) {
  return n === null || n === undefined ? '-' : Number(n).toLocaleString(S.lang === 'zh' ? 'zh-CN' : 'en');
}

function setMain(...children) {
  const m = $('#main');
  m.replaceChildren(...children);
}

function stopTimers() {
  clearInterval(S.timer);
  S.timer = 0;
  if (S.tail) S.tail.abort();
  S.tail = null;
}

// ---- login ----------------------------------------------------------------------------------

function loginPage(message) {
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'off', placeholder: t('token') });
  const err = h('div', { class: 'error', id: 'login-error' }, message || '');
  const form = h('form', {
    class: 'card login', id: 'login',
    onsubmit: async (ev) => {
      ev.preventDefault();
      S.token = input.value.trim();
      try {
        await api('/api/whoami');
        sessionStorage.setItem('logloom.token', S.token);
        location.hash = '#/fleet';
      } catch (e) {
        S.token = '';
        err.textContent = `${t('bad_token')}: ${e.message}`;
      }
    },
  }, h('h2', {}, t('login')), input, h('button', { type: 'submit', class: 'primary', id: 'sign-in' }, t('sign_in')), err);
  setMain(form);
  input.focus();
}

// ---- fleet table ----------------------------------------------------------------------------

const COLUMNS = [
  ['name', 'node'], ['status', 'status'], ['last_seen', 'last_seen'], ['version', 'version'], ['rate_1m', 'rate_1m'],
  ['rate_15m', 'rate_15m'], ['dropped', 'drops'], ['spool_entries', 'backlog'], ['errors_1h', 'errors_1h'], ['entries', 'entries'],
];
const NUMERIC = new Set(['rate_1m', 'rate_15m', 'dropped', 'spool_entries', 'errors_1h', 'entries']);

async function fleetPage() {
  const filter = h('input', { id: 'fleet-filter', placeholder: t('filter'), value: S.filter, oninput: () => { S.filter = filter.value; draw(); } });
  const table = h('table', { id: 'fleet-table' });
  const info = h('span', { class: 'muted', id: 'fleet-info' });
  setMain(h('div', { class: 'filters' }, filter, info), table);
  let nodes = [];
  const draw = () => {
    const f = S.filter.toLowerCase();
    const rows = nodes.filter((n) => !f || n.name.toLowerCase().includes(f) || n.status.includes(f) || t(n.status).toLowerCase().includes(f) || String(n.version || '').includes(f));
    const { key, dir } = S.sort;
    rows.sort((a, b) => {
      const x = a[key] ?? -1, y = b[key] ?? -1;
      return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))) * dir;
    });
    const head = h('tr', {}, COLUMNS.map(([k, label]) => h('th', {
      class: `${S.sort.key === k ? 'sorted' : ''} ${S.sort.key === k && S.sort.dir > 0 ? 'asc' : ''}`, 'data-key': k,
      onclick: () => { S.sort = { key: k, dir: S.sort.key === k ? -S.sort.dir : 1 }; draw(); },
    }, t(label))));
    const body = rows.map((n) => h('tr', { 'data-node': n.name, 'data-status': n.status },
      h('td', {}, h('a', { href: `#/node/${encodeURIComponent(n.name)}` }, n.name)),
      h('td', {}, h('span', { class: `status ${n.status}` }, t(n.status))),
      h('td', {}, fmtTime(n.last_seen)),
      h('td', {}, n.version || '-'),
      h('td', { class: 'num' }, n.rate_1m.toFixed(2)),
      h('td', { class: 'num' }, n.rate_15m.toFixed(2)),
      h('td', { class: 'num' }, fmtNum(n.dropped)),
      h('td', { class: 'num' }, n.spool_entries === null ? '-' : `${fmtNum(n.spool_entries)} (${fmtNum(n.spool_bytes)} B)`),
      h('td', { class: 'num' }, fmtNum(n.errors_1h)),
      h('td', { class: 'num' }, fmtNum(n.entries)),
    ));
    table.replaceChildren(h('thead', {}, head), h('tbody', {}, body));
    info.textContent = `${rows.length} / ${nodes.length}`;
  };
  const load = async () => {
    try {
      nodes = (await api('/api/nodes')).nodes;
      draw();
    } catch (e) {
      info.textContent = e.message;
    }
  };
  await load();
  S.timer = setInterval(load, 2000);
}

// ---- node page ------------------------------------------------------------------------------

function entryRows(list, withNode) {
  return list.map(({ node, entry }) => h('tr', { class: entry.level === 'FATAL' ? 'fatal' : '' },
    h('td', {}, fmtTime(entry.timestamp)),
    withNode ? h('td', {}, node) : null,
    h('td', {}, h('span', { class: `lvl lvl-${entry.level}` }, entry.level)),
    h('td', {}, entry.module || ''),
    h('td', { class: 'msg' }, entry.text ?? entry.message ?? ''),
  ));
}

function entryTable(id, list, withNode) {
  return h('table', { class: 'entries', id }, h('tbody', {}, entryRows(list, withNode)));
}

function histogram(stats) {
  const since = Date.now() - 3600_000;
  const bucket = stats.bucket_ms;
  const first = Math.floor(since / bucket) * bucket;
  const byT = new Map(stats.buckets.map((b) => [b.t, b.counts]));
  let max = 1;
  for (const b of stats.buckets) max = Math.max(max, Object.values(b.counts).reduce((a, n) => a + n, 0));
  const bars = [];
  for (let tt = first; tt <= Date.now(); tt += bucket) {
    const counts = byT.get(tt) || {};
    const total = Object.values(counts).reduce((a, n) => a + n, 0);
    const bar = h('div', { class: 'bar', title: `${fmtTime(new Date(tt).toISOString())}: ${LEVELS.map((l) => `${l} ${counts[l] || 0}`).join(', ')}` });
    for (const l of LEVELS) {
      if (!counts[l]) continue;
      const seg = h('div', { class: `seg-${l}` });
      seg.style.height = `${(counts[l] / max) * 130}px`;
      bar.append(seg);
    }
    if (!total) bar.style.height = '1px';
    bars.push(bar);
  }
  const legend = h('div', { class: 'legend' }, LEVELS.map((l) => h('span', {}, h('i', { class: `seg-${l}` }), l)));
  return h('div', {}, h('div', { class: 'histogram', id: 'histogram' }, bars), legend);
}

async function nodePage(name) {
  setMain(h('h2', {}, `${t('node')} ${name}`));
  try {
    const [nodes, recent, stats, incidents, summaries] = await Promise.all([
      api('/api/nodes'),
      api('/api/entries', { node: name, limit: 50 }),
      api('/api/stats', { node: name, since: '1h', bucket: '5m', by: 'level' }),
      api(`/api/nodes/${encodeURIComponent(name)}/incidents`),
      api('/api/entries', { node: name, module: 'AI', limit: 20 }),
    ]);
    const n = nodes.nodes.find((x) => x.name === name);
    const facts = n ? h('div', { class: 'card', id: 'node-facts' },
      h('span', { class: `status ${n.status}` }, t(n.status)), ' ',
      `${t('last_seen')}: ${fmtTime(n.last_seen)} · ${t('version')}: ${n.version || '-'} · ${t('rate_1m')}: ${n.rate_1m.toFixed(2)} · ${t('drops')}: ${fmtNum(n.dropped)} · ${t('backlog')}: ${fmtNum(n.spool_entries)} · ${t('errors_1h')}: ${fmtNum(n.errors_1h)} · ${t('entries')}: ${fmtNum(n.entries)}`) : null;
    const incidentList = incidents.incidents.length
      ? incidents.incidents.map((i) => h('div', { class: 'incident' },
        h('strong', {}, `${fmtTime(i.entry.timestamp)}  ${i.entry.source || ''}`), '\n',
        [i.entry, ...i.following].map((e) => e.text ?? e.message).join('\n')))
      : [h('p', { class: 'muted' }, t('none'))];
    const summaryList = summaries.entries.length
      ? summaries.entries.map(({ entry }) => h('div', { class: 'summary' }, h('span', { class: 'muted' }, fmtTime(entry.timestamp)), ' ', entry.text ?? entry.message))
      : [h('p', { class: 'muted' }, t('none'))];
    setMain(
      h('h2', {}, `${t('node')} ${name}`), facts,
      h('div', { class: 'card' }, h('h2', {}, t('histogram')), histogram(stats)),
      h('div', { class: 'card', id: 'incidents' }, h('h2', {}, t('incidents')), incidentList),
      h('div', { class: 'card', id: 'summaries' }, h('h2', {}, t('summaries')), summaryList),
      h('div', { class: 'card' }, h('h2', {}, t('recent')), entryTable('recent', recent.entries, false)),
    );
  } catch (e) {
    setMain(h('h2', {}, `${t('node')} ${name}`), h('div', { class: 'error' }, e.message));
  }
}

// ---- live tail ------------------------------------------------------------------------------

function filterInputs(prefix) {
  const node = h('input', { id: `${prefix}-node`, placeholder: t('node') });
  const level = h('select', { id: `${prefix}-level` }, h('option', { value: '' }, t('all_levels')), LEVELS.map((l) => h('option', { value: l }, `≥ ${l}`)));
  const module = h('input', { id: `${prefix}-module`, placeholder: t('module'), size: 8 });
  const text = h('input', { id: `${prefix}-q`, placeholder: t('text') });
  const values = () => ({ node: node.value.trim(), level: level.value, module: module.value.trim(), q: text.value.trim() });
  return { els: [node, level, module, text], values };
}

function tailPage() {
  const f = filterInputs('tail');
  const body = h('tbody', {});
  const state = h('span', { class: 'muted', id: 'tail-state' });
  const err = h('div', { class: 'error', id: 'tail-error' });
  const start = h('button', { type: 'button', class: 'primary', id: 'tail-start', onclick: () => run() }, t('start'));
  const stop = h('button', { type: 'button', id: 'tail-stop', onclick: () => { if (S.tail) S.tail.abort(); } }, t('stop'));
  setMain(h('div', { class: 'filters' }, f.els, start, stop, state), err, h('table', { class: 'entries', id: 'tail-table' }, body));
  const run = async () => {
    if (S.tail) S.tail.abort();
    const ctl = new AbortController();
    S.tail = ctl;
    err.textContent = '';
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(f.values())) if (v) q.set(k, v);
    q.set('lang', S.lang);
    try {
      const res = await fetch(`/api/tail?${q}`, { headers: authHeaders(), signal: ctl.signal });
      if (!res.ok) throw new ApiError((await res.json().catch(() => ({}))).error || `HTTP ${res.status}`);
      state.textContent = '●';
      state.dataset.live = 'true';
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (ev === 'entry' && data) {
            body.prepend(...entryRows([JSON.parse(data)], true));
            while (body.children.length > 500) body.lastChild.remove();
          } else if (ev === 'gap' && data) {
            body.prepend(h('tr', {}, h('td', { colspan: 5, class: 'muted' }, `… ${JSON.parse(data).skipped} …`)));
          }
        }
      }
    } catch (e) {
      if (e.name !== 'AbortError') err.textContent = e.message;
    } finally {
      state.textContent = '';
      state.dataset.live = 'false';
    }
  };
  run();
}

// ---- search ---------------------------------------------------------------------------------

function searchPage() {
  const f = filterInputs('search');
  const since = h('select', { id: 'search-since' }, ['15m', '1h', '24h', '7d', ''].map((v) => h('option', { value: v, selected: v === '24h' }, v || '∞')));
  const body = h('tbody', {});
  const info = h('span', { class: 'muted', id: 'search-info' });
  const err = h('div', { class: 'error', id: 'search-error' });
  let cursor = null;
  let found = 0;
  const more = h('button', { type: 'button', id: 'search-more', hidden: true, onclick: () => go(false) }, t('more'));
  const go = async (fresh) => {
    err.textContent = '';
    if (fresh) { body.replaceChildren(); cursor = null; found = 0; }
    try {
      const r = await api('/api/entries', { ...f.values(), since: since.value, limit: 100, cursor: cursor || undefined });
      body.append(...entryRows(r.entries, true));
      found += r.entries.length;
      cursor = r.next_cursor;
      more.hidden = !cursor;
      info.textContent = `${t('results')}: ${found}${cursor ? '+' : ''}`;
    } catch (e) {
      err.textContent = e.message;
    }
  };
  const form = h('form', { class: 'filters', id: 'search-form', onsubmit: (ev) => { ev.preventDefault(); go(true); } },
    f.els, since, h('button', { type: 'submit', class: 'primary', id: 'search-go' }, t('search_button')), info);
  setMain(form, err, h('table', { class: 'entries', id: 'search-results' }, body), more);
}

// ---- routing --------------------------------------------------------------------------------

function route() {
  stopTimers();
  const hash = location.hash || '#/fleet';
  const signedIn = !!S.token || S.anonymous;
  $('#nav').hidden = !signedIn;
  $('#sign-out').hidden = !S.token;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', hash.startsWith(a.getAttribute('href')));
  if (!signedIn || hash === '#/login') return loginPage();
  if (hash.startsWith('#/node/')) return nodePage(decodeURIComponent(hash.slice(7)));
  if (hash === '#/tail') return tailPage();
  if (hash === '#/search') return searchPage();
  return fleetPage();
}

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', async () => {
  $('#lang-en').addEventListener('click', () => setLang('en'));
  $('#lang-zh').addEventListener('click', () => setLang('zh'));
  $('#sign-out').addEventListener('click', signOut);
  await loadStrings();
  if (!S.token) S.anonymous = (await fetch('/api/whoami').catch(() => ({ ok: false }))).ok;
  route();
});
