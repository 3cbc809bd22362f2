// End-to-end test of `tplab serve` in headless Chromium (Debian's, driven by
// playwright-core): opens the page with the token, pings from the pod's terminal, waits
// for the step's check to tick, answers a question wrongly then rightly, reloads and
// resumes, and takes screenshots at 1280×800 and at a phone's width.
// Usage: node serve.mjs URL OUTDIR WORLD_IP POD_IP — prints one JSON line of findings.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [url, out, worldIp, podIp] = process.argv.slice(2);
const base = url.replace(/\/\?token=.*/, '');
const found = {};
const profile = mkdtempSync(join(tmpdir(), 'tplab-e2e-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 800 },
  // Playwright's waitForFunction evaluates strings; the page's own CSP forbids that.
  bypassCSP: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(30000);
  // Without the token: refused.
  found.no_token_status = (await page.request.get(base + '/')).status();
  await page.goto(url);
  found.url_after_login = page.url();
  await page.waitForSelector('.check[data-id="ping-nat"]');
  found.title = await page.textContent('#title');
  found.injected = await page.evaluate(() => window.injected === undefined ? null : window.injected);
  found.intro_text = await page.textContent('.intro');
  found.tabs = await page.$$eval('#tabs button', (b) => b.map((x) => x.textContent));
  // The pod's terminal: wait for its prompt, then type the ping.
  await page.waitForFunction(() => document.querySelector('#screen-pod .xterm-rows')
    && document.querySelector('#screen-pod .xterm-rows').textContent.includes('pod]'));
  await page.click('#screen-pod .xterm');
  await page.keyboard.type(`ping -c 3 ${worldIp}`);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#screen-pod .xterm-rows').textContent.includes('3 packets transmitted'));
  await page.waitForSelector('.check.pass[data-id="ping-nat"]');
  found.check_ticked = true;
  found.terminal_text = await page.textContent('#screen-pod .xterm-rows');
  await page.screenshot({ path: join(out, 'serve-1280x800.png') });
  await page.click('button.next');
  await page.waitForSelector('.question[data-id="pod-ip"]');
  // Reload: the session resumes at the same step.
  await page.reload();
  await page.waitForSelector('.question[data-id="pod-ip"]');
  found.resumed_step = await page.textContent('#step h2');
  await page.fill('.question[data-id="pod-ip"] input[type=text]', '192.0.2.1');
  await page.click('.question[data-id="pod-ip"] button.answer');
  await page.waitForSelector('.question[data-id="pod-ip"] .said.wrong');
  found.wrong = await page.textContent('.question[data-id="pod-ip"] .said');
  await page.fill('.question[data-id="pod-ip"] input[type=text]', podIp);
  await page.click('.question[data-id="pod-ip"] button.answer');
  await page.waitForSelector('.question[data-id="pod-ip"] .said.right');
  found.right = await page.textContent('.question[data-id="pod-ip"] .said');
  found.score = await page.textContent('#score');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(out, 'serve-390-phone.png'), fullPage: true });
  await page.click('button.next');
  await page.waitForSelector('#step h2.done');
  found.end = await page.textContent('#step');
  found.ok = true;
} catch (e) {
  found.error = String(e);
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(found));
