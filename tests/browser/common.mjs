// Shared set-up of the browser tests: headless Debian Chromium driven by playwright-core.
// Environment (set by tests/py/test_browser.py):
//   TBVB_URL          bridge with credentials configured, e.g. http://127.0.0.1:8123
//   TBVB_URL_NOAUTH   bridge without credentials (writes must be refused)
//   TBVB_USER, TBVB_PASS   the credentials of TBVB_URL
//   TBVB_CONFIG       configuration file of TBVB_URL (checked unchanged after a refused write)
//   TBVB_CONFIG_NOAUTH  configuration file of TBVB_URL_NOAUTH
//   TBVB_ARTIFACTS    where screenshots go (default tests/artifacts)
//   CHROMIUM          browser binary (default /usr/bin/chromium)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '..', '..');
export const URL_AUTH = process.env.TBVB_URL || 'http://127.0.0.1:8080';
export const URL_NOAUTH = process.env.TBVB_URL_NOAUTH || '';
export const USER = process.env.TBVB_USER || 'admin';
export const PASS = process.env.TBVB_PASS || '';
export const CONFIG = process.env.TBVB_CONFIG || '';
export const CONFIG_NOAUTH = process.env.TBVB_CONFIG_NOAUTH || '';
export const ARTIFACTS = process.env.TBVB_ARTIFACTS || path.join(ROOT, 'tests', 'artifacts');
fs.mkdirSync(ARTIFACTS, { recursive: true });

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 900 };

export async function launch() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tbvb-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    viewport: DESKTOP,
    timeout: 30000,
  });
  const browser = {
    context,
    // Every request any page makes; the UI must never leave the bridge's origin.
    requests: [],
    errors: [],
    async close() {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
  context.on('request', (r) => browser.requests.push(r.url()));
  return browser;
}

// A fresh page (sessionStorage is per page) with console errors collected.
export async function newPage(browser, viewport = DESKTOP) {
  const page = await browser.context.newPage();
  await page.setViewportSize(viewport);
  page.on('pageerror', (e) => browser.errors.push(`pageerror: ${e.message}`));
  return page;
}

export async function shot(page, name, fullPage = true) {
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  return file;
}

export async function apiGet(base, p) {
  const r = await fetch(new URL(p, base));
  if (!r.ok) throw new Error(`GET ${p}: ${r.status} ${await r.text()}`);
  return r.json();
}

export function readFile(file) {
  return file ? fs.readFileSync(file, 'utf8') : null;
}

export function readConfig() {
  return readFile(CONFIG);
}

// The setting the tests change through the Settings page, and where the dashboard shows it.
export const CHANGE = { key: 'victron.max_discharge_current_a', value: 80, selector: '#v-dcl', shown: '80.0' };

export async function waitFor(fn, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
}

// Logs in through the page's own dialog (credentials kept in sessionStorage).
export async function login(page, user = USER, pass = PASS) {
  await page.click('#login-btn');
  await page.fill('#login-user', user);
  await page.fill('#login-pass', pass);
  await page.click('#login-ok');
  await page.waitForFunction(() => sessionStorage.getItem('tbvb.auth') !== null);
}

// Fills one settings field (by its dotted key) and saves; returns the status text.
export async function changeSetting(page, key, value) {
  const input = page.locator(`#settings-sections [data-key="${key}"]:is(input,select)`);
  await input.waitFor({ state: 'visible' });
  await input.fill(String(value));
  await page.click('#settings-save');
  const status = page.locator('#settings-status');
  await page.waitForFunction(() => {
    const t = document.getElementById('settings-status').textContent;
    return t && !/saving|loading/.test(t);
  }, null, { timeout: 10000 });
  return status.textContent();
}

export async function noHorizontalOverflow(page) {
  return page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    bodyScrollWidth: document.body.scrollWidth,
    innerWidth: window.innerWidth,
  }));
}
