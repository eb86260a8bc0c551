import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT, runCli, startCli, tempDir, waitStarted, type CliProcess } from '../helpers/agent.ts';
import { startAggregator, type RunningAggregator } from './helpers.ts';

/**
 * The dashboard in a real browser: Debian's chromium (toolchain/bootstrap.sh installs it) driven
 * by playwright-core, against a real aggregator fed by two real agents (`logloom run` with the
 * log_aggregator_remote sink). Screenshots of every page go to test/output/dashboard/ (or
 * $LOGLOOM_TEST_OUTPUT/dashboard/).
 */
const OUT = join(process.env.LOGLOOM_TEST_OUTPUT ?? join(ROOT, 'test/output'), 'dashboard');
const SILENT_AFTER_MS = 3000;

async function send(socketPath: string, entries: object[]): Promise<void> {
  const s = connect(socketPath);
  await once(s, 'connect');
  s.end(entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
  await once(s, 'close');
}

interface Agent extends CliProcess {
  ingest: string;
}

/** A real agent (`logloom run`) with a unix input, forwarding to the aggregator. */
async function startNode(node: string, port: number): Promise<Agent> {
  const dir = tempDir(`logloom-dashboard-${node}-`);
  const yaml = `logloom:\n  node_id: ${node}\n  data_dir: ${dir}/data\n  runtime_dir: ${dir}/run\n  control:\n    socket: ${dir}/run/control.sock\n` +
    `  inputs:\n    - type: unix\n      path: ${dir}/run/ingest.sock\n  plugins:\n    enabled: [log_aggregator_remote]\n    config:\n      log_aggregator_remote:\n` +
    `        addresses: ["127.0.0.1:${port}"]\n        batch_max_ms: 50ms\n        backoff_max: 500ms\n`;
  writeFileSync(join(dir, 'logloom.yaml'), yaml);
  const p = startCli(['run', '-c', join(dir, 'logloom.yaml')]);
  await waitStarted(p, /started on node/, `agent ${node}`);
  return { ...p, ingest: `${dir}/run/ingest.sock` };
}

async function stopNode(a: Agent): Promise<void> {
  if (a.proc.exitCode !== null || a.proc.signalCode !== null) return;
  a.proc.kill('SIGTERM');
  await a.exited;
}

describe('web dashboard in chromium', () => {
  let agg: RunningAggregator;
  let base = '';
  let viewer = '';
  let browser: BrowserContext;
  let page: Page;
  const agents: Agent[] = [];

  before(async () => {
    mkdirSync(OUT, { recursive: true });
    const dir = tempDir('logloom-dashboard-');
    const tok = await runCli(['aggregator', 'api-token', 'browser', '--tokens', join(dir, 'api-tokens')]);
    assert.equal(tok.code, 0, tok.stderr);
    viewer = tok.stdout.trim();
    agg = await startAggregator('', dir, `    auth:\n      mode: none\n    index:\n      flush_interval: 20ms\n    api:\n      tokens_file: DIR/api-tokens\n      silent_after: ${SILENT_AFTER_MS}ms\n`);
    base = /dashboard at (http:\/\/[^/ ]+)\//.exec(await agg.stderr.waitFor(/dashboard at /))![1]!;
    for (const node of ['gw-alpha', 'gw-beta']) {
      agents.push(await startNode(node, agg.port));
    }
    const [alpha, beta] = agents as [Agent, Agent];
    await send(alpha.ingest, [
      { level: 'INFO', module: 'CORE', message: 'boot complete, firmware 4.2.1' },
      { level: 'WARN', module: 'DISK', message: 'disk space low on /data: 7% free', lang_key: 'demo.disk_low', args: ['/data', 7] },
      { level: 'FATAL', module: 'KERNEL', source: 'kmsg', message: 'Oops: 0002 [#1] PREEMPT ARM' },
      { level: 'ERROR', module: 'KERNEL', source: 'kmsg', message: 'PC is at ring_write+0x1c/0x80' },
      { level: 'INFO', module: 'AI', message: 'Summary: one kernel oops after the disk filled up' },
    ]);
    await send(beta.ingest, [{ level: 'INFO', module: 'NET', message: 'uplink eth0 up, marmalade handshake done' }]);
    // Both nodes' entries are in the index before the browser looks.
    await untilApi(base, viewer, '/api/entries?limit=100', (b) => b.entries.length >= 6);
    // /usr/bin/chromium is Debian's; no browser is downloaded. A fresh profile (user data dir) per run.
    browser = await chromium.launchPersistentContext(mkdtempSync(join(dir, 'chromium-')), {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 800 },
    });
    page = browser.pages()[0] ?? await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    for (const a of agents) await stopNode(a);
    await agg?.stop();
  });

  it('refuses the API without a token and shows the login page', async () => {
    const r = await page.request.get(`${base}/api/nodes`);
    assert.equal(r.status(), 401);
    assert.match((await r.json()).error, /bearer token is required/);
    await page.goto(`${base}/`);
    await page.waitForSelector('#login');
    await page.fill('#token', 'wrong-token');
    await page.click('#sign-in');
    await page.waitForSelector('#login-error:has-text("unknown or revoked token")');
    await page.screenshot({ path: join(OUT, '01-login.png') });
  });

  it('signs in with a viewer token and lists the nodes in the fleet table', async () => {
    await page.fill('#token', viewer);
    await page.click('#sign-in');
    await page.waitForSelector('tr[data-node="gw-alpha"][data-status="up"]');
    await page.waitForSelector('tr[data-node="gw-beta"][data-status="up"]');
    // The agents' STATS reports: their version, no drops, an empty spool.
    await page.waitForSelector('tr[data-node="gw-alpha"]:has-text("0.1.0")');
    const alphaRow = await page.textContent('tr[data-node="gw-alpha"]');
    assert.match(alphaRow!, /gw-alpha/);
    await page.screenshot({ path: join(OUT, '02-fleet.png') });
    // Sortable (click a header twice: descending) and filterable.
    const order = () => page.locator('#fleet-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-node')));
    assert.deepEqual(await order(), ['gw-alpha', 'gw-beta']);
    await page.click('th[data-key="name"]');
    await page.waitForFunction(() => document.querySelector('#fleet-table tbody tr')?.getAttribute('data-node') === 'gw-beta');
    await page.click('th[data-key="name"]');
    await page.fill('#fleet-filter', 'beta');
    await page.waitForFunction(() => document.querySelectorAll('#fleet-table tbody tr').length === 1);
    assert.deepEqual(await order(), ['gw-beta']);
    await page.fill('#fleet-filter', '');
    await page.waitForFunction(() => document.querySelectorAll('#fleet-table tbody tr').length === 2);
  });

  it('turns a stopped agent\'s node silent within the threshold', async () => {
    const t0 = Date.now();
    await stopNode(agents[1]!);
    await page.waitForSelector('tr[data-node="gw-beta"][data-status="silent"]', { timeout: SILENT_AFTER_MS + 5000 });
    assert.ok(Date.now() - t0 <= SILENT_AFTER_MS + 5000);
    assert.equal(await page.getAttribute('tr[data-node="gw-alpha"]', 'data-status'), 'up');
    await page.screenshot({ path: join(OUT, '03-fleet-silent.png') });
  });

  it('finds a known entry by search', async () => {
    await page.click('#nav-search');
    await page.fill('#search-q', 'marmalade');
    await page.click('#search-go');
    await page.waitForSelector('#search-results tr:has-text("marmalade handshake")');
    assert.equal(await page.locator('#search-results tr').count(), 1);
    assert.match((await page.textContent('#search-results tr'))!, /gw-beta/);
    await page.screenshot({ path: join(OUT, '04-search.png') });
  });

  it('shows a new entry in the live tail within 2 s', async () => {
    await page.click('#nav-tail');
    await page.waitForSelector('#tail-state[data-live="true"]');
    const t0 = Date.now();
    await send(agents[0]!.ingest, [{ level: 'ERROR', module: 'APP', message: 'pump pressure out of range: 9.7 bar' }]);
    await page.waitForSelector('#tail-table tr:has-text("pump pressure out of range")', { timeout: 10_000 });
    const ms = Date.now() - t0;
    assert.ok(ms <= 2000, `the entry took ${ms} ms to show`);
    await page.screenshot({ path: join(OUT, '05-tail.png') });
  });

  it('shows a node page with its level histogram, the oops highlighted and the AI summary', async () => {
    await page.goto(`${base}/#/node/gw-alpha`);
    await page.waitForSelector('#histogram .bar');
    await page.waitForSelector('#incidents .incident:has-text("Oops: 0002")');
    assert.match((await page.textContent('#incidents .incident'))!, /PC is at ring_write/);
    await page.waitForSelector('#summaries .summary:has-text("one kernel oops")');
    assert.ok(await page.locator('#histogram .seg-FATAL').count() >= 1);
    await page.screenshot({ path: join(OUT, '06-node.png'), fullPage: true });
  });

  it('switches the UI to Chinese and renders a lang_key entry in Chinese', async () => {
    await page.click('#lang-zh');
    await page.waitForSelector('#nav-fleet:has-text("设备群")');
    await page.waitForSelector('#recent tr:has-text("/data 磁盘空间不足：剩余 7%")');
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
    await page.screenshot({ path: join(OUT, '07-node-zh.png'), fullPage: true });
    await page.click('#nav-fleet');
    await page.waitForSelector('th:has-text("最后活动")');
    await page.waitForSelector('tr[data-node="gw-beta"] .status:has-text("静默")');
    await page.screenshot({ path: join(OUT, '08-fleet-zh.png') });
  });
});

async function untilApi(base: string, token: string, path: string, ok: (body: any) => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    if (r.ok && ok(await r.json())) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${path}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
