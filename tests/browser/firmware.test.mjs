// The firmware update box of the Settings page (web/app.js; the ESP32 firmware's
// /api/ota, docs/api.md) against the Linux bridge, where GET api/ota is 404, and
// with api/ota answered by page.route as the firmware answers it.
// Run by tests/py/test_browser.py beside ui.test.mjs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { URL_AUTH, USER, PASS, DESKTOP, launch, newPage, login, shot, apiGet, ARTIFACTS } from './common.mjs';

let browser;

before(async () => { browser = await launch(); });
after(async () => {
  if (browser) await browser.close();
});

const INFO = {
  success: true, version: '0.1.0', running_partition: 'ota_0', boot_partition: 'ota_0',
  next_partition: 'ota_1', slot_size: 1835008, pending_confirmation: true,
  rollback_possible: true, enabled: true,
};

// The wifi keys of the key catalogue (docs/configuration.md, settings-meta.json).
const WIFI_KEYS = ['wifi.mode', 'wifi.sta_ssid', 'wifi.sta_password', 'wifi.sta_hostname',
  'wifi.sta_ip_mode', 'wifi.sta_static_ip', 'wifi.sta_gateway', 'wifi.sta_subnet',
  'wifi.ap_fallback.enabled', 'wifi.ap_fallback.ssid', 'wifi.ap_fallback.password',
  'wifi.ap_fallback.channel'];

// Makes the page see the firmware: GET api/ota answers as the firmware's does.
async function fakeFirmware(page) {
  await page.route('**/api/ota', (route) => route.fulfill({
    status: 200, contentType: 'application/json', body: JSON.stringify(INFO),
  }));
}

describe('firmware update box', { timeout: 60000 }, () => {
  it('stays hidden where there is no /api/ota (the Linux daemon)', async () => {
    const page = await newPage(browser, DESKTOP);
    const answered = page.waitForResponse((r) => r.url().endsWith('/api/ota'));
    await page.goto(`${URL_AUTH}/#settings`);
    assert.equal((await answered).status(), 404);
    assert.equal(await page.locator('#fw-box').isHidden(), true);
    await page.close();
  });

  it('shows the slots and sends the file as the raw body with the credentials', async () => {
    const page = await newPage(browser, DESKTOP);
    let posted = null;
    await page.route('**/api/ota', async (route) => {
      const req = route.request();
      if (req.method() === 'GET') {
        return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(INFO) });
      }
      posted = { type: req.headers()['content-type'], auth: req.headers().authorization, body: req.postDataBuffer() };
      return route.fulfill({
        status: 200, contentType: 'application/json',
        body: JSON.stringify({ success: true, message: 'firmware 0.2.0 written to ota_1 and verified; restarting into it', version: '0.2.0' }),
      });
    });
    await page.goto(`${URL_AUTH}/#settings`);
    await page.waitForSelector('#fw-box:not([hidden])');
    const info = await page.locator('#fw-info').textContent();
    assert.match(info, /Running 0\.1\.0 from ota_0/);
    assert.match(info, /ota_1 \(1792 KB at most\)/);
    assert.match(info, /on trial/);
    await login(page);
    const image = Buffer.from([0xe9, 0x03, 0x02, 0x20, 1, 2, 3, 4]);
    await page.setInputFiles('#fw-file', { name: 'tinybms-bridge.bin', mimeType: 'application/octet-stream', buffer: image });
    await page.click('#fw-upload');
    await page.waitForSelector('#confirm-dialog[open] #confirm-text');
    await page.click('#confirm-ok');
    await page.waitForFunction(() => /restarting into it/.test(document.getElementById('fw-status').textContent));
    assert.ok(posted, 'POST api/ota sent');
    assert.equal(posted.type, 'application/octet-stream');
    assert.equal(posted.auth, `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`);
    assert.deepEqual([...posted.body], [...image]);
    await shot(page, 'firmware-update');
    await page.close();
  });

  it('shows the firmware\'s refusal', async () => {
    const page = await newPage(browser, DESKTOP);
    await page.route('**/api/ota', async (route) => {
      if (route.request().method() === 'GET') {
        return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ ...INFO, pending_confirmation: false }) });
      }
      return route.fulfill({
        status: 400, contentType: 'application/json',
        body: JSON.stringify({ success: false, error: 'firmware for another chip: built for esp32s3, this board is esp32c3' }),
      });
    });
    await page.goto(`${URL_AUTH}/#settings`);
    await page.waitForSelector('#fw-box:not([hidden])');
    assert.doesNotMatch(await page.locator('#fw-info').textContent(), /on trial/);
    await login(page);
    await page.setInputFiles('#fw-file', { name: 'blink.bin', mimeType: 'application/octet-stream', buffer: Buffer.from([1, 2, 3]) });
    await page.click('#fw-upload');
    await page.waitForSelector('#confirm-dialog[open] #confirm-text');
    await page.click('#confirm-ok');
    await page.waitForFunction(() => /Not updated/.test(document.getElementById('fw-status').textContent));
    assert.match(await page.locator('#fw-status').textContent(), /another chip/);
    assert.equal(await page.locator('#fw-upload').isDisabled(), false);
    await page.close();
  });
});

describe('restart button', { timeout: 60000 }, () => {
  it('posts api/restart with the credentials after a confirmation', async () => {
    const page = await newPage(browser, DESKTOP);
    await fakeFirmware(page);
    let posted = null;
    await page.route('**/api/restart', async (route) => {
      const req = route.request();
      posted = { method: req.method(), auth: req.headers().authorization };
      return route.fulfill({ status: 200, contentType: 'application/json',
        body: JSON.stringify({ success: true, message: 'restarting in 1500 ms' }) });
    });
    await page.goto(`${URL_AUTH}/#settings`);
    await page.waitForSelector('#fw-box:not([hidden])');
    await login(page);
    await page.click('#fw-restart');
    await page.waitForSelector('#confirm-dialog[open] #confirm-text');
    await page.click('#confirm-ok');
    await page.waitForFunction(() => /Restarting/.test(document.getElementById('fw-restart-status').textContent));
    assert.ok(posted, 'POST api/restart sent');
    assert.equal(posted.method, 'POST');
    assert.equal(posted.auth, `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`);
    await page.close();
  });
});

describe('Wi-Fi section of the settings', { timeout: 60000 }, () => {
  it('is absent on Linux (no /api/ota)', async () => {
    const page = await newPage(browser, DESKTOP);
    const answered = page.waitForResponse((r) => r.url().endsWith('/api/ota'));
    await page.goto(`${URL_AUTH}/#settings`);
    assert.equal((await answered).status(), 404);
    await page.waitForSelector('#settings-sections .field');
    assert.equal(await page.locator('#settings-sections [data-section="wifi"]').count(), 0);
    assert.equal(await page.locator('#settings-sections [data-key^="wifi."]').count(), 0);
    await page.close();
  });

  it('on the firmware shows every wifi key of the catalogue and sends only the changed ones', async () => {
    // The settings document has no wifi keys, as on a new board.
    const doc = await apiGet(URL_AUTH, 'api/settings');
    assert.equal(doc.wifi, undefined);
    const page = await newPage(browser, DESKTOP);
    await fakeFirmware(page);
    let posted = null;
    await page.route('**/api/settings', (route) => {
      const req = route.request();
      if (req.method() !== 'POST') return route.continue();
      posted = req.postDataJSON();
      return route.fulfill({
        status: 200, contentType: 'application/json',
        body: JSON.stringify({ success: true, applied: true, saved: true, restart_required: true }),
      });
    });
    await page.goto(`${URL_AUTH}/#settings`);
    await page.waitForSelector('#settings-sections [data-section="wifi"] .field');
    const wifi = page.locator('#settings-sections [data-section="wifi"]');
    assert.equal(await wifi.locator('legend').first().textContent(), 'Wi-Fi');
    assert.match(await wifi.locator('.note').textContent(), /Wi-Fi settings take effect after a restart of the board/);
    const keys = await wifi.locator('.field').evaluateAll((fs) => fs.map((f) => f.dataset.key));
    assert.deepEqual([...keys].sort(), [...WIFI_KEYS].sort());
    // A new board's section comes first; nothing counts as changed yet.
    assert.equal(await page.locator('#settings-sections > fieldset').first().getAttribute('data-section'), 'wifi');
    assert.equal(await page.locator('#settings-sections .field.changed').count(), 0);
    const input = (k) => page.locator(`#settings-sections [data-key="${k}"]:is(input,select)`);
    assert.equal(await input('wifi.sta_ssid').inputValue(), '');
    assert.equal(await input('wifi.sta_hostname').getAttribute('placeholder'), 'tinybms-bridge');
    assert.equal(await input('wifi.sta_password').getAttribute('type'), 'password');
    assert.equal(await input('wifi.ap_fallback.enabled').isChecked(), true);
    assert.doesNotMatch(await wifi.textContent(), /Not used on Linux/);

    await login(page);
    await input('wifi.sta_ssid').fill('Home network');
    await input('wifi.sta_password').fill('correct horse battery');
    await page.click('#settings-save');
    await page.waitForFunction(() => /Saved|Not saved/.test(document.getElementById('settings-status').textContent));
    const status = await page.locator('#settings-status').textContent();
    assert.match(status, /Saved 2 changes\. Some changes take effect after a restart\./, status);
    assert.deepEqual(posted, { wifi: { sta_ssid: 'Home network', sta_password: 'correct horse battery' } });
    await wifi.screenshot({ path: path.join(ARTIFACTS, 'settings-wifi-firmware.png') });
    await page.close();
  });
});
