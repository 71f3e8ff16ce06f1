// Browser tests of the bank view: a tinybms-bridge --simulate=2 (two packs on one DC bus) and a
// plain --simulate (one pack), both started by tests/py/test_browser.py::test_browser_packs.
// By hand: TBVB_URL_PACKS=http://127.0.0.1:8081 TBVB_URL_ONE=http://127.0.0.1:8080 \
//   TBVB_PASS=... node --test tests/browser/packs.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PHONE, DESKTOP, launch, newPage, shot, apiGet, waitFor, login, noHorizontalOverflow } from './common.mjs';

const URL_PACKS = process.env.TBVB_URL_PACKS || 'http://127.0.0.1:8081';
const URL_ONE = process.env.TBVB_URL_ONE || '';

let browser;

before(async () => { browser = await launch(); });
after(async () => {
  if (browser) await browser.close();
});

// What the page shows for each pack card.
async function packCards(page) {
  return page.evaluate(() => [...document.querySelectorAll('#packs .pack')].map((c) => ({
    pack: Number(c.dataset.pack),
    state: c.dataset.state,
    name: c.querySelector('.pack-name').textContent,
    badge: c.querySelector('.pack-state').textContent,
    badgeBg: getComputedStyle(c.querySelector('.pack-state')).backgroundColor,
    border: getComputedStyle(c).borderLeftColor,
    nodata: c.querySelector('.pack-nodata') ? c.querySelector('.pack-nodata').textContent : null,
    voltage: c.querySelector('[data-k="voltage"]').textContent,
    current: c.querySelector('[data-k="current"]').textContent,
    soc: c.querySelector('[data-k="soc"]').textContent,
    cells: c.querySelector('[data-k="cells"]').textContent,
    limits: c.querySelector('[data-k="limits"]').textContent,
    share: c.querySelector('[data-k="share"]').textContent,
    flags: [...c.querySelectorAll('[data-flag]')].map((f) => f.dataset.flag),
  })));
}

describe('bank view', { timeout: 120000 }, () => {
  it('two packs: each pack with its state, values, limits, share and cells', { timeout: 40000 }, async () => {
    const page = await newPage(browser, DESKTOP);
    await page.goto(URL_PACKS);
    await page.waitForSelector('#dash[data-state="valid"]', { timeout: 15000 });
    await page.waitForSelector('#packs-card:not([hidden]) #packs .pack', { timeout: 10000 });
    const st = await apiGet(URL_PACKS, 'api/status');
    assert.equal(st.packs.length, 2, 'the bridge reads two packs');
    const cards = await packCards(page);
    assert.deepEqual(cards.map((c) => c.pack), [1, 2]);
    assert.deepEqual(cards.map((c) => c.name), st.packs.map((p) => p.name));
    for (const c of cards) {
      assert.equal(c.state, 'online', `pack ${c.pack} state`);
      assert.equal(c.badge, 'online');
      assert.match(c.voltage, /^\d+\.\d\d V$/, `pack ${c.pack} voltage ${c.voltage}`);
      assert.match(c.current, /^-?\d+\.\d A$/, `pack ${c.pack} current ${c.current}`);
      assert.match(c.soc, /^\d+\.\d %$/, `pack ${c.pack} SOC ${c.soc}`);
      assert.match(c.cells, /^\d+ \/ \d+ mV$/, `pack ${c.pack} cells ${c.cells}`);
      assert.match(c.limits, /^\d+\.\d \/ \d+\.\d A$/, `pack ${c.pack} own limits ${c.limits}`);
      assert.match(c.share, /^\d+\.\d % \/ \d+\.\d %$/, `pack ${c.pack} share ${c.share}`);
      assert.equal(c.nodata, null);
    }
    // The simulated packs differ (80 % capacity, -10 points SOC...): so do their readings.
    assert.notEqual(cards[0].soc, cards[1].soc);
    // Which pack bounds the bank's limits: the one the bridge names, and only that one.
    await waitFor(async () => {
      const s = await apiGet(URL_PACKS, 'api/status');
      const shown = await packCards(page);
      const want = (flag, kind, pack) => shown.map((c) => c.flags.includes(flag)).join() ===
        s.packs.map((p, i) => p[flag] === true || (kind === 'share' && pack === i + 1)).join();
      return want('bounds_ccl', s.bank.ccl_bound, s.bank.ccl_pack) && want('bounds_dcl', s.bank.dcl_bound, s.bank.dcl_pack);
    }, 10000, 'the bounding pack marked as the bridge says');
    const bank = await page.locator('#bank-info').innerText();
    assert.match(bank, /CCL bound by/);
    assert.match(bank, /DCL bound by/);
    assert.match(bank, /2 online · 0 offline/);
    assert.match(await page.locator('#pill-packs').textContent(), /^packs: 2\/2 online$/);
    // One block of cells per pack, as many tiles as the pack has cells; the one-pack grid hidden.
    assert.equal(await page.locator('#cells').isHidden(), true);
    const blocks = page.locator('#pack-cells .pack-cell-block');
    assert.equal(await blocks.count(), 2);
    for (let i = 0; i < 2; i++) {
      assert.equal(await blocks.nth(i).locator('.cell').count(), st.packs[i].cell_count);
      assert.equal(await blocks.nth(i).locator('.pack-name').textContent(), st.packs[i].name);
    }
    assert.match(await page.locator('#cells-summary').textContent(), /^2 packs · 32 cells/);
    await shot(page, 'dashboard-packs');
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(300);
    const o = await noHorizontalOverflow(page);
    assert.ok(o.scrollWidth <= PHONE.width && o.bodyScrollWidth <= PHONE.width, JSON.stringify(o));
    await shot(page, 'phone-dashboard-packs');
    await page.close();
  });

  it('offline, silent and joining packs are marked in colour and in words', { timeout: 40000 }, async () => {
    const page = await newPage(browser, DESKTOP);
    const real = await apiGet(URL_PACKS, 'api/status');
    const [p1, p2] = real.packs;
    const gone = {
      ...p2, state: 'offline', member: false, data_valid: false, data_age_ms: 61000, blocks_charge: true,
      blocks_discharge: true, voltage: null, current: null, soc_percent: null, min_cell_mv: null, max_cell_mv: null,
      cells: [], limits: { ...p2.limits, ccl_a: null, dcl_a: null },
    };
    const silent = { ...p1, index: 3, name: 'Shed', state: 'silent', data_valid: false, data_age_ms: 7000 };
    const joining = { ...p1, index: 4, name: 'Garage', state: 'joining', member: false };
    const doc = {
      ...real,
      packs: [p1, gone, silent, joining],
      bank: { ...real.bank, warnings: ['pack_offline', 'pack_silent', 'pack_blocking'],
        modules: { online: 1, offline: 3, blocking_charge: 1, blocking_discharge: 1 } },
    };
    await page.routeWebSocket(/\/ws/, (ws) => {
      ws.send(JSON.stringify({ type: 'status', data: doc }));
      const t = setInterval(() => ws.send(JSON.stringify({ type: 'status', data: doc })), 1000);
      t.unref();
      ws.onClose(() => clearInterval(t));
    });
    await page.route(/\/api\/status/, (route) => route.fulfill({ json: doc }));
    await page.goto(URL_PACKS);
    await waitFor(async () => (await page.locator('#packs .pack').count()) === 4, 10000, 'four pack cards');
    const cards = await packCards(page);
    assert.deepEqual(cards.map((c) => [c.name, c.badge]),
      [[p1.name, 'online'], [p2.name, 'offline'], ['Shed', 'silent'], ['Garage', 'joining']]);
    // Words and colours: offline is not online's green; silent and joining share a warning colour.
    assert.notEqual(cards[1].badgeBg, cards[0].badgeBg);
    assert.notEqual(cards[1].border, cards[0].border);
    assert.notEqual(cards[2].badgeBg, cards[0].badgeBg);
    assert.notEqual(cards[2].badgeBg, cards[1].badgeBg);
    assert.equal(cards[3].badgeBg, cards[2].badgeBg);
    // The offline pack: no reading shown as if current, its blocking said.
    assert.match(cards[1].nodata, /NO CURRENT READING — last 61 s ago/);
    assert.equal(cards[1].voltage, '—');
    assert.equal(cards[1].cells, '—');
    assert.equal(cards[1].limits, '—');
    assert.ok(cards[1].flags.includes('blocks_charge') && cards[1].flags.includes('blocks_discharge'));
    assert.match(cards[2].nodata, /NO CURRENT READING — last 7\.0 s ago/);
    assert.match(await page.locator('#pill-packs').textContent(), /^packs: 1\/4 online$/);
    const bank = await page.locator('#bank-info').innerText();
    assert.match(bank, /PACK OFFLINE/i);
    assert.match(bank, /PACK SILENT/i);
    assert.match(bank, /1 online · 3 offline · 1 blocking charge/);
    // Its cell block says it has no current reading.
    const block = page.locator('#pack-cells .pack-cell-block').nth(1);
    assert.match(await block.locator('.summary').textContent(), /no current reading/);
    await shot(page, 'dashboard-packs-offline');
    await page.close();
  });

  it('TinyBMS page: the pack selector reads and writes the chosen pack', { timeout: 40000 }, async () => {
    const page = await newPage(browser, DESKTOP);
    const asked = [];
    page.on('request', (r) => {
      if (/api\/tinybms\/(registers|write)/.test(r.url())) asked.push({ url: r.url(), body: r.postData() });
    });
    await page.goto(`${URL_PACKS}/#registers`);
    await page.waitForSelector('#regs-pack-wrap:not([hidden])', { timeout: 10000 });
    assert.equal(await page.locator('#regs-pack option').count(), 2);
    await waitFor(async () => /registers of /.test(await page.locator('#regs-status').textContent()), 10000, 'pack 1 read');
    assert.ok(asked.some((a) => /registers\?pack=1$/.test(a.url)), JSON.stringify(asked));
    await page.selectOption('#regs-pack', '2');
    const st = await apiGet(URL_PACKS, 'api/status');
    await waitFor(async () => (await page.locator('#regs-status').textContent()).includes(`of ${st.packs[1].name}`), 10000, 'pack 2 read');
    assert.ok(asked.some((a) => /registers\?pack=2$/.test(a.url)), JSON.stringify(asked));
    // Write a setting of pack 2 back with its current value (harmless), through both dialogs.
    const regs = (await apiGet(URL_PACKS, 'api/tinybms/registers?pack=2')).registers;
    const reg = regs.find((r) => r.access === 'rw' && r.valid && r.words === 1 && Number.isInteger(r.raw) &&
      !(r.flags || []).includes('restarts') && !(r.flags || []).includes('reads_ffff') && r.raw >= (r.min ?? 0) && r.raw <= (r.max ?? 65535));
    assert.ok(reg, 'a writable register of pack 2 with a value');
    await login(page);
    await page.click(`#regs-table tr[data-address="${reg.address}"] button`);
    await page.waitForSelector('#confirm-dialog[open] #confirm-input');
    assert.match(await page.locator('#confirm-title').textContent(), new RegExp(`register ${reg.address} of ${st.packs[1].name}`));
    await page.click('#confirm-ok');
    await page.waitForSelector('#confirm-dialog[open] #confirm-text');
    await page.click('#confirm-ok');
    await page.waitForFunction(() => /^register \d+:|refused/.test(document.getElementById('regs-status').textContent), null, { timeout: 10000 });
    const status = await page.locator('#regs-status').textContent();
    assert.match(status, new RegExp(`register ${reg.address}: .*(written|verified)`), status);
    const write = asked.find((a) => /api\/tinybms\/write$/.test(a.url));
    assert.ok(write, 'a write was sent');
    assert.deepEqual(JSON.parse(write.body), { address: reg.address, value: reg.raw, pack: 2 });
    await shot(page, 'registers-packs');
    await page.close();
  });

  it('one pack: the page is the one-pack page (no pack card, no selector)', { timeout: 40000 }, async (t) => {
    if (!URL_ONE) { t.skip('TBVB_URL_ONE not given'); return; }
    const page = await newPage(browser, DESKTOP);
    const asked = [];
    page.on('request', (r) => { if (/api\/tinybms\/registers/.test(r.url())) asked.push(r.url()); });
    await page.goto(URL_ONE);
    await page.waitForSelector('#dash[data-state="valid"]', { timeout: 15000 });
    const st = await apiGet(URL_ONE, 'api/status');
    assert.equal(st.packs, undefined, 'the one-pack document has no packs array');
    assert.equal(await page.locator('#packs-card').isHidden(), true);
    assert.equal(await page.locator('#pill-packs').isHidden(), true);
    assert.equal(await page.locator('#pack-cells').isHidden(), true);
    assert.equal(await page.locator('#cells .cell').count(), st.cells.length);
    assert.match(await page.locator('#cells-summary').textContent(), new RegExp(`^${st.cells.length} cells · min`));
    await page.goto(`${URL_ONE}/#registers`);
    await waitFor(async () => (await page.locator('#regs-table tbody tr').count()) > 20, 10000, 'register rows');
    assert.equal(await page.locator('#regs-pack-wrap').isHidden(), true);
    assert.ok(asked.length > 0 && asked.every((u) => !u.includes('pack=')), JSON.stringify(asked));
    await page.close();
  });

  it('no script error', () => {
    assert.deepEqual(browser.errors, []);
  });
});
