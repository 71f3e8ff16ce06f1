// Second phase, run by tests/py/test_browser.py after restarting the bridge that
// ui.test.mjs changed a setting on: the change survived the restart.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { URL_AUTH, DESKTOP, CHANGE, launch, newPage, apiGet, waitFor, shot } from './common.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

it('a settings change survives a restart of the bridge', { timeout: 40000 }, async () => {
  const s = await apiGet(URL_AUTH, 'api/settings');
  assert.equal(CHANGE.key.split('.').reduce((o, k) => o[k], s), CHANGE.value);
  const page = await newPage(browser, DESKTOP);
  await page.goto(`${URL_AUTH}/#settings`);
  const input = page.locator(`#settings-sections input[data-key="${CHANGE.key}"]`);
  await input.waitFor();
  assert.equal(await input.inputValue(), String(CHANGE.value));
  await page.goto(`${URL_AUTH}/#dashboard`);
  await waitFor(async () => (await page.locator(CHANGE.selector).textContent()) === CHANGE.shown, 15000,
    `${CHANGE.selector} to show ${CHANGE.shown} after the restart`);
  await shot(page, 'dashboard-after-restart');
  await page.close();
});
