// Development aid: serves a built UI directory with a fake bridge API (docs/api.md
// shapes) so the pages can be worked on without the C server.
//   node tests/browser/mock-server.mjs build/web 8099 [--auth user:password] [--stale]
// Not used by the tests, which run against build/tinybms-bridge.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

const [dir = 'build/web', port = '8099', ...rest] = process.argv.slice(2);
const authArg = rest.includes('--auth') ? rest[rest.indexOf('--auth') + 1] : null;
const stale = rest.includes('--stale');
const t0 = Date.now();
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.svg': 'image/svg+xml' };

const settings = {
  hardware: { uart: { device: '/dev/ttyUSB0', baudrate: 115200, timeout_ms: 250, retries: 2 }, can: { interface: 'log:/dev/null', bitrate: 500000 } },
  tinybms: { poll_interval_ms: 100, bms_timeout_ms: 5000 },
  victron: { manufacturer_name: 'TinyBMS', max_charge_current_a: 50, thresholds: { overtemp_c: 55, low_temp_charge_c: 5 } },
  cvl: { enabled: true, bulk_soc_threshold: 90 },
  logging: { log_level: 'INFO', log_can_traffic: false },
  web_server: { port: 8080, bind_address: '0.0.0.0', username: authArg ? authArg.split(':')[0] : '', password: authArg ? '********' : '', token: '' },
};
let logSeq = 0;
const logLines = [];
const log = (level, message) => { logLines.push({ seq: ++logSeq, time_ms: Date.now(), level, message }); if (logLines.length > 1000) logLines.shift(); };
for (let i = 0; i < 120; i++) log(i % 17 ? 'INFO' : 'WARNING', `mock line ${i}`);
let canSeq = 0;
const canFrames = [];
const history = { interval_ms: 10000, capacity: 8640, count: 0, t: [], voltage: [], current: [], soc_percent: [], min_cell_mv: [], max_cell_mv: [], temperature: [], cvl_v: [], ccl_a: [], dcl_a: [] };

function status() {
  const s = (Date.now() - t0) / 1000;
  const soc = 60 + 10 * Math.sin(s / 30);
  const cur = 20 * Math.cos(s / 30);
  const cells = Array.from({ length: 16 }, (_, i) => ({ index: i + 1, mv: 3300 + ((i * 7) % 23) + Math.round(5 * Math.sin(s / 5 + i)), balancing: i === 3, needs_balancing: i === 3 || i === 9 }));
  const mvs = cells.map((c) => c.mv);
  return {
    voltage: 53.1 + cur / 100, current: Math.round(cur * 10) / 10, power_w: Math.round(53 * cur), soc_percent: Math.round(soc * 100) / 100, soh_percent: 100,
    temperature: 24.5, min_cell_mv: Math.min(...mvs), max_cell_mv: Math.max(...mvs), cell_imbalance_mv: Math.max(...mvs) - Math.min(...mvs),
    online_status: 0x93, online_status_name: 'discharging', uptime_ms: Date.now() - t0,
    data_valid: !stale, data_state: stale ? 'stale' : 'valid', data_age_ms: stale ? 12000 : 80, cell_count: 16, cells,
    temperatures: { external_1_c: 24.5, external_2_c: null, internal_c: 31.2 },
    limits: { cvl_v: 55.2, ccl_a: settings.victron.max_charge_current_a, dcl_a: 100, dvl_v: 46.4, sent: !stale },
    alarms: { active: [{ condition: 'cell_imbalance', level: 'warning' }], conditions: { cell_imbalance: 'warning' }, worst: 'warning' },
    gx: { keepalive_ok: false, keepalive_age_ms: null, victron_handshake: false },
    energy: { charged_kwh: 1.234, discharged_kwh: 2.5 },
    stats: { uart: { polls: 1000, success: 998, errors: 2, timeouts: 1, crc_errors: 1, latency_avg_ms: 12.3 }, can: { tx_count: 500, tx_errors: 0, rx_count: 0, bus_state: 'active', interface: 'log:/dev/null' }, cvl: { state: 'BULK', cvl_voltage_v: 55.2, ccl_limit_a: 50, dcl_limit_a: 100 }, bridge: {} },
    bms: { hardware: '2.1', firmware: '2.3 (internal 5)', series_cells: 16, capacity_ah: 280, over_voltage_cutoff_mv: 3650, under_voltage_cutoff_mv: 2800 },
    version: '0.1.0-mock',
  };
}

const clients = new Set();
function wsSend(sock, obj) {
  const payload = Buffer.from(JSON.stringify(obj));
  let header;
  if (payload.length < 126) header = Buffer.from([0x81, payload.length]);
  else if (payload.length < 65536) { header = Buffer.alloc(4); header[0] = 0x81; header[1] = 126; header.writeUInt16BE(payload.length, 2); }
  else { header = Buffer.alloc(10); header[0] = 0x81; header[1] = 127; header.writeBigUInt64BE(BigInt(payload.length), 2); }
  sock.write(Buffer.concat([header, payload]));
}

setInterval(() => {
  const st = status();
  for (const c of clients) wsSend(c, { type: 'status', data: st });
  const frames = [0x351, 0x355, 0x356].map((id) => ({ seq: ++canSeq, t_ms: Date.now(), dir: 'tx', id, id_hex: `0x${id.toString(16)}`, dlc: 8, data: '28 02 20 03 DC 05 D0 01', name: 'x', text: `0x${id.toString(16)} mock frame` }));
  canFrames.push(...frames); while (canFrames.length > 256) canFrames.shift();
  for (const c of clients) wsSend(c, { type: 'can', frames });
  for (const k of Object.keys(history)) if (Array.isArray(history[k])) { /* sampled below */ }
  history.t.push(Math.floor(Date.now() / 1000)); history.voltage.push(st.voltage); history.current.push(st.current);
  history.soc_percent.push(st.soc_percent); history.min_cell_mv.push(st.min_cell_mv); history.max_cell_mv.push(st.max_cell_mv);
  history.temperature.push(st.temperature); history.cvl_v.push(55.2); history.ccl_a.push(st.limits.ccl_a); history.dcl_a.push(100);
  history.count = history.t.length;
}, 1000);

const regs = [
  { address: 36, words: 2, name: 'pack_voltage', type: 'FLOAT', access: 'r', unit: 'V', scale: 1, raw: [1, 2], value: 53.12, valid: true },
  { address: 300, words: 1, name: 'fully_charged_voltage', description: 'Cell fully charged voltage', type: 'UINT16', access: 'rw', unit: 'mV', scale: 1, min: 1200, max: 4500, raw: 3550, value: 3550, valid: true },
  { address: 306, words: 1, name: 'battery_capacity', type: 'UINT16', access: 'rw', unit: 'Ah', scale: 0.01, min: 10, max: 65500, raw: 28000, value: 280, valid: true },
];

function json(res, code, obj) { res.writeHead(code, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(obj)); }
function authOk(req, res) {
  if (!authArg) { json(res, 403, { success: false, error: 'writes are disabled: no credentials configured; set web_server.username/password or web_server.token in the config file (mock) and restart or reload' }); return false; }
  if (req.headers.authorization !== `Basic ${Buffer.from(authArg).toString('base64')}`) { json(res, 401, { success: false, error: 'authentication required: HTTP Basic (web_server.username/password) or Authorization: Bearer <web_server.token>' }); return false; }
  return true;
}
const body = (req) => new Promise((r) => { let b = ''; req.on('data', (c) => { b += c; }); req.on('end', () => r(b)); });

const server = http.createServer(async (req, res) => {
  const u = new URL(req.url, 'http://x');
  const p = u.pathname;
  if (p === '/api/status') return json(res, 200, status());
  if (p === '/api/history') return json(res, 200, history);
  if (p === '/api/can') { const after = Number(u.searchParams.get('after') || 0); return json(res, 200, { last_seq: canSeq, frames: canFrames.filter((f) => f.seq > after) }); }
  if (p === '/api/tinybms/registers') return json(res, 200, { success: true, count: regs.length, registers: regs });
  if (p === '/api/tinybms/write') { if (!authOk(req, res)) return; const b = JSON.parse(await body(req)); const r = regs.find((x) => x.address === b.address); if (!r || b.value < r.min || b.value > r.max) return json(res, 400, { success: false, code: 'range', error: `register ${b.address}: ${b.value} is outside ${r?.min}..${r?.max}` }); r.raw = b.value; r.value = b.value * r.scale; return json(res, 200, { success: true, verified: true, message: 'written and verified by read-back' }); }
  if (p === '/api/logs' && req.method === 'DELETE') { if (!authOk(req, res)) return; logLines.length = 0; return json(res, 200, { success: true, message: 'log cleared' }); }
  if (p === '/api/logs') { const after = Number(u.searchParams.get('after') || 0); const limit = Number(u.searchParams.get('limit') || 200); const e = logLines.filter((l) => l.seq > after).slice(0, limit); return json(res, 200, { entries: e, last_seq: e.length ? e[e.length - 1].seq : after, newest_seq: logSeq, more: logLines.some((l) => l.seq > (e.length ? e[e.length - 1].seq : after)) }); }
  if (p === '/api/settings' && req.method === 'POST') {
    if (!authOk(req, res)) return;
    const b = JSON.parse(await body(req));
    const oc = b.victron?.thresholds?.overtemp_c;
    if (oc !== undefined && oc > 90) return json(res, 400, { success: false, key: 'victron.thresholds.overtemp_c', error: `victron.thresholds.overtemp_c: ${oc} is above the maximum 90` });
    const merge = (a, x) => { for (const [k, v] of Object.entries(x)) { if (v && typeof v === 'object') merge(a[k] ??= {}, v); else a[k] = v; } };
    merge(settings, b);
    return json(res, 200, { success: true, message: 'configuration saved to mock and applied' });
  }
  if (p === '/api/settings') return json(res, 200, settings);
  const file = path.join(dir, p === '/' ? 'index.html' : path.normalize(p).replace(/^\/+/, ''));
  if (file.startsWith(path.resolve(dir)) || !path.isAbsolute(dir)) {
    try { const data = fs.readFileSync(file); res.writeHead(200, { 'Content-Type': types[path.extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-cache' }); return res.end(data); } catch { /* 404 */ }
  }
  json(res, 404, { success: false, error: 'not found' });
});

server.on('upgrade', (req, sock) => {
  if (!req.url.startsWith('/ws')) { sock.destroy(); return; }
  const accept = crypto.createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  clients.add(sock);
  wsSend(sock, { type: 'status', data: status() });
  sock.on('data', () => {});
  sock.on('close', () => clients.delete(sock));
  sock.on('error', () => clients.delete(sock));
});

server.listen(Number(port), '127.0.0.1', () => console.log(`mock bridge on http://127.0.0.1:${port}/ serving ${dir}`));
