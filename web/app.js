// TinyBMS bridge web UI: one module, no framework, no external requests.
// Pages are <section>s switched by the URL hash; live data comes from the
// WebSocket /ws (reconnected with backoff) with GET /api/status polling as fallback.

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
const fmt = (v, digits = 1) => (isNum(v) ? v.toFixed(digits) : '—');
const pretty = (s) => String(s ?? '').replace(/_/g, ' ');

function fmtAge(ms) {
  if (!isNum(ms)) return '';
  if (ms < 1500) return `${Math.round(ms)} ms ago`;
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(s < 10 ? 1 : 0)} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${(s / 3600).toFixed(1)} h ago`;
}

function fmtDuration(ms) {
  if (!isNum(ms)) return '—';
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  return (d ? `${d}d ` : '') + `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}

function setText(id, text, cls) {
  const e = $(id);
  if (!e) return;
  if (e.textContent !== text) e.textContent = text;
  if (cls !== undefined) e.className = cls;
}

// ---------------------------------------------------------------- credentials
const AUTH_KEY = 'tbvb.auth';

function getAuth() {
  try { return JSON.parse(sessionStorage.getItem(AUTH_KEY) || 'null'); } catch { return null; }
}

function setAuth(a) {
  if (a) sessionStorage.setItem(AUTH_KEY, JSON.stringify(a));
  else sessionStorage.removeItem(AUTH_KEY);
  updateLoginButton();
}

function b64utf8(s) {
  const bytes = new TextEncoder().encode(s);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

function authHeader() {
  const a = getAuth();
  if (!a) return null;
  if (a.token) return `Bearer ${a.token}`;
  if (a.username || a.password) return `Basic ${b64utf8(`${a.username || ''}:${a.password || ''}`)}`;
  return null;
}

function updateLoginButton() {
  const a = getAuth();
  $('login-btn').textContent = a ? (a.token ? 'Log out (token)' : `Log out ${a.username || ''}`.trim()) : 'Log in';
}

let loginResolve = null;
function openLogin(message) {
  const d = $('login-dialog');
  $('login-msg').textContent = message || '';
  const a = getAuth() || {};
  $('login-user').value = a.username || '';
  $('login-pass').value = '';
  $('login-token').value = '';
  if (!d.open) d.showModal();
  return new Promise((resolve) => { loginResolve = resolve; });
}

function initLogin() {
  updateLoginButton();
  $('login-btn').addEventListener('click', () => {
    if (getAuth()) { setAuth(null); return; }
    openLogin();
  });
  $('login-dialog').addEventListener('close', () => {
    const d = $('login-dialog');
    let ok = false;
    if (d.returnValue === 'ok') {
      const token = $('login-token').value.trim();
      const username = $('login-user').value.trim();
      const password = $('login-pass').value;
      if (token) { setAuth({ token }); ok = true; }
      else if (username || password) { setAuth({ username, password }); ok = true; }
    }
    if (loginResolve) { const r = loginResolve; loginResolve = null; r(ok); }
  });
}

// ---------------------------------------------------------------- HTTP
// Relative URLs so the UI also works behind a reverse proxy under a sub-path.
async function api(method, path, body) {
  // X-Requested-With marks the page's own calls (the server may then skip the
  // WWW-Authenticate challenge that makes browsers open their own login box).
  const headers = { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') {
    const a = authHeader();
    if (a) headers.Authorization = a;
  }
  let res, text;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 15000);
  try {
    res = await fetch(path, {
      method, headers, cache: 'no-store', signal: ctl.signal,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    text = await res.text();
  } catch (err) {
    const why = err.name === 'AbortError' ? 'no answer within 15 s' : err.message;
    return { ok: false, status: 0, data: null, error: `cannot reach the bridge (${why})` };
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  let error = null;
  if (!res.ok) {
    error = (data && (data.error || data.message)) || text.trim() || `${res.status} ${res.statusText}`;
  }
  return { ok: res.ok, status: res.status, data, error, text };
}

// Explains a refused write; returns the message shown.
function refusalMessage(r) {
  if (r.status === 401) return `Not logged in or wrong credentials: ${r.error}`;
  if (r.status === 403) return `Refused by the bridge: ${r.error}`;
  return r.error || `HTTP ${r.status}`;
}

// Whether web_server has a password or token (GET api/settings shows "********"
// for a set secret); null when unknown.
async function credentialsConfigured() {
  const r = await api('GET', 'api/settings');
  const ws = r.ok && r.data && settingsDoc(r.data).web_server;
  return ws ? !!(ws.password || ws.token) : null;
}

// Write helper. Not logged in and the bridge has credentials: asks first, so the
// browser never meets a 401 challenge; a 401 anyway: asks once more and retries.
// Without configured credentials the request goes out and the bridge's 403
// message is shown.
async function apiWrite(method, path, body) {
  if (!authHeader() && (await credentialsConfigured()) !== false) {
    const ok = await openLogin('This change needs the user name and password (or the token) set in web_server.');
    if (!ok) return { ok: false, status: 401, data: null, error: 'log in to make changes' };
  }
  let r = await api(method, path, body);
  if (r.status === 401) {
    const ok = await openLogin(getAuth() ? 'The bridge refused these credentials.' : 'This change needs the bridge credentials.');
    if (ok) r = await api(method, path, body);
  }
  return r;
}

// ---------------------------------------------------------------- confirm dialog
function confirmDialog(title, text, input) {
  const d = $('confirm-dialog');
  $('confirm-title').textContent = title;
  const p = $('confirm-text');
  p.replaceChildren(text);
  let inp = null;
  if (input) {
    inp = el('input', { type: 'number', id: 'confirm-input', step: input.step ?? 'any', min: input.min, max: input.max, value: input.value ?? '' });
    p.append(el('label', {}, input.label || 'Value', inp));
    if (input.hint) p.append(el('span', { class: 'muted' }, input.hint));
  }
  d.showModal();
  if (inp) inp.focus();
  return new Promise((resolve) => {
    d.addEventListener('close', () => {
      resolve(d.returnValue === 'ok' ? (inp ? inp.value : true) : null);
    }, { once: true });
  });
}

// ---------------------------------------------------------------- routing
const PAGES = ['dashboard', 'history', 'settings', 'registers', 'can', 'logs'];
let currentPage = null;
const pageEnter = {};
const pageLeave = {};

function route() {
  const name = (location.hash || '#dashboard').slice(1);
  const page = PAGES.includes(name) ? name : 'dashboard';
  if (page === currentPage) return;
  if (currentPage && pageLeave[currentPage]) pageLeave[currentPage]();
  currentPage = page;
  document.body.dataset.page = page;
  for (const s of document.querySelectorAll('section.page')) s.hidden = s.dataset.page !== page;
  for (const a of document.querySelectorAll('.tabs a')) a.classList.toggle('active', a.dataset.page === page);
  if (pageEnter[page]) pageEnter[page]();
}

// ---------------------------------------------------------------- live status
const live = {
  status: null,        // last status document
  receivedAt: 0,       // Date.now() when it arrived
  ws: null,
  wsOpen: false,
  backoff: 1000,
  pollTimer: null,
  pollFailing: false,
  canListeners: new Set(),
};

function wsUrl() {
  const u = new URL('ws', location.href);
  u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const a = getAuth();
  if (a && a.token) u.searchParams.set('token', a.token);  // only needed with web_server.auth_read
  return u.href;
}

function connectWs() {
  let ws;
  try { ws = new WebSocket(wsUrl()); } catch { scheduleReconnect(); return; }
  live.ws = ws;
  ws.onopen = () => {
    live.wsOpen = true;
    live.backoff = 1000;
    updateConnPill();
  };
  ws.onmessage = (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    if (!msg || typeof msg !== 'object') return;
    if (msg.type === 'status' && msg.data) onStatus(msg.data);
    else if (msg.type === 'can' && Array.isArray(msg.frames)) for (const f of live.canListeners) f(msg.frames);
    else if (!msg.type && 'data_state' in msg) onStatus(msg);
  };
  ws.onclose = () => {
    if (live.ws !== ws) return;
    live.wsOpen = false;
    live.ws = null;
    updateConnPill();
    scheduleReconnect();
  };
  ws.onerror = () => { /* onclose follows */ };
}

function scheduleReconnect() {
  const delay = live.backoff * (0.8 + Math.random() * 0.4);
  live.backoff = Math.min(live.backoff * 2, 30000);
  setTimeout(connectWs, delay);
}

// Polling runs whenever the WebSocket is not delivering status.
async function pollOnce() {
  const r = await api('GET', 'api/status');
  if (r.ok && r.data) {
    live.pollFailing = false;
    onStatus(r.data, true);
  } else {
    live.pollFailing = true;
  }
  updateConnPill();
}

function pollTick() {
  const wsFresh = live.wsOpen && Date.now() - live.receivedAt < 4000;
  if (!wsFresh) pollOnce();
  renderFreshness();
}

function updateConnPill() {
  const p = $('pill-conn');
  const age = Date.now() - live.receivedAt;
  let text, cls;
  if (live.wsOpen && age < 4000) { text = 'page: live'; cls = 'ok'; }
  else if (!live.pollFailing && age < 6000) { text = 'page: polling'; cls = 'warn'; }
  else { text = 'page: offline'; cls = 'bad'; }
  p.textContent = text;
  p.className = `pill ${cls}`;
}

function onStatus(s) {
  live.status = s;
  live.receivedAt = Date.now();
  renderDashboard(s);
  updateConnPill();
  for (const f of statusListeners) f(s);
}
const statusListeners = new Set();

// The banner says loudly when values are not live.
function renderFreshness() {
  const s = live.status;
  const banner = $('banner');
  const dash = $('dash');
  const lost = !live.status || Date.now() - live.receivedAt > 6000;
  let mode = 'valid', msg = null, detail = '', warn = false;
  if (lost && live.status) {
    mode = 'offline';
    msg = 'NO CONNECTION TO THE BRIDGE — the values shown are old.';
    detail = `Last update ${fmtAge(Date.now() - live.receivedAt)}. Retrying…`;
  } else if (!live.status) {
    mode = 'waiting';
    msg = 'Connecting to the bridge…';
    warn = true;
  } else if (s.data_state === 'stale' || (s.data_state !== 'waiting' && s.data_valid === false)) {
    mode = 'stale';
    msg = 'BMS DATA STALE — the TinyBMS is not answering. Values are NOT live.';
    detail = `Last valid reading ${fmtAge(s.data_age_ms) || 'unknown'}. Battery frames to the GX are stopped, so the GX treats the BMS as lost.`;
  } else if (s.data_state === 'waiting') {
    mode = 'waiting';
    msg = 'WAITING FOR THE TINYBMS — no reading yet. Nothing is sent to the GX.';
    warn = true;
  }
  dash.classList.toggle('stale', mode === 'stale');
  dash.classList.toggle('waiting', mode === 'waiting');
  dash.classList.toggle('offline', mode === 'offline');
  dash.dataset.state = mode;
  if (msg) {
    banner.hidden = false;
    banner.className = `banner${warn ? ' warn' : ''}`;
    banner.dataset.state = mode;
    const want = msg + detail;
    if (banner.dataset.text !== want) {
      banner.dataset.text = want;
      banner.replaceChildren(el('span', { class: 'headline' }, msg), detail ? el('span', { class: 'detail' }, detail) : '');
    }
  } else {
    banner.hidden = true;
    banner.dataset.state = 'valid';
  }
  updateConnPill();
}

// ---------------------------------------------------------------- dashboard
function tempText(id, v) {
  const e = $(id);
  if (v === null || v === undefined) { e.textContent = 'absent'; e.className = 'val absent'; }
  else { e.textContent = `${fmt(v, 1)} °C`; e.className = 'val'; }
}

// One grid of cell tiles in box (its tiles kept on the element between updates);
// bms gives the scale (cutoffs). Returns whether there was cell data.
function renderCellGrid(box, cells, bms) {
  let tiles = box.cellTiles || [];
  if (!box.cellTiles || tiles.length !== cells.length) {
    box.replaceChildren();
    tiles = cells.map((c) => {
      const bar = el('div', { class: 'bar' });
      const mv = el('div', { class: 'mv val' });
      const tile = el('div', { class: 'cell', dataset: { index: c.index } },
        el('div', { class: 'idx' }, `#${c.index}`),
        el('div', { class: 'track' }, bar), mv,
        el('div', { class: 'tag t-min' }), el('div', { class: 'tag t-max' }));
      box.append(tile);
      return { tile, bar, mv };
    });
    box.cellTiles = tiles;
    if (!cells.length) box.append(el('p', { class: 'muted' }, 'no cell data'));
  }
  const mvs = cells.map((c) => c.mv).filter(isNum);
  const lo = mvs.length ? Math.min(...mvs) : null;
  const hi = mvs.length ? Math.max(...mvs) : null;
  bms = bms || {};
  const scaleLo = Math.min(isNum(bms.under_voltage_cutoff_mv) ? bms.under_voltage_cutoff_mv : 2800, lo ?? 2800) - 20;
  const scaleHi = Math.max(isNum(bms.over_voltage_cutoff_mv) ? bms.over_voltage_cutoff_mv : 3650, hi ?? 3650);
  cells.forEach((c, i) => {
    const t = tiles[i];
    const isMin = mvs.length > 1 && c.mv === lo && lo !== hi;
    const isMax = mvs.length > 1 && c.mv === hi && lo !== hi;
    t.tile.className = 'cell' + (isMin ? ' min' : '') + (isMax ? ' max' : '') +
      (c.balancing ? ' balancing' : '') + (c.needs_balancing ? ' needs' : '');
    t.tile.title = `cell ${c.index}: ${fmt(c.mv, 1)} mV` + (c.balancing ? ', balancing' : '') +
      (c.needs_balancing ? ', needs balancing' : '');
    t.mv.textContent = isNum(c.mv) ? `${Math.round(c.mv)}` : '—';
    t.tile.querySelector('.t-min').textContent = isMin ? 'min' : '';
    t.tile.querySelector('.t-max').textContent = isMax ? 'max' : '';
    const frac = isNum(c.mv) ? (c.mv - scaleLo) / (scaleHi - scaleLo) : 0;
    t.bar.style.height = `${Math.max(2, Math.min(100, frac * 100)).toFixed(1)}%`;
  });
  return mvs.length > 0;
}

// The packs of status.packs (absent before the bridge reports them: one pack, as before).
const packsOf = (s) => (Array.isArray(s.packs) ? s.packs : []);
const packNo = (p, i) => (isNum(p.index) ? p.index : i + 1);
const packName = (p, i) => (p.name ? String(p.name) : `Pack ${packNo(p, i)}`);

// With one pack the cells are the battery's, as they always were; with several,
// one block of cells per pack.
function renderCells(s) {
  const packs = packsOf(s);
  const multi = packs.length > 1;
  const box = $('cells');
  const perPack = $('pack-cells');
  box.hidden = multi;
  perPack.hidden = !multi;
  if (!multi) {
    const cells = Array.isArray(s.cells) ? s.cells : [];
    const any = renderCellGrid(box, cells, s.bms);
    $('cells-summary').textContent = any
      ? `${cells.length} cells · min ${fmt(s.min_cell_mv, 0)} · max ${fmt(s.max_cell_mv, 0)} · Δ ${fmt(s.cell_imbalance_mv, 0)} mV`
      : '';
    return;
  }
  const key = packs.map((p, i) => `${packNo(p, i)}:${packName(p, i)}`).join('|');
  if (perPack.dataset.key !== key) {
    perPack.dataset.key = key;
    perPack.replaceChildren(...packs.map((p, i) => el('div', { class: 'pack-cell-block', dataset: { pack: packNo(p, i) } },
      el('h3', {}, el('span', { class: 'pack-name' }, packName(p, i)), ' ', el('span', { class: 'muted summary' })),
      el('div', { class: 'cells' }))));
  }
  let total = 0;
  packs.forEach((p, i) => {
    const block = perPack.children[i];
    const cells = Array.isArray(p.cells) ? p.cells : [];
    total += cells.length;
    block.classList.toggle('nodata', p.data_valid === false);
    const any = renderCellGrid(block.querySelector('.cells'), cells, p.bms || s.bms);
    block.querySelector('.summary').textContent = any
      ? `${cells.length} cells · min ${fmt(p.min_cell_mv, 0)} · max ${fmt(p.max_cell_mv, 0)} · Δ ${fmt(p.cell_imbalance_mv, 0)} mV`
      : (p.data_valid === false ? 'no current reading' : '');
  });
  $('cells-summary').textContent = `${packs.length} packs · ${total} cells · min ${fmt(s.min_cell_mv, 0)} · max ${fmt(s.max_cell_mv, 0)} mV`;
}

// A pack's state in the bank: colour and text (online, joining, silent, offline).
const PACK_STATE_CLASS = { online: 'ok', joining: 'warn', silent: 'warn', offline: 'bad' };
const PACK_STATE_HELP = {
  online: 'counted in the bank',
  joining: 'fresh again, not counted yet (hold time / voltage window)',
  silent: 'no fresh reading; still counted for the grace time',
  offline: 'not counted in the bank',
};

const BOUND_TEXT = {
  cap: 'the bank cap', sum: 'the sum of the packs', share: 'a pack’s share',
  min_packs: 'too few packs (0)', no_pack: 'every pack blocks (0)', none: 'no valid bank',
};

function renderBankInfo(s, packs) {
  const b = s.bank && typeof s.bank === 'object' ? s.bank : {};
  const nameOf = (n) => {
    const i = packs.findIndex((p, k) => packNo(p, k) === n);
    return i >= 0 ? packName(packs[i], i) : `pack ${n}`;
  };
  const bound = (which, kind, pack) => {
    if (!kind) return el('span', { class: 'bound', dataset: { limit: which } }, `${which}: —`);
    const by = kind === 'share' && isNum(pack) && pack > 0 ? `${nameOf(pack)}’s share` : (BOUND_TEXT[kind] || pretty(kind));
    return el('span', { class: 'bound', dataset: { limit: which, bound: kind } }, `${which} bound by `, el('b', {}, by));
  };
  const warnings = Array.isArray(b.warnings) ? b.warnings : [];
  const items = [bound('CCL', b.ccl_bound, b.ccl_pack), bound('DCL', b.dcl_bound, b.dcl_pack)];
  const m = b.modules && typeof b.modules === 'object' ? b.modules : b; // 0x372 counts
  const cnt = (v) => (isNum(v) ? v : '—');
  if (isNum(m.online)) {
    items.push(el('span', { class: 'modules' }, `modules: ${m.online} online · ${cnt(m.offline)} offline · ${cnt(m.blocking_charge)} blocking charge · ${cnt(m.blocking_discharge)} blocking discharge`));
  }
  if (isNum(b.capacity_ah)) {
    items.push(el('span', {}, `capacity ${fmt(b.online_capacity_ah, 0)} of ${fmt(b.capacity_ah, 0)} Ah online`));
  }
  items.push(el('span', { class: 'bank-warnings' }, warnings.length
    ? warnings.map((w) => el('span', { class: 'badge warn' }, pretty(w)))
    : el('span', { class: 'muted' }, 'no bank warning')));
  const key = JSON.stringify([b, packs.map((p, i) => packName(p, i))]);
  const box = $('bank-info');
  if (box.dataset.key !== key) {
    box.dataset.key = key;
    box.replaceChildren(...items);
  }
}

function packCard(p, i, s) {
  const n = packNo(p, i);
  const state = p.state ? String(p.state) : null;
  const cls = PACK_STATE_CLASS[state] || 'warn';
  const b = s.bank && typeof s.bank === 'object' ? s.bank : {};
  const lim = p.limits || {};
  const shareCh = lim.share_charge_percent ?? lim.share_charge_pct;
  const shareDis = lim.share_discharge_percent ?? lim.share_discharge_pct;
  const boundsCcl = p.bounds_ccl === true || (isNum(b.ccl_pack) && b.ccl_pack === n && b.ccl_bound === 'share');
  const boundsDcl = p.bounds_dcl === true || (isNum(b.dcl_pack) && b.dcl_pack === n && b.dcl_bound === 'share');
  const nodata = p.data_valid === false;
  const pct = (v) => (isNum(v) ? `${fmt(v, 1)} %` : '—');
  const flags = [];
  if (boundsCcl) flags.push(el('span', { class: 'badge limit', dataset: { flag: 'bounds_ccl' } }, 'limits bank CCL'));
  if (boundsDcl) flags.push(el('span', { class: 'badge limit', dataset: { flag: 'bounds_dcl' } }, 'limits bank DCL'));
  if (p.blocks_charge === true) flags.push(el('span', { class: 'badge bad', dataset: { flag: 'blocks_charge' } }, 'blocks charge'));
  if (p.blocks_discharge === true) flags.push(el('span', { class: 'badge bad', dataset: { flag: 'blocks_discharge' } }, 'blocks discharge'));
  if (p.member === false && state !== 'offline') flags.push(el('span', { class: 'badge warn' }, 'not counted'));
  const age = isNum(p.data_age_ms) ? fmtAge(p.data_age_ms) : '';
  return el('div', {
    class: `pack state-${state || 'unknown'}${nodata ? ' nodata' : ''}`,
    dataset: { pack: n, state: state || 'unknown' },
  },
  el('div', { class: 'pack-head' },
    el('span', { class: 'pack-name' }, packName(p, i)),
    el('span', { class: `badge pack-state ${cls}`, title: PACK_STATE_HELP[state] || '' }, state || '—')),
  nodata ? el('div', { class: 'pack-nodata' }, `NO CURRENT READING${age ? ` — last ${age}` : ''}`) : null,
  el('dl', { class: 'kv' },
    el('dt', {}, 'Voltage'), el('dd', { class: 'val', dataset: { k: 'voltage' } }, isNum(p.voltage) ? `${fmt(p.voltage, 2)} V` : '—'),
    el('dt', {}, 'Current'), el('dd', { class: 'val', dataset: { k: 'current' } }, isNum(p.current) ? `${fmt(p.current, 1)} A` : '—'),
    el('dt', {}, 'SOC'), el('dd', { class: 'val', dataset: { k: 'soc' } }, pct(p.soc_percent)),
    el('dt', {}, 'Cells min / max'), el('dd', { class: 'val', dataset: { k: 'cells' } },
      isNum(p.min_cell_mv) || isNum(p.max_cell_mv) ? `${fmt(p.min_cell_mv, 0)} / ${fmt(p.max_cell_mv, 0)} mV` : '—'),
    el('dt', {}, 'Own CCL / DCL'), el('dd', { class: 'val', dataset: { k: 'limits' } },
      isNum(lim.ccl_a) || isNum(lim.dcl_a) ? `${fmt(lim.ccl_a, 1)} / ${fmt(lim.dcl_a, 1)} A` : '—'),
    el('dt', {}, 'Share ch. / dis.'), el('dd', { class: 'val', dataset: { k: 'share' } },
      isNum(shareCh) || isNum(shareDis) ? `${pct(shareCh)} / ${pct(shareDis)}` : '—'),
    el('dt', {}, 'Status'), el('dd', { class: 'val', dataset: { k: 'bms' } }, p.online_status_name ? pretty(p.online_status_name) : '—')),
  flags.length ? el('div', { class: 'pack-flags' }, flags) : null);
}

// The bank and its packs; hidden with one pack (the page then looks as it always did).
function renderPacks(s) {
  const packs = packsOf(s);
  const multi = packs.length > 1;
  regsPackOptions(packs);
  $('packs-card').hidden = !multi;
  const pill = $('pill-packs');
  pill.hidden = !multi;
  if (!multi) return;
  const online = packs.filter((p) => p.state === 'online').length;
  pill.textContent = `packs: ${online}/${packs.length} online`;
  pill.className = `pill ${online === packs.length ? 'ok' : online > 0 ? 'warn' : 'bad'}`;
  setText('packs-summary', `${packs.length} packs · ${online} online`);
  renderBankInfo(s, packs);
  const box = $('packs');
  const cards = packs.map((p, i) => packCard(p, i, s));
  const key = cards.map((c) => c.outerHTML).join('');
  if (box.dataset.key !== key) {
    box.dataset.key = key;
    box.replaceChildren(...cards);
  }
}

function renderAlarms(s) {
  const a = s.alarms || {};
  const worst = a.worst || 'ok';
  setText('alarm-worst', worst === 'ok' ? 'ok' : worst, `badge ${worst}`);
  const list = $('alarm-list');
  const active = Array.isArray(a.active) ? a.active : [];
  const key = JSON.stringify(active);
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  list.replaceChildren(...(active.length
    ? active.map((x) => el('li', { class: `alarm ${x.level}` }, el('span', {}, pretty(x.condition)),
      el('span', { class: `badge ${x.level}` }, x.level)))
    : [el('li', { class: 'muted' }, 'no active warning or alarm')]));
}

function renderDashboard(s) {
  const soc = s.soc_percent;
  setText('v-soc', fmt(soc, 1));
  $('soc-fill').style.width = isNum(soc) ? `${Math.max(0, Math.min(100, soc))}%` : '0';
  setText('v-soh', fmt(s.soh_percent, 1));
  setText('v-state', s.online_status_name ? pretty(s.online_status_name) : '—');
  setText('v-voltage', fmt(s.voltage, 2));
  setText('v-current', fmt(s.current, 1));
  setText('v-power', isNum(s.power_w) ? Math.round(s.power_w).toString() : '—');
  const te = $('v-temp');
  if (s.temperature === null || s.temperature === undefined) { te.textContent = 'absent'; te.className = 'val big absent'; }
  else { te.textContent = fmt(s.temperature, 1); te.className = 'val big'; }
  const t = s.temperatures || {};
  tempText('t-ext1', t.external_1_c);
  tempText('t-ext2', t.external_2_c);
  tempText('t-int', t.internal_c);

  const lim = s.limits || {};
  const cvl = (s.stats && s.stats.cvl) || {};
  setText('v-cvl-state', cvl.state ? pretty(cvl.state) : (lim.cvl_v == null ? '—' : 'fixed'), 'val badge');
  setText('v-cvl', fmt(lim.cvl_v ?? cvl.cvl_voltage_v, 2));
  setText('v-ccl', fmt(lim.ccl_a ?? cvl.ccl_limit_a, 1));
  setText('v-dcl', fmt(lim.dcl_a ?? cvl.dcl_limit_a, 1));
  setText('v-dvl', fmt(lim.dvl_v, 2));
  setText('v-sent', lim.sent ? 'yes' : 'NO — frames stopped', lim.sent ? 'val' : 'val error');

  renderAlarms(s);
  renderPacks(s);
  renderCells(s);

  // links
  const ds = s.data_state || (s.data_valid ? 'valid' : 'waiting');
  const dsCls = ds === 'valid' ? 'ok' : ds === 'stale' ? 'bad' : 'warn';
  setText('v-data-state', ds, `badge ${dsCls}`);
  setText('v-data-age', isNum(s.data_age_ms) ? `reading ${fmtAge(s.data_age_ms)}` : '');
  const gx = s.gx || {};
  setText('v-gx', gx.keepalive_ok ? 'ok' : 'absent', `badge ${gx.keepalive_ok ? 'ok' : 'warn'}`);
  setText('v-gx-age', isNum(gx.keepalive_age_ms) ? `last ${fmtAge(gx.keepalive_age_ms)}` : 'never seen');
  setText('v-handshake', gx.victron_handshake ? 'yes' : 'no');
  const st = s.stats || {};
  const u = st.uart || {};
  setText('v-uart', isNum(u.polls) ? `${u.success}/${u.polls} ok, ${u.errors ?? 0} err, ${u.timeouts ?? 0} timeouts, ${fmt(u.latency_avg_ms, 1)} ms` : '—');
  const c = st.can || {};
  setText('v-can', isNum(c.tx_count) ? `${c.interface || ''} ${c.bus_state || ''} · tx ${c.tx_count} (${c.tx_errors ?? 0} err) · rx ${c.rx_count ?? 0}`.trim() : '—');
  setText('v-uptime', fmtDuration(s.uptime_ms));

  const pb = $('pill-bms');
  pb.textContent = `BMS: ${ds}`;
  pb.className = `pill ${dsCls}`;
  const pg = $('pill-gx');
  pg.textContent = `GX: ${gx.keepalive_ok ? 'ok' : 'no keepalive'}`;
  pg.className = `pill ${gx.keepalive_ok ? 'ok' : 'warn'}`;

  const en = s.energy || {};
  setText('v-charged', fmt(en.charged_kwh, 2));
  setText('v-discharged', fmt(en.discharged_kwh, 2));

  const bms = s.bms || {};
  const info = [
    ['Hardware', bms.hardware], ['Firmware', bms.firmware], ['Series cells', bms.series_cells],
    ['Capacity', isNum(bms.capacity_ah) ? `${bms.capacity_ah} Ah` : null],
    ['Over-voltage cutoff', isNum(bms.over_voltage_cutoff_mv) ? `${bms.over_voltage_cutoff_mv} mV` : null],
    ['Under-voltage cutoff', isNum(bms.under_voltage_cutoff_mv) ? `${bms.under_voltage_cutoff_mv} mV` : null],
    ['Charge over-current', isNum(bms.charge_over_current_a) ? `${bms.charge_over_current_a} A` : null],
    ['Discharge over-current', isNum(bms.discharge_over_current_a) ? `${bms.discharge_over_current_a} A` : null],
  ].filter(([, v]) => v !== null && v !== undefined);
  const ik = JSON.stringify(info);
  const box = $('bms-info');
  if (box.dataset.key !== ik) {
    box.dataset.key = ik;
    box.replaceChildren(...(info.length ? info.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])
      : [el('dt', {}, 'not read yet'), el('dd')]));
  }
  if (s.version) setText('version', `tinybms-victron-bridge ${s.version}`);
  renderFreshness();
}

// ---------------------------------------------------------------- history
const charts = [];
let historyTimer = null;

// Accepts a list of sample objects or a column object; returns {t: [unix s], get(name)}.
function normalizeHistory(d) {
  let rows = null, cols = null;
  if (Array.isArray(d)) rows = d;
  else if (d && Array.isArray(d.samples)) rows = d.samples;
  else if (d && Array.isArray(d.history)) rows = d.history;
  else if (d && typeof d === 'object') cols = d.columns || d;
  const nowS = Date.now() / 1000;
  const uptime = live.status && isNum(live.status.uptime_ms) ? live.status.uptime_ms : null;
  const toUnix = (v, kind) => {
    if (!isNum(v)) return null;
    if (kind === 'unix_ms' || v > 1e11) return v / 1000;
    if (kind === 'unix_s' || v > 1e9) return v;
    // monotonic / uptime milliseconds: place relative to now
    const ref = isNum(d && d.now_ms) ? d.now_ms : uptime;
    return ref !== null ? nowS - (ref - v) / 1000 : v / 1000;
  };
  const timeKeys = [['time_ms', 'unix_ms'], ['ts_ms', 'unix_ms'], ['unix_ms', 'unix_ms'], ['time', null], ['ts', null],
    ['t', null], ['t_ms', null], ['uptime_ms', null]];
  if (rows) {
    const tk = rows.length ? timeKeys.find(([k]) => k in rows[0]) : null;
    return {
      n: rows.length,
      t: rows.map((r) => (tk ? toUnix(r[tk[0]], tk[1]) : null)),
      get: (...names) => {
        const k = rows.length ? names.find((nm) => nm.split('.').reduce((o, p) => (o == null ? o : o[p]), rows[0]) !== undefined) : null;
        return rows.map((r) => (k ? k.split('.').reduce((o, p) => (o == null ? o : o[p]), r) ?? null : null));
      },
    };
  }
  if (cols) {
    const tk = timeKeys.find(([k]) => Array.isArray(cols[k]));
    const t = tk ? cols[tk[0]].map((v) => toUnix(v, tk[1])) : [];
    return {
      n: t.length, t,
      get: (...names) => { const k = names.find((nm) => Array.isArray(cols[nm])); return k ? cols[k] : t.map(() => null); },
    };
  }
  return { n: 0, t: [], get: () => [] };
}

const CHARTS = [
  {
    title: 'Voltage and current',
    series: [
      { label: 'Voltage (V)', keys: ['voltage', 'voltage_v', 'pack_v'], stroke: '#1f7a4d', scale: 'V' },
      { label: 'Current (A)', keys: ['current', 'current_a', 'pack_a'], stroke: '#4a90c2', scale: 'A' },
    ],
    axes: [{ scale: 'V', label: 'V' }, { scale: 'A', label: 'A', side: 1 }],
  },
  {
    title: 'State of charge',
    series: [{ label: 'SOC (%)', keys: ['soc_percent', 'soc'], stroke: '#8e44ad', scale: '%', fill: 'rgba(142,68,173,0.12)' }],
    axes: [{ scale: '%', label: '%' }],
    range: { '%': [0, 100] },
  },
  {
    title: 'Cell voltage min / max',
    series: [
      { label: 'Min cell (mV)', keys: ['min_cell_mv', 'cell_min_mv'], stroke: '#d9822b', scale: 'mV' },
      { label: 'Max cell (mV)', keys: ['max_cell_mv', 'cell_max_mv'], stroke: '#c0262d', scale: 'mV' },
    ],
    axes: [{ scale: 'mV', label: 'mV' }],
  },
  {
    title: 'Charge limits',
    series: [
      { label: 'CVL (V)', keys: ['cvl_v', 'limits.cvl_v', 'cvl'], stroke: '#1f7a4d', scale: 'V' },
      { label: 'CCL (A)', keys: ['ccl_a', 'limits.ccl_a', 'ccl'], stroke: '#4a90c2', scale: 'A' },
      { label: 'DCL (A)', keys: ['dcl_a', 'limits.dcl_a', 'dcl'], stroke: '#c0262d', scale: 'A' },
    ],
    axes: [{ scale: 'V', label: 'V' }, { scale: 'A', label: 'A', side: 1 }],
  },
];

function chartWidth(box) { return Math.max(240, Math.floor(box.clientWidth - 16)); }

function buildCharts(hist) {
  const box = $('charts');
  for (const c of charts) c.plot.destroy();
  charts.length = 0;
  box.replaceChildren();
  if (typeof window.uPlot !== 'function') {
    box.append(el('p', { class: 'error' }, 'The chart library (vendor/uPlot.iife.min.js) did not load.'));
    return;
  }
  for (const def of CHARTS) {
    const holder = el('div', { class: 'chart' }, el('h3', {}, def.title));
    box.append(holder);
    const data = [hist.t, ...def.series.map((s) => hist.get(...s.keys))];
    const axisStroke = getComputedStyle(document.body).color;
    const opts = {
      width: chartWidth(holder),
      height: 220,
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true }, ...Object.fromEntries(Object.entries(def.range || {}).map(([k, r]) => [k, { range: r }])) },
      series: [{}, ...def.series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, scale: s.scale, fill: s.fill, spanGaps: false }))],
      axes: [{ stroke: axisStroke, grid: { stroke: 'rgba(128,128,128,0.15)' } },
        ...def.axes.map((a) => ({ scale: a.scale, label: a.label, side: a.side ?? 3, stroke: axisStroke,
          grid: { show: a.side !== 1, stroke: 'rgba(128,128,128,0.15)' }, size: 56,
          values: (u, splits, ax, space, incr) => splits.map((v) => (v == null ? '' : v.toFixed(Math.max(0, Math.min(3, -Math.floor(Math.log10(incr) + 1e-9)))))) }))],
    };
    const plot = new window.uPlot(opts, data, holder);
    charts.push({ plot, holder, def });
  }
}

async function loadHistory() {
  const info = $('hist-info');
  const r = await api('GET', 'api/history');
  if (!r.ok) { info.textContent = `history unavailable: ${r.error}`; info.className = 'error'; return; }
  const hist = normalizeHistory(r.data);
  info.className = 'muted';
  info.textContent = hist.n ? `${hist.n} samples, ${new Date(hist.t[0] * 1000).toLocaleTimeString()} – ${new Date(hist.t[hist.n - 1] * 1000).toLocaleTimeString()}` : 'no samples yet';
  if (charts.length === CHARTS.length) {
    for (const c of charts) c.plot.setData([hist.t, ...c.def.series.map((s) => hist.get(...s.keys))]);
  } else {
    buildCharts(hist);
  }
}

function initHistory() {
  $('hist-refresh').addEventListener('click', loadHistory);
  pageEnter.history = () => {
    loadHistory();
    historyTimer = setInterval(loadHistory, 10000);
  };
  pageLeave.history = () => { clearInterval(historyTimer); historyTimer = null; };
  const ro = new ResizeObserver(() => {
    for (const c of charts) c.plot.setSize({ width: chartWidth(c.holder), height: 220 });
  });
  ro.observe($('charts'));
}

// ---------------------------------------------------------------- settings
const SECTION_TITLES = {
  hardware: 'Hardware (UART and CAN)', tinybms: 'TinyBMS polling', victron: 'Victron CAN-BMS',
  cvl: 'Charge control (CVL/CCL/DCL)', logging: 'Logging', web_server: 'Web server', mqtt: 'MQTT',
  wifi: 'Wi-Fi',
};
const SECRET_RE = /(^|\.)(password|token)$/;
const REDACTED = '********';
let settingsOrig = null;   // last document from the server
let settingsMeta = {};     // key -> {type, min, max, step, unit, description, enum, secret, default}
let settingsOnFirmware = false; // the page talks to the ESP32 firmware (GET api/ota answers)
// What the firmware does while a wifi key is absent (app/wifi_policy.c): the
// placeholder of an empty field, and the state a checkbox starts in.
const WIFI_UNSET = {
  'wifi.mode': 'sta', 'wifi.sta_hostname': 'tinybms-bridge', 'wifi.sta_ip_mode': 'dhcp',
  'wifi.ap_fallback.enabled': true, 'wifi.ap_fallback.ssid': 'tinybms-bridge-XXXX',
  'wifi.ap_fallback.channel': 1,
};

// Accepts the metadata in a few shapes: {key: meta}, [{key, ...}], or nested under schema/keys/meta.
function extractMeta(d) {
  const out = {};
  const src = d && (d.schema || d.keys || d.meta || d.ranges);
  if (!src) return out;
  const add = (k, m) => { if (k && m && typeof m === 'object') out[k] = m; };
  if (Array.isArray(src)) for (const m of src) add(m.key || m.name || m.path, m);
  else for (const [k, m] of Object.entries(src)) add(k, m);
  return out;
}

function settingsDoc(d) {
  if (d && d.settings && typeof d.settings === 'object') return d.settings;
  if (d && d.config && typeof d.config === 'object') return d.config;
  return d;
}

function leafKeys(obj, prefix = '') {
  const out = [];
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) out.push(...leafKeys(v, key));
    else out.push([key, v]);
  }
  return out;
}

function fieldId(key) { return `set-${key.replace(/[^a-zA-Z0-9_]/g, '-')}`; }

function rangeHint(m) {
  if (!m) return '';
  const parts = [];
  if (typeof m.range === 'string' && m.range) parts.push(m.range);
  else {
    if (Array.isArray(m.enum)) parts.push(m.enum.join(', '));
    if (isNum(m.min) || isNum(m.max)) parts.push(`${m.min ?? ''} .. ${m.max ?? ''}`);
    if (isNum(m.step) && m.step !== 1 && m.type !== 'integer') parts.push(`step ${m.step}`);
  }
  if (m.unit && m.unit !== 'degC') parts.push(m.unit);
  else if (m.unit) parts.push('°C');
  if (m.default !== undefined && m.default !== '') parts.push(`default ${m.default}`);
  return parts.join(' · ');
}

// placeholder: shown in an empty text or number field (a key the document lacks).
function makeField(key, value, meta, placeholder) {
  const id = fieldId(key);
  const name = key.split('.').pop();
  const secret = (meta && meta.secret) || SECRET_RE.test(key);
  const type = meta && meta.type;
  let input;
  if (typeof value === 'boolean' || type === 'bool' || type === 'boolean') {
    input = el('input', { type: 'checkbox', id, dataset: { key, kind: 'bool' } });
    input.checked = !!value;
  } else if (meta && Array.isArray(meta.enum)) {
    input = el('select', { id, dataset: { key, kind: 'enum' } }, meta.enum.map((o) => el('option', { value: o }, o)));
    input.value = String(value);
  } else if (typeof value === 'number' || type === 'integer' || type === 'number') {
    input = el('input', { type: 'number', id, inputmode: 'decimal', step: meta && isNum(meta.step) ? meta.step : 'any',
      dataset: { key, kind: 'number' } });
    input.value = isNum(value) ? String(value) : '';
    if (placeholder !== undefined) input.placeholder = String(placeholder);
  } else if (secret) {
    input = el('input', { type: 'password', id, autocomplete: 'new-password', dataset: { key, kind: 'secret' },
      placeholder: value === REDACTED ? 'set (type to replace)' : 'not set' });
  } else {
    input = el('input', { type: 'text', id, dataset: { key, kind: 'text' }, autocomplete: 'off' });
    input.value = value == null ? '' : String(value);
    if (placeholder !== undefined) input.placeholder = String(placeholder);
  }
  const hint = rangeHint(meta);
  let desc = meta && (meta.description || meta.desc);
  // The catalogue is written for both; on the firmware its Linux remarks only confuse.
  if (desc && settingsOnFirmware) desc = desc.replace(/\s*Not used on Linux:.*$/, '');
  const field = el('div', { class: 'field', dataset: { key } },
    el('label', { for: id }, pretty(name), el('span', { class: 'key' }, key)),
    el('div', { class: 'ctl' }, input,
      (hint || desc) ? el('span', { class: 'hint' }, [desc, hint].filter(Boolean).join(' — ')) : null,
      el('span', { class: 'field-error', role: 'alert', hidden: true })));
  input.addEventListener('input', () => { markChanged(field, input); clearFieldError(field); });
  input.addEventListener('change', () => markChanged(field, input));
  return field;
}

function inputValue(input) {
  switch (input.dataset.kind) {
    case 'bool': return input.checked;
    case 'number': {
      const raw = input.value.trim();
      if (raw === '') return input.validity.badInput ? NaN : null;
      return Number(raw);
    }
    default: return input.value;
  }
}

function getPath(obj, key) {
  return key.split('.').reduce((o, p) => (o == null ? o : o[p]), obj);
}

function origValue(key) { return getPath(settingsOrig, key); }

// A new board's configuration has no wifi keys, yet a user on its access point
// must be able to enter the network to join. So on the firmware every wifi key
// of the catalogue gets a field: an absent one starts at a value that counts
// as unchanged ('' / null / what the firmware does), so saving sends only the
// fields the user filled in. The section comes first when the document has none.
function withAbsentKeys(doc, keys) {
  if (!keys.length) return doc;
  const out = doc.wifi ? doc : { wifi: {}, ...doc };
  for (const k of keys) {
    const m = settingsMeta[k];
    const v = m.type === 'bool' ? (WIFI_UNSET[k] ?? false) : (m.secret || m.type === 'integer' || m.type === 'number') ? null : '';
    setPath(out, k, v);
  }
  return out;
}

function isChanged(input) {
  const key = input.dataset.key;
  const v = inputValue(input);
  if (input.dataset.kind === 'secret') return v !== '';
  if (input.dataset.kind === 'number') return !(v === null && origValue(key) == null) && v !== origValue(key);
  return v !== origValue(key);
}

function markChanged(field, input) { field.classList.toggle('changed', isChanged(input)); }

function clearFieldError(field) {
  field.classList.remove('invalid');
  const e = field.querySelector('.field-error');
  e.hidden = true;
  e.textContent = '';
}

function setStatus(id, text, cls = '') {
  const e = $(id);
  e.textContent = text;
  e.className = `status ${cls}`;
}

async function loadSettings() {
  setStatus('settings-status', 'loading…');
  const r = await api('GET', 'api/settings');
  if (!r.ok || !r.data) { setStatus('settings-status', `cannot load settings: ${r.error}`, 'error'); return; }
  settingsOrig = settingsDoc(r.data);
  settingsMeta = extractMeta(r.data);
  if (!Object.keys(settingsMeta).length) {
    // Built from docs/configuration.md by scripts/build-web and embedded with the UI.
    const m = await api('GET', 'settings-meta.json');
    if (m.ok && m.data) settingsMeta = extractMeta(m.data);
  }
  settingsOnFirmware = await onFirmware();
  const absent = {}; // wifi key the document lacks -> its placeholder
  if (settingsOnFirmware) {
    for (const k of Object.keys(settingsMeta)) {
      if (k.startsWith('wifi.') && origValue(k) === undefined) absent[k] = WIFI_UNSET[k] ?? settingsMeta[k].default;
    }
    settingsOrig = withAbsentKeys(settingsOrig, Object.keys(absent));
  }
  const field = (k, v) => makeField(k, v, settingsMeta[k], absent[k]);
  const box = $('settings-sections');
  box.replaceChildren();
  for (const [section, value] of Object.entries(settingsOrig)) {
    const fs = el('fieldset', { class: 'section', dataset: { section } }, el('legend', {}, SECTION_TITLES[section] || pretty(section)));
    if (section === 'wifi' && settingsOnFirmware) {
      fs.append(el('p', { class: 'muted note' }, 'Wi-Fi settings take effect after a restart of the board.'));
    }
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      // one level of sub-groups (hardware.uart, victron.thresholds)
      const flat = [], groups = [];
      for (const [k, v] of Object.entries(value)) (v && typeof v === 'object' && !Array.isArray(v) ? groups : flat).push([k, v]);
      for (const [k, v] of flat) fs.append(field(`${section}.${k}`, v));
      for (const [g, gv] of groups) {
        const gfs = el('fieldset', { class: 'group' }, el('legend', {}, pretty(g)));
        for (const [k, v] of leafKeys(gv, `${section}.${g}`)) gfs.append(field(k, v));
        fs.append(gfs);
      }
    } else {
      fs.append(field(section, value));
    }
    box.append(fs);
  }
  setStatus('settings-status', '');
}

function setPath(obj, key, value) {
  const parts = key.split('.');
  let o = obj;
  for (const p of parts.slice(0, -1)) o = (o[p] ??= {});
  o[parts[parts.length - 1]] = value;
}

function showFieldError(key, message) {
  const field = document.querySelector(`.field[data-key="${CSS.escape(key)}"]`);
  if (!field) return false;
  field.classList.add('invalid');
  const e = field.querySelector('.field-error');
  e.textContent = message;
  e.hidden = false;
  field.scrollIntoView({ block: 'center' });
  return true;
}

async function saveSettings(ev) {
  ev.preventDefault();
  for (const f of document.querySelectorAll('#settings-sections .field.invalid')) clearFieldError(f);
  const patch = {};
  let n = 0;
  for (const input of document.querySelectorAll('#settings-sections [data-key]:is(input,select)')) {
    if (!isChanged(input)) continue;
    let v = inputValue(input);
    if (input.dataset.kind === 'number' && (v === null || Number.isNaN(v))) {
      showFieldError(input.dataset.key, 'enter a number');
      setStatus('settings-status', 'Not saved: a number is missing or malformed.', 'error');
      return;
    }
    setPath(patch, input.dataset.key, v);
    n++;
  }
  if (!n) { setStatus('settings-status', 'Nothing changed.'); return; }
  setStatus('settings-status', 'saving…');
  $('settings-save').disabled = true;
  const r = await apiWrite('POST', 'api/settings', patch);
  $('settings-save').disabled = false;
  if (r.ok) {
    await loadSettings();
    let extra = r.data && r.data.restart_required ? ' Some changes take effect after a restart.' : '';
    // 202: saved, but the bridge loop has not confirmed it runs with them yet
    if (r.data && r.data.applied === false) extra += ' Not applied yet: the bridge applies them as soon as its loop responds.';
    setStatus('settings-status', `Saved ${n} change${n > 1 ? 's' : ''}.${extra}`, 'ok');
    return;
  }
  const key = r.data && r.data.key;
  const msg = (r.data && r.data.error) || r.error;
  if (r.status === 400 && key) {
    showFieldError(key, msg.startsWith(`${key}: `) ? msg.slice(key.length + 2) : msg);
    setStatus('settings-status', `Not saved: ${msg.startsWith(key) ? msg : `${key}: ${msg}`}`, 'error');
    return;
  }
  setStatus('settings-status', `Not saved. ${refusalMessage(r)}`, 'error');
}

// ---------------------------------------------------------------- firmware update
// GET api/ota answers on the ESP32 firmware only (404 from the Linux daemon):
// the firmware box and the Wi-Fi fields show only there. Asked once per visit
// of the Settings page. The image goes up as the raw request body.
let otaAnswer = null;
function otaInfo() { return (otaAnswer ??= api('GET', 'api/ota')); }

async function onFirmware() {
  const r = await otaInfo();
  return !!(r.ok && r.data && r.data.success);
}

async function loadFirmware() {
  const r = await otaInfo();
  const box = $('fw-box');
  box.hidden = !(r.ok && r.data && r.data.success);
  if (box.hidden) return;
  const d = r.data;
  let info = `Running ${d.version} from ${d.running_partition}; an update is written to ` +
    `${d.next_partition} (${Math.round(d.slot_size / 1024)} KB at most), checked, and the bridge restarts into it.`;
  if (d.pending_confirmation) {
    info += ' This firmware is new and on trial: it confirms itself after 60 s of healthy running,' +
      ' else the previous one comes back at the next restart.';
  }
  if (!d.enabled) info += ' Updates are disabled: advanced.enable_ota is false.';
  $('fw-info').textContent = info;
  $('fw-upload').disabled = !d.enabled;
}

async function uploadFirmware() {
  const file = $('fw-file').files[0];
  if (!file) { setStatus('fw-status', 'Choose the firmware file (build/tinybms-bridge.bin) first.', 'error'); return; }
  const sure = await confirmDialog('Update the firmware?',
    `Write ${file.name} (${Math.round(file.size / 1024)} KB) to the bridge and restart it into the new firmware? ` +
    'CAN frames to the GX stop for the restart.');
  if (!sure) return;
  if (!authHeader() && (await credentialsConfigured()) !== false) {
    const ok = await openLogin('A firmware update needs the user name and password (or the token) set in web_server.');
    if (!ok) return;
  }
  const headers = { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest',
    'Content-Type': 'application/octet-stream' };
  const a = authHeader();
  if (a) headers.Authorization = a;
  $('fw-upload').disabled = true;
  setStatus('fw-status', 'Uploading and checking… (the page waits until the bridge has written it)');
  let res, data = null;
  try {
    res = await fetch('api/ota', { method: 'POST', headers, body: file, cache: 'no-store' });
    try { data = await res.json(); } catch { data = null; }
  } catch (err) {
    setStatus('fw-status', `Upload failed: ${err.message}`, 'error');
    $('fw-upload').disabled = false;
    return;
  }
  if (res.ok && data && data.success) {
    setStatus('fw-status', `${data.message}. The page reconnects when the bridge is back.`, 'ok');
    return;
  }
  const error = (data && data.error) || `HTTP ${res.status}`;
  setStatus('fw-status', `Not updated. ${refusalMessage({ status: res.status, error })}`, 'error');
  $('fw-upload').disabled = false;
}

// POST api/restart (firmware only): the board answers, then restarts 1.5 s later.
async function restartBoard() {
  const sure = await confirmDialog('Restart the board?',
    'The bridge restarts with the saved settings; CAN frames to the GX stop for a few seconds.');
  if (!sure) return;
  $('fw-restart').disabled = true;
  const r = await apiWrite('POST', 'api/restart');
  $('fw-restart').disabled = false;
  if (r.ok && r.data && r.data.success) {
    setStatus('fw-restart-status', 'Restarting. The page reconnects when the board is back.', 'ok');
    return;
  }
  setStatus('fw-restart-status', `Not restarted. ${refusalMessage({ status: r.status, error: r.error })}`, 'error');
}

function initSettings() {
  $('settings-form').addEventListener('submit', saveSettings);
  $('settings-reload').addEventListener('click', loadSettings);
  $('fw-upload').addEventListener('click', uploadFirmware);
  $('fw-restart').addEventListener('click', restartBoard);
  pageEnter.settings = () => {
    otaAnswer = null;
    if (!settingsOrig || !document.querySelector('#settings-sections .field.changed')) loadSettings();
    loadFirmware();
  };
}

// ---------------------------------------------------------------- TinyBMS registers
let regsData = [];
let regsPack = null; // the pack read and written (1-based) with several packs; null: the one pack

// The pack selector, shown with several packs; GET ?pack=N and "pack": N in the write.
function regsPackOptions(packs) {
  const wrap = $('regs-pack-wrap');
  const sel = $('regs-pack');
  const multi = packs.length > 1;
  wrap.hidden = !multi;
  const before = regsPack;
  if (!multi) {
    regsPack = null;
  } else {
    const key = packs.map((p, i) => `${packNo(p, i)}:${packName(p, i)}`).join('|');
    if (sel.dataset.key !== key) {
      sel.dataset.key = key;
      sel.replaceChildren(...packs.map((p, i) => el('option', { value: packNo(p, i) }, `${packNo(p, i)} · ${packName(p, i)}`)));
    }
    if (regsPack === null || !packs.some((p, i) => packNo(p, i) === regsPack)) regsPack = packNo(packs[0], 0);
    if (sel.value !== String(regsPack)) sel.value = String(regsPack);
  }
  if (regsPack !== before) {
    // The table showed another pack (or "the" pack): read again for the one now chosen.
    regsData = [];
    if (currentPage === 'registers') loadRegs();
  }
}

function regsPackLabel() {
  if (regsPack === null) return '';
  const packs = live.status ? packsOf(live.status) : [];
  const i = packs.findIndex((p, k) => packNo(p, k) === regsPack);
  return i >= 0 ? ` of ${packName(packs[i], i)}` : ` of pack ${regsPack}`;
}

function regsList(d) {
  if (Array.isArray(d)) return d;
  if (d && Array.isArray(d.registers)) return d.registers;
  return [];
}

const regAddr = (r) => r.address ?? r.addr ?? r.register ?? r.reg;
const regWritable = (r) => !!(r.writable ?? (r.access ? /w/i.test(r.access) : false)) && (r.words ?? 1) === 1;
const regMin = (r) => r.min ?? (r.range && r.range.min);
const regMax = (r) => r.max ?? (r.range && r.range.max);

function regValueText(r) {
  const v = r.value;
  if (r.valid === false || v === null || v === undefined) return r.valid === false ? 'not read yet' : '—';
  let s;
  if (isNum(v)) s = Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000);
  else if (Array.isArray(v)) s = v.join(', ');
  else if (typeof v === 'object') s = Object.entries(v).map(([k, x]) => `${k}=${x}`).join(' ');
  else s = String(v);
  if (r.unit && (isNum(v) || Array.isArray(v))) s += ` ${r.unit}`;
  return s;
}

// Register ranges are in raw units (value = raw x scale).
function regRangeText(r) {
  const min = regMin(r), max = regMax(r);
  if (min === undefined && max === undefined) return '';
  const sc = isNum(r.scale) && r.scale !== 1 ? r.scale : null;
  const conv = (x) => (sc && isNum(x) ? Math.round(x * sc * 1000) / 1000 : x);
  return `${conv(min) ?? ''} .. ${conv(max) ?? ''}${r.unit ? ` ${r.unit}` : ''}`;
}

function renderRegs() {
  const only = $('regs-writable-only').checked;
  const body = $('regs-table').tBodies[0];
  body.replaceChildren(...regsData.filter((r) => !only || regWritable(r)).map((r) => {
    const w = regWritable(r);
    return el('tr', { class: w ? 'writable' : '', dataset: { address: regAddr(r) } },
      el('td', { class: 'mono' }, regAddr(r)),
      el('td', {}, pretty(r.name || r.label || ''), r.description ? el('div', { class: 'muted' }, r.description) : null,
        r.flags && r.flags.length ? el('div', { class: 'muted' }, [].concat(r.flags).join(', ')) : null),
      el('td', { class: 'mono' }, regValueText(r)),
      el('td', { class: 'muted' }, w ? regRangeText(r) : ''),
      el('td', {}, w ? el('button', { class: 'btn small', type: 'button', onclick: () => editReg(r) }, 'Edit') : ''));
  }));
}

async function loadRegs() {
  setStatus('regs-status', 'reading…');
  const pack = regsPack;
  const r = await api('GET', `api/tinybms/registers${pack !== null ? `?pack=${pack}` : ''}`);
  if (pack !== regsPack) return; // another pack was chosen meanwhile
  if (!r.ok) { setStatus('regs-status', `cannot read${regsPackLabel()}: ${r.error}`, 'error'); return; }
  regsData = regsList(r.data);
  renderRegs();
  setStatus('regs-status', `${regsData.length} registers${regsPackLabel()}, ${regsData.filter(regWritable).length} writable settings`);
}

async function editReg(reg) {
  const addr = regAddr(reg);
  const min = regMin(reg), max = regMax(reg);
  const cur = reg.raw;
  const sc = isNum(reg.scale) && reg.scale !== 1 ? reg.scale : null;
  const pack = regsPack;
  const value = await confirmDialog(`Write TinyBMS register ${addr}${regsPackLabel()}`,
    `${pretty(reg.name || '')}: the TinyBMS applies it at once. Current value ${regValueText(reg)}.` +
    (reg.interlock ? ' It is also checked against the other TinyBMS settings.' : '') +
    (reg.flags && [].concat(reg.flags).includes('restarts') ? ' Writing it restarts the TinyBMS.' : ''),
    { label: `New raw value${sc ? ` (× ${sc} ${reg.unit || ''})` : (reg.unit ? ` (${reg.unit})` : '')}`, min, max,
      value: isNum(cur) ? cur : '', step: 1,
      hint: min !== undefined || max !== undefined ? `allowed ${min ?? ''} .. ${max ?? ''} (raw)` : '' });
  if (value === null || value === '') return;
  const v = Number(value);
  if (!Number.isInteger(v)) { setStatus('regs-status', 'enter a whole number (raw register units)', 'error'); return; }
  if ((isNum(min) && v < min) || (isNum(max) && v > max)) {
    setStatus('regs-status', `${v} is outside ${min} .. ${max}; nothing written`, 'error');
    return;
  }
  const shown = sc ? ` (${Math.round(v * sc * 1000) / 1000} ${reg.unit || ''})` : (reg.unit ? ` ${reg.unit}` : '');
  const sure = await confirmDialog('Confirm register write', `Write ${v}${shown} to TinyBMS register ${addr}${regsPackLabel()} (${pretty(reg.name || '')})?`);
  if (!sure) return;
  if (pack !== regsPack) { setStatus('regs-status', 'the pack changed meanwhile; nothing written', 'error'); return; }
  setStatus('regs-status', 'writing…');
  const body = { address: addr, value: v };
  if (pack !== null) body.pack = pack;
  const r = await apiWrite('POST', 'api/tinybms/write', body);
  if (r.ok) {
    await loadRegs();
    setStatus('regs-status', `register ${addr}: ${(r.data && r.data.message) || 'written'}`, r.data && r.data.verified === false ? '' : 'ok');
  } else {
    setStatus('regs-status', `write refused: ${refusalMessage(r)}`, 'error');
  }
}

function initRegs() {
  $('regs-refresh').addEventListener('click', loadRegs);
  $('regs-pack').addEventListener('change', () => {
    regsPack = Number($('regs-pack').value);
    regsData = [];
    renderRegs();
    loadRegs();
  });
  $('regs-writable-only').addEventListener('change', renderRegs);
  pageEnter.registers = () => { if (!regsData.length) loadRegs(); };
}

// ---------------------------------------------------------------- CAN monitor
const can = { rows: [], lastSeq: -1, paused: false, pollTimer: null, max: 400 };

function fmtClock(ms) {
  const d = new Date(ms);
  return `${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function canRow(f) {
  const id = f.id_hex || (typeof f.id === 'number' ? `0x${f.id.toString(16).toUpperCase().padStart(3, '0')}` : String(f.id ?? ''));
  const t = isNum(f.t_ms) ? fmtClock(f.t_ms) : '';
  const tx = f.dir ? f.dir === 'tx' : !!f.tx;
  let text = f.text ?? '';
  if (text.startsWith(id)) text = text.slice(id.length).trim();
  return el('tr', { dataset: { seq: f.seq } },
    el('td', {}, t), el('td', { class: tx ? 'tx' : 'rx' }, tx ? 'TX' : 'RX'),
    el('td', {}, id), el('td', {}, f.data ?? ''), el('td', {}, text));
}

function canMatches(tr) {
  const q = $('can-filter').value.trim().toLowerCase();
  return !q || tr.textContent.toLowerCase().includes(q);
}

function onCanFrames(frames) {
  if (can.paused) return;
  const body = $('can-table').tBodies[0];
  const fresh = frames.filter((f) => !isNum(f.seq) || f.seq > can.lastSeq);
  if (!fresh.length) return;
  for (const f of fresh) if (isNum(f.seq)) can.lastSeq = Math.max(can.lastSeq, f.seq);
  if (currentPage !== 'can') return;
  const rows = fresh.map(canRow);
  for (const tr of rows) tr.hidden = !canMatches(tr);
  body.prepend(...rows.reverse());
  while (body.rows.length > can.max) body.deleteRow(-1);
  $('can-info').textContent = `last seq ${can.lastSeq}`;
}

async function pollCan() {
  if (live.wsOpen || can.paused) return;
  const r = await api('GET', `api/can${can.lastSeq >= 0 ? `?after=${can.lastSeq}` : ''}`);
  if (r.ok && r.data) onCanFrames(Array.isArray(r.data) ? r.data : (r.data.frames || []));
}

function initCan() {
  live.canListeners.add(onCanFrames);
  $('can-pause').addEventListener('click', () => {
    can.paused = !can.paused;
    $('can-pause').textContent = can.paused ? 'Resume' : 'Pause';
  });
  $('can-clear').addEventListener('click', () => $('can-table').tBodies[0].replaceChildren());
  $('can-filter').addEventListener('input', () => {
    for (const tr of $('can-table').tBodies[0].rows) tr.hidden = !canMatches(tr);
  });
  pageEnter.can = () => { pollCan(); can.pollTimer = setInterval(pollCan, 1000); };
  pageLeave.can = () => { clearInterval(can.pollTimer); };
}

// ---------------------------------------------------------------- logs
// GET api/logs?after=SEQ&limit=N returns lines with seq > after, oldest first,
// plus newest_seq. Pages are windows of pageSize seqs ending at `logs.end`.
const logs = { pageSize: 50, end: null, newest: null };

function logRow(e) {
  if (typeof e === 'string') return el('tr', {}, el('td'), el('td'), el('td', {}, e));
  const t = isNum(e.time_ms) ? fmtClock(e.time_ms) : (isNum(e.t_ms) ? fmtClock(e.t_ms) : (e.time || ''));
  const lv = (e.level || '').toUpperCase();
  const row = el('tr', { dataset: { seq: e.seq } }, el('td', {}, t), el('td', { class: `lv-${lv}` }, lv), el('td', {}, e.message ?? ''));
  if (isNum(e.time_ms)) row.title = new Date(e.time_ms).toLocaleString();
  return row;
}

async function loadLogs(end) {
  setStatus('logs-status', 'loading…');
  if (end === undefined || end === null) {
    const probe = await api('GET', 'api/logs?after=0&limit=1');
    if (!probe.ok) { setStatus('logs-status', `cannot load: ${probe.error}`, 'error'); return; }
    end = probe.data && isNum(probe.data.newest_seq) ? probe.data.newest_seq : 0;
  }
  const after = Math.max(0, end - logs.pageSize);
  const r = await api('GET', `api/logs?after=${after}&limit=${logs.pageSize}`);
  if (!r.ok) { setStatus('logs-status', `cannot load: ${r.error}`, 'error'); return; }
  const d = r.data || {};
  const list = Array.isArray(d.entries) ? d.entries : [];
  logs.newest = isNum(d.newest_seq) ? d.newest_seq : end;
  logs.end = Math.min(end, logs.newest);
  const seqs = list.map((e) => e.seq).filter(isNum);
  const oldest = seqs.length ? Math.min(...seqs) : null;
  const body = $('logs-table').tBodies[0];
  body.replaceChildren(...(list.length ? [...list].reverse().map(logRow)
    : [el('tr', {}, el('td', { colspan: 3, class: 'muted' }, 'log is empty'))]));
  setStatus('logs-status', list.length ? `lines ${oldest}–${Math.max(...seqs)} of ${logs.newest}, newest first` : 'no lines');
  $('logs-older').disabled = !(oldest !== null && after > 0);
  $('logs-newer').disabled = logs.end >= logs.newest;
}

async function clearLogs() {
  const sure = await confirmDialog('Clear the log', 'Delete every line of the bridge log kept in memory?');
  if (!sure) return;
  const r = await apiWrite('DELETE', 'api/logs');
  if (r.ok) { await loadLogs(); setStatus('logs-status', 'log cleared', 'ok'); }
  else setStatus('logs-status', `not cleared: ${refusalMessage(r)}`, 'error');
}

function initLogs() {
  $('logs-latest').addEventListener('click', () => loadLogs());
  $('logs-newer').addEventListener('click', () => loadLogs((logs.end ?? 0) + logs.pageSize));
  $('logs-older').addEventListener('click', () => loadLogs(Math.max(logs.pageSize, (logs.end ?? 0) - logs.pageSize)));
  $('logs-clear').addEventListener('click', clearLogs);
  pageEnter.logs = () => loadLogs();
}

// ---------------------------------------------------------------- start
function start() {
  initLogin();
  initHistory();
  initSettings();
  initRegs();
  initCan();
  initLogs();
  window.addEventListener('hashchange', route);
  route();
  renderFreshness();
  pollOnce();
  connectWs();
  setInterval(pollTick, 2000);
  setInterval(renderFreshness, 1000);
}

start();
