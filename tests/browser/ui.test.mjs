// Browser end-to-end tests of the web UI against a running tinybms-bridge --simulate.
// Run by tests/py/test_browser.py (which starts the bridges); by hand:
//   TBVB_URL=http://127.0.0.1:8080 TBVB_PASS=... node --test tests/browser/ui.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  URL_AUTH, URL_NOAUTH, PHONE, DESKTOP, CHANGE, launch, newPage, shot, apiGet, readConfig, waitFor,
  login, changeSetting, noHorizontalOverflow, CONFIG_NOAUTH, readFile,
} from './common.mjs';

let browser;

before(async () => { browser = await launch(); });
after(async () => {
  if (browser) await browser.close();
});

async function dashboardValues(page) {
  return page.evaluate(() => ({
    soc: document.getElementById('v-soc').textContent,
    voltage: document.getElementById('v-voltage').textContent,
    current: document.getElementById('v-current').textContent,
    cells: [...document.querySelectorAll('#cells .cell .mv')].map((e) => e.textContent).join(','),
  }));
}

describe('web UI', { timeout: 120000 }, () => {
  it('dashboard shows live values that change over time', { timeout: 40000 }, async () => {
    const page = await newPage(browser, DESKTOP);
    await page.goto(URL_AUTH);
    await page.waitForSelector('#dash[data-state="valid"]', { timeout: 15000 });
    const first = await dashboardValues(page);
    assert.match(first.soc, /^\d+\.\d$/, `SOC ${first.soc}`);
    assert.match(first.voltage, /^\d+\.\d\d$/, `voltage ${first.voltage}`);
    assert.ok(first.cells.split(',').length >= 4, `cells ${first.cells}`);
    assert.equal(await page.locator('#banner').isHidden(), true, 'no stale banner while data is valid');
    const text = await page.locator('#dash').innerText();
    assert.ok(!text.includes('-3276.8'), 'absent sensors are not shown as -3276.8');
    // Absent temperature sensors read "absent", present ones a number.
    const st = await apiGet(URL_AUTH, 'api/status');
    for (const [k, id] of [['external_1_c', 't-ext1'], ['external_2_c', 't-ext2'], ['internal_c', 't-int']]) {
      const shown = await page.locator(`#${id}`).textContent();
      if (st.temperatures[k] === null) assert.equal(shown, 'absent', `${k}`);
      else assert.match(shown, /^-?\d+\.\d °C$/, `${k}: ${shown}`);
    }
    assert.equal(await page.locator('#cells .cell.min').count() >= 1 || st.cell_imbalance_mv === 0, true, 'min cell marked');
    assert.equal(await page.locator('#cells .cell.max').count() >= 1 || st.cell_imbalance_mv === 0, true, 'max cell marked');
    const changed = await waitFor(async () => {
      const now = await dashboardValues(page);
      return JSON.stringify(now) !== JSON.stringify(first) ? now : null;
    }, 25000, 'a dashboard value to change');
    assert.notDeepEqual(changed, first);
    await shot(page, 'dashboard');
    await page.close();
  });

  it('dashboard says loudly when BMS data is stale and greys the values', { timeout: 40000 }, async () => {
    const page = await newPage(browser, DESKTOP);
    const real = await apiGet(URL_AUTH, 'api/status');
    const stale = { ...real, data_valid: false, data_state: 'stale', data_age_ms: 42000, limits: { ...real.limits, sent: false } };
    await page.routeWebSocket(/\/ws/, (ws) => {
      ws.send(JSON.stringify({ type: 'status', data: stale }));
      const t = setInterval(() => ws.send(JSON.stringify({ type: 'status', data: stale })), 1000);
      t.unref();
      ws.onClose(() => clearInterval(t));
    });
    await page.route(/\/api\/status/, (route) => route.fulfill({ json: stale }));
    await page.goto(URL_AUTH);
    await page.waitForSelector('#dash.stale', { timeout: 5000 });
    const banner = await page.locator('#banner').innerText();
    assert.match(banner, /STALE/);
    assert.match(banner, /NOT live/);
    assert.match(banner, /42 s ago/);
    const color = await page.locator('#v-voltage').evaluate((e) => getComputedStyle(e).color);
    const live = await page.locator('.sub').evaluate(() => getComputedStyle(document.body).color);
    assert.notEqual(color, live, 'stale values are greyed');
    await shot(page, 'dashboard-stale', false);
    await page.close();
  });

  it('history charts are drawn with uPlot', { timeout: 40000 }, async () => {
    const page = await newPage(browser, DESKTOP);
    await page.goto(`${URL_AUTH}/#history`);
    await waitFor(async () => {
      if (await page.locator('#charts canvas').count() >= 4) return true;
      await page.click('#hist-refresh');
      return false;
    }, 15000, 'four uPlot charts');
    assert.equal(await page.locator('#charts .uplot').count(), 4);
    await shot(page, 'history');
    await page.close();
  });

  it('TinyBMS registers: reads all and writes a setting after confirmation', { timeout: 40000 }, async () => {
    const page = await newPage(browser, DESKTOP);
    await page.goto(`${URL_AUTH}/#registers`);
    await waitFor(async () => (await page.locator('#regs-table tbody tr').count()) > 20, 10000, 'register rows');
    await shot(page, 'registers');
    // Write a writable setting back with its current value (harmless), through both dialogs.
    const regs = (await apiGet(URL_AUTH, 'api/tinybms/registers')).registers;
    const reg = regs.find((r) => r.access === 'rw' && r.valid && r.words === 1 && Number.isInteger(r.raw) &&
      !(r.flags || []).includes('restarts') && !(r.flags || []).includes('reads_ffff') && r.raw >= (r.min ?? 0) && r.raw <= (r.max ?? 65535));
    assert.ok(reg, 'a writable register with a value');
    await login(page);
    await page.click(`#regs-table tr[data-address="${reg.address}"] button`);
    await page.waitForSelector('#confirm-dialog[open] #confirm-input');
    assert.equal(await page.inputValue('#confirm-input'), String(reg.raw));
    await page.click('#confirm-ok');
    await page.waitForSelector('#confirm-dialog[open] #confirm-text');
    assert.match(await page.locator('#confirm-text').innerText(), new RegExp(`Write ${reg.raw}.*register ${reg.address}`));
    await page.click('#confirm-ok');
    await page.waitForFunction(() => /^register \d+:|refused/.test(document.getElementById('regs-status').textContent), null, { timeout: 10000 });
    const status = await page.locator('#regs-status').textContent();
    assert.match(status, new RegExp(`register ${reg.address}: .*(written|verified)`), status);
    await page.close();
  });

  it('CAN monitor shows decoded frames live', { timeout: 40000 }, async () => {
    const page = await newPage(browser, DESKTOP);
    await page.goto(`${URL_AUTH}/#can`);
    await waitFor(async () => (await page.locator('#can-table tbody tr').count()) >= 3, 8000, 'CAN rows');
    const text = await page.locator('#can-table tbody').innerText();
    assert.match(text, /0x351/i, 'the 0x351 limits frame is listed');
    await shot(page, 'can');
    await page.close();
  });

  it('logs page lists lines', { timeout: 40000 }, async () => {
    const page = await newPage(browser, DESKTOP);
    await page.goto(`${URL_AUTH}/#logs`);
    await waitFor(async () => (await page.locator('#logs-table tbody tr[data-seq]').count()) > 0, 8000, 'log rows');
    await shot(page, 'logs');
    await page.close();
  });

  it('a settings change made on the Settings page is applied', { timeout: 40000 }, async () => {
    const page = await newPage(browser, DESKTOP);
    await page.goto(`${URL_AUTH}/#settings`);
    await login(page);
    const status = await changeSetting(page, CHANGE.key, CHANGE.value);
    assert.match(status, /Saved 1 change/, status);
    const s = await apiGet(URL_AUTH, 'api/settings');
    assert.equal(CHANGE.key.split('.').reduce((o, k) => o[k], s), CHANGE.value);
    if (readConfig() !== null) assert.equal(CHANGE.key.split('.').reduce((o, k) => o[k], JSON.parse(readConfig())), CHANGE.value);
    await shot(page, 'settings');
    await page.goto(`${URL_AUTH}/#dashboard`);
    await waitFor(async () => (await page.locator(CHANGE.selector).textContent()) === CHANGE.shown, 8000,
      `${CHANGE.selector} to show ${CHANGE.shown}`);
    await page.close();
  });

  it('an invalid setting shows its error next to the field and changes nothing', { timeout: 40000 }, async () => {
    const page = await newPage(browser, DESKTOP);
    await page.goto(`${URL_AUTH}/#settings`);
    await login(page);
    const before = readConfig();
    const settingsBefore = await apiGet(URL_AUTH, 'api/settings');
    const key = 'victron.thresholds.overtemp_c';
    const status = await changeSetting(page, key, 120);
    assert.match(status, /Not saved/, status);
    const err = page.locator(`.field[data-key="${key}"] .field-error`);
    assert.equal(await err.isVisible(), true);
    assert.match(await err.textContent(), /120 is above the maximum 90/);
    assert.match(await page.locator(`.field[data-key="${key}"]`).getAttribute("class"), /\binvalid\b/);
    await page.locator(`.field[data-key="${key}"]`).scrollIntoViewIfNeeded();
    await shot(page, 'settings-invalid', false);
    assert.deepEqual(await apiGet(URL_AUTH, 'api/settings'), settingsBefore);
    if (before !== null) assert.equal(readConfig(), before, 'configuration file unchanged');
    await page.close();
  });

  it('a write without credentials is refused and the page says so', { timeout: 40000 }, async () => {
    // 1. Bridge with credentials, page not logged in: it asks, the user cancels.
    const page = await newPage(browser, DESKTOP);
    await page.goto(`${URL_AUTH}/#settings`);
    const before = readConfig();
    const input = page.locator('#settings-sections input[data-key="victron.max_charge_current_a"]');
    await input.waitFor();
    await input.fill('42');
    await page.click('#settings-save');
    await page.waitForSelector('#login-dialog[open]');
    await page.locator('#login-dialog button[value="cancel"]').click();
    await page.waitForFunction(() => /Not saved/.test(document.getElementById('settings-status').textContent));
    assert.match(await page.locator('#settings-status').textContent(), /Not logged in or wrong credentials/);
    if (before !== null) assert.equal(readConfig(), before);
    await page.close();

    // 2. Bridge without configured credentials: 403 with the server's explanation.
    if (!URL_NOAUTH) return;
    const p2 = await newPage(browser, DESKTOP);
    await p2.goto(`${URL_NOAUTH}/#settings`);
    const before2 = readFile(CONFIG_NOAUTH);
    const status = await changeSetting(p2, 'victron.max_charge_current_a', 42);
    assert.match(status, /Refused by the bridge/, status);
    assert.match(status, /no credentials configured/, status);
    await shot(p2, 'settings-refused', false);
    const s = await apiGet(URL_NOAUTH, 'api/settings');
    assert.notEqual(s.victron.max_charge_current_a, 42);
    if (before2 !== null) assert.equal(readFile(CONFIG_NOAUTH), before2);
    await p2.close();
  });

  it('phone viewport (390x844) has no horizontal overflow on any page', { timeout: 40000 }, async () => {
    const page = await newPage(browser, PHONE);
    for (const p of ['dashboard', 'history', 'settings', 'registers', 'can', 'logs']) {
      await page.goto(`${URL_AUTH}/#${p}`);
      if (p === 'dashboard') await page.waitForSelector('#dash[data-state="valid"]', { timeout: 10000 });
      else await page.waitForTimeout(p === 'history' || p === 'settings' || p === 'registers' ? 1200 : 600);
      const o = await noHorizontalOverflow(page);
      assert.ok(o.scrollWidth <= PHONE.width && o.bodyScrollWidth <= PHONE.width, `${p}: ${JSON.stringify(o)}`);
      await shot(page, `phone-${p}`, p === 'dashboard' || p === 'settings');
    }
    await page.close();
  });

  it('the UI makes no request outside the bridge and raises no script error', { timeout: 40000 }, () => {
    const origins = new Set([new URL(URL_AUTH).origin, URL_NOAUTH ? new URL(URL_NOAUTH).origin : null].filter(Boolean));
    const foreign = browser.requests.filter((u) => {
      const o = new URL(u);
      return !origins.has(o.origin) && !origins.has(o.origin.replace(/^ws/, 'http'));
    });
    assert.deepEqual(foreign, []);
    assert.deepEqual(browser.errors, []);
  });
});
