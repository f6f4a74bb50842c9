// The dashboard as a person meets it: Debian's chromium, driven by playwright-core, against a real
// `conductor serve` on a home with schedules and history. Every page is watched for console
// errors, uncaught exceptions and failed requests.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page, type Response } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cli, fileStoreOnly, json, ok } from '../helpers.js';
import { serve, token, type Served } from '../serve.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium)
  console.warn(`dashboard tests skipped: no ${CHROMIUM} (bash scripts/pg-cluster.sh install, as root, installs it)`);

const WAIT = { timeout: 15_000 };

/** What went wrong on a page: console errors, exceptions, failed requests and error responses. */
function watch(page: Page, problems: string[], expected: (r: Response) => boolean): void {
  page.on('console', (m) => {
    // A failed load is also a response below, where the ones a test expects can be told apart.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));
  page.on('requestfailed', (r) => {
    // Navigating away aborts the page's requests still open (its event stream, a poll): not a failure.
    if (r.failure()?.errorText !== 'net::ERR_ABORTED')
      problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !expected(r)) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
}

/** A schedule as `apply` takes it. */
function schedule(task_id: string, handler: string, type: string, expr: string, more: object = {}) {
  return { task_id, task_name: task_id, handler, schedule_type: type, schedule_expr: expr, ...more };
}

describe.skipIf(!fileStoreOnly || !haveChromium)('dashboard in Chromium', () => {
  let dir: string;
  let home: string;
  let server: Served;
  let browser: Browser;
  let page: Page;
  let admin: string;
  let reader: string;
  let helloRun: string;
  let go: string;
  const problems: string[] = [];
  let loggedIn = false;

  beforeAll(async () => {
    // Its own home, not tempHome(): that one is removed after each test, and these share theirs.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conductor-dashboard-'));
    home = path.join(dir, 'home');
    go = path.join(dir, 'go');
    // Chromium starts while the home is made.
    const launching = chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const file = path.join(dir, 'schedules.json');
    fs.writeFileSync(
      file,
      JSON.stringify([
        schedule('hello', 'echo hello from the dashboard', 'event', 'setup'),
        schedule('broken', 'echo broken; exit 3', 'event', 'setup', { retries: 1, backoff: '1s' }),
        // Sundays of March and October at 02:30 in Berlin: any ten in a row hold a daylight-saving change.
        schedule('dst', 'true', 'cron', '30 2 * 3,10 0', { tz: 'Europe/Berlin' }),
        schedule('live', 'echo live run', 'event', 'never'),
        schedule('slow', `echo first; while [ ! -e ${go} ]; do sleep 0.1; done; echo second`, 'event', 'never'),
      ]),
    );
    await ok(home, ['apply', file]);
    await ok(home, ['trigger', 'setup']);
    await ok(home, ['process', '--wait', '--wait-timeout', '30s']);
    helloRun = (await json(home, ['history', 'hello']))[0].execution_id;
    [admin, reader] = await Promise.all([token(home, 'admin', 'admin'), token(home, 'reader', 'read')]);
    server = await serve(home);
    browser = await launching;
    page = await browser.newPage();
    // Only the wrong token the test types first is refused; the login page itself asks nothing it is refused.
    watch(
      page,
      problems,
      (r) => !loggedIn && r.status() === 401 && r.request().method() === 'POST' && r.url() === `${server.url}/api/v1/session`,
    );
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  afterEach(() => {
    expect(problems.splice(0)).toEqual([]);
  });

  it('shows the login page, which takes a token', async () => {
    await page.goto(`${server.url}/`);
    await page.waitForURL(/\/login\?next=%2F$/, WAIT);
    await page.fill('#token', 'not-a-token');
    await page.click('button[type=submit]');
    await page.getByRole('alert').waitFor(WAIT);
    await page.fill('#token', admin);
    await page.click('button[type=submit]');
    await page.waitForURL(`${server.url}/`, WAIT);
    loggedIn = true;
    expect(await page.locator('header .who').textContent()).toBe('admin (admin)');
  });

  it('shows the overview: tiles and a chart drawn by uPlot', async () => {
    await page.locator('.tile').nth(7).waitFor(WAIT);
    const tile = (label: string) => page.locator('.tile', { hasText: label }).locator('.tile-value');
    await page.waitForFunction(() => document.querySelector('.tile-value')?.textContent !== '…', null, WAIT);
    expect(await tile('Runs today: ok').textContent()).toBe('1');
    expect(await tile('Runs today: failed').textContent()).toBe('2');
    expect(await tile('Dead letters').textContent()).toBe('1');
    const canvas = page.locator('.chart .uplot canvas');
    await canvas.waitFor(WAIT);
    // Drawn, not just present: the bars of the current hour colour some of its pixels.
    const painted = await canvas.evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    });
    expect(painted).toBeGreaterThan(100);
  });

  it('lists the schedules, reached by a link in the header', async () => {
    await page.click('header nav >> text=Schedules');
    await page.waitForURL(`${server.url}/schedules`, WAIT);
    const rows = page.locator('table.schedules tbody tr');
    await rows.nth(3).waitFor(WAIT);
    expect(await rows.locator('td:first-child a').allTextContents()).toEqual(['broken', 'dst', 'hello', 'live', 'slow']);
    const row = (id: string) => rows.filter({ has: page.locator(`a[href="/schedules/${id}"]`) });
    expect(await row('dst').textContent()).toContain('Europe/Berlin');
    await row('hello').locator('.outcomes .status-success').waitFor(WAIT);
  });

  it("shows a schedule's next 10 runs with daylight-saving changes marked", async () => {
    await page.click('table.schedules a[href="/schedules/dst"]');
    await page.waitForURL(`${server.url}/schedules/dst`, WAIT);
    await page.locator('.next-runs li').nth(9).waitFor(WAIT);
    expect(await page.locator('.next-runs li').count()).toBe(10);
    const marks = await page.locator('.next-runs .dst-mark').allTextContents();
    expect(marks.length).toBeGreaterThan(0);
    for (const m of marks) expect(m).toMatch(/^DST (gap|repeat)$/);
  });

  it("shows a run's captured log, on a direct load of its page", async () => {
    await page.goto(`${server.url}/runs/${helloRun}`);
    await page.locator('pre.log', { hasText: 'hello from the dashboard' }).waitFor(WAIT);
    expect(await page.locator('dl.summary .badge').textContent()).toBe('success');
  });

  it('shows a new run on /runs as it happens, without a reload', async () => {
    await page.click('header nav >> text=Runs');
    await page.locator('table.runs tbody tr').first().waitFor(WAIT);
    await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
    const live = page.locator('table.runs tbody tr').filter({ has: page.locator('a[href="/schedules/live"]') });
    expect(await live.count()).toBe(0);
    await ok(home, ['queue', 'live']);
    await ok(home, ['process', '--wait', '--wait-timeout', '30s']);
    await live.locator('.status-success').waitFor(WAIT);
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
  });

  it("follows a running run's log on its page until the run ends", async () => {
    await page.goto(`${server.url}/runs?task=slow`);
    await page.locator('main .empty').waitFor(WAIT);
    await ok(home, ['queue', 'slow']);
    const pass = cli(home, ['process']);
    const running = page.locator('table.runs tbody tr', { has: page.locator('.status-running') });
    await running.locator('a').first().click(WAIT);
    await page.locator('pre.log', { hasText: 'first' }).waitFor(WAIT);
    expect(await page.locator('.following').count()).toBe(1);
    fs.writeFileSync(go, ''); // lets the slow handler finish
    await page.locator('dl.summary .status-success').waitFor(WAIT);
    await page.locator('pre.log', { hasText: 'second' }).waitFor(WAIT);
    expect(await page.locator('pre.log').textContent()).toBe('first\nsecond\n');
    expect((await pass).code).toBe(0);
  });

  it('offers a read-scope token no writes, where an admin gets them', async () => {
    await ok(home, ['queue', 'hello']);
    const buttons = async (p: Page, at: string, ready: string) => {
      await p.goto(`${server.url}${at}`);
      await p.locator(ready).first().waitFor(WAIT);
      return p.locator('main button').allTextContents();
    };
    expect(await buttons(page, '/queue', 'main table tbody tr')).toContain('Cancel');
    expect(await buttons(page, '/dlq', 'main table tbody tr')).toEqual(expect.arrayContaining(['Retry', 'Purge all 1']));
    expect(await buttons(page, '/schedules', 'main table tbody tr')).toContain('Run now');
    const context = await browser.newContext();
    const other = await context.newPage();
    watch(other, problems, () => false);
    await other.goto(`${server.url}/login`);
    await other.fill('#token', reader);
    await other.click('button[type=submit]');
    await other.waitForURL(`${server.url}/`, WAIT);
    expect(await other.locator('header .who').textContent()).toBe('reader (read)');
    for (const at of ['/', '/queue', '/dlq', '/schedules', '/schedules/hello'])
      expect(await buttons(other, at, at === '/' ? '.tile' : 'main table tbody tr')).toEqual([]);
    // Logging out is a write too (DELETE /session, with the CSRF token): back to the login page.
    await other.click('header button:has-text("Log out")');
    await other.waitForURL(/\/login\?next=/, WAIT);
    await context.close();
  });
});
