// End-to-end test of `tplab serve` in headless Chromium (Debian's, driven by
// playwright-core): opens the page with the token, pings from the pod's terminal, waits
// for the step's check to tick, answers a question wrongly then rightly, reloads and
// resumes, and takes screenshots at 1280×800 and at a phone's width; on the way, checks
// the live diagram (probed interfaces, the ping's hops lit, NAT at node:eth0), a dropped
// terminal socket reattaching to the same shell, a paste, and the end's report link.
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
  // The diagram: drawn from the probes, the ping's hops lit, NAT at the node's eth0.
  await page.waitForSelector('#diagram-svg .iface[data-hop="pod:eth0"]', { state: 'visible' });
  found.diagram_ifaces = await page.$$eval('#diagram-svg .iface', (cs) => cs.map((c) => ({
    role: c.dataset.role, name: c.dataset.name, ip: c.dataset.ip, mac: c.dataset.mac, hop: c.dataset.hop || null,
  })));
  await page.waitForSelector('#diagram-svg .iface.lit[data-hop="node:eth0"] .nat-badge');
  found.lit = await page.$$eval('#diagram-svg .iface.lit', (cs) => cs.map((c) => c.dataset.hop));
  found.nat_line = await page.textContent('#diagram-path li.nat');
  // Let the hop-by-hop lighting finish before the picture.
  await page.waitForTimeout(1500);
  await page.screenshot({ path: join(out, 'serve-1280x800.png') });
  // A network blip: the page's terminal socket drops; the page reattaches to the same
  // shell, whose earlier output is replayed.
  const shellPid = async () => {
    const tag = `PID${Date.now() % 100000}`;
    await page.click('#screen-pod .xterm');
    await page.keyboard.type(`echo ${tag}=$$`);
    await page.keyboard.press('Enter');
    const re = new RegExp(`${tag}=(\\d+)`);
    await page.waitForFunction((r) => new RegExp(r).test(document.querySelector('#screen-pod .xterm-rows').textContent), re.source);
    return (await page.textContent('#screen-pod .xterm-rows')).match(re)[1];
  };
  found.pid_before = await shellPid();
  await page.evaluate(() => window.tplabTerms.pod.ws.close(4000, 'test blip'));
  await page.waitForFunction(() => window.tplabTerms.pod.ws.readyState === 1 && window.tplabTerms.pod.ws.url.endsWith('/ws/term/pod'));
  await page.waitForFunction((p) => document.querySelector('#screen-pod .xterm-rows').textContent.includes(`=${p}`), found.pid_before);
  found.replayed = (await page.textContent('#screen-pod .xterm-rows')).includes('3 packets transmitted');
  found.pid_after = await shellPid();
  // Paste, as xterm does for a clipboard paste (bracketed), then Enter.
  await page.evaluate(() => window.tplabTerms.pod.term.paste('echo pasted-$((6*7))'));
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#screen-pod .xterm-rows').textContent.includes('pasted-42'));
  found.pasted = true;
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
  // The end links the session's HTML report, served under the token.
  const href = await page.getAttribute('#report-link', 'href');
  const rep = await page.request.get(new URL(href, base).toString());
  found.report_status = rep.status();
  found.report_is_html = (await rep.text()).includes('<html');
  found.report_without_token = (await fetch(base + '/report')).status;
  found.ok = true;
} catch (e) {
  found.error = String(e);
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(found));
