import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium } from '../../scripts/chromium.js';
import { serveStatic } from '../fixtures/static-server.js';
import { sqliteReader } from './sqlite-reader.js';

// The demo page end to end, as a visitor gets it: built with `vite build` (vite.demo.config.ts,
// on the package's dist/, which `npm test` builds first), served as static files by a plain
// HTTP server, driven in real Chromium through its buttons' and fields' accessible names.
// Every request that leaves the page's origin, and every console error, fails the test.
const root = new URL('../..', import.meta.url).pathname;
const scratch = join(root, 'test/.tmp/demo-e2e');
// Counts shown at the top of the page, and the SELECT that must give each.
const COUNT_SQL: Readonly<Record<string, string>> = {
  missions: 'SELECT COUNT(*) FROM missions',
  'tool calls': 'SELECT COUNT(*) FROM tool_calls',
  'failed tool calls': 'SELECT COUNT(*) FROM tool_calls WHERE success = 0',
  decisions: 'SELECT COUNT(*) FROM decisions',
  'playbook runs': 'SELECT COUNT(*) FROM playbook_runs',
  'memory entries': 'SELECT COUNT(*) FROM agent_memory',
};
const XSS = '<img src=x onerror="window.__xss = (window.__xss || 0) + 1">';

let server: Awaited<ReturnType<typeof serveStatic>>;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const offOrigin: string[] = [];
const consoleErrors: string[] = [];

beforeAll(async () => {
  mkdirSync(scratch, { recursive: true });
  await build({ configFile: join(root, 'vite.demo.config.ts'), logLevel: 'warn' });
  server = await serveStatic(join(root, 'demo/dist'));
  const found = await findChromium();
  browser = await chromium.launch({ ...found.launchOptions, headless: true });
  context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 900 } });
  // Anything not from the page's own origin is recorded and refused (data: and blob: URLs never
  // reach the network, so they do not pass through here).
  await context.route(
    (url) => url.origin !== server.origin,
    async (route) => {
      offOrigin.push(route.request().url());
      await route.abort();
    },
  );
  page = await openTab();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** A new tab on the demo page, ready (its store open and first drawn). */
async function openTab(): Promise<Page> {
  const tab = await context.newPage();
  tab.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  tab.on('pageerror', (error) => consoleErrors.push(`page error: ${error.message}`));
  tab.on('response', (response) => {
    if (response.status() >= 400) consoleErrors.push(`${response.status()} ${response.url()}`);
  });
  tab.on('dialog', (dialog) => void dialog.accept());
  await tab.goto(`${server.origin}/`);
  await tab.waitForSelector('body[data-ready="true"]');
  return tab;
}

/** The counts the page shows. */
function shownCounts(tab: Page): Promise<Record<string, number>> {
  return tab.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll<HTMLElement>('[data-count]')].map((node) => [node.dataset.count!, Number(node.textContent)]),
    ),
  );
}

/** Runs `text` in the page's SQL console; gives its result table (header, rows of cell text) or its error message. */
async function sql(tab: Page, text: string, allowWrites = false): Promise<{ header: string[]; rows: string[][]; error: string | null }> {
  // A tab behind another gets few animation frames, which Playwright's clicks wait for.
  await tab.bringToFront();
  await tab.getByLabel('SQL', { exact: true }).fill(text);
  await tab.getByLabel('Allow writes').setChecked(allowWrites);
  await tab.getByRole('button', { name: 'Run query' }).click();
  const outcome = tab.locator('#console-output [role="status"], #console-output [role="alert"]');
  await outcome.first().waitFor();
  return tab.evaluate(() => {
    const output = document.getElementById('console-output')!;
    const alert = output.querySelector('[role="alert"]');
    return {
      header: [...output.querySelectorAll('th')].map((th) => th.textContent ?? ''),
      rows: [...output.querySelectorAll('tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
      error: alert ? alert.textContent : null,
    };
  });
}

/** The counts by SELECT through the console, keyed as the page shows them. */
async function selectedCounts(tab: Page): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [label, query] of Object.entries(COUNT_SQL)) {
    const { rows, error } = await sql(tab, query);
    expect(error).toBeNull();
    out[label] = Number(rows[0]![0]);
  }
  return out;
}

/** Waits until the page shows the counts its console SELECTs give (the views redraw after each commit). */
async function countsAgree(tab: Page): Promise<Record<string, number>> {
  const selected = await selectedCounts(tab);
  await expect.poll(() => shownCounts(tab), { timeout: 10_000 }).toEqual(selected);
  return selected;
}

async function runMission(tab: Page): Promise<string> {
  await tab.getByRole('button', { name: 'Run sample mission' }).click();
  const done = await tab.waitForFunction(
    () => /^Mission (\S+) completed\.$/.exec(document.getElementById('status')?.textContent ?? '')?.[1],
    null,
    {
      timeout: 30_000,
    },
  );
  return (await done.jsonValue()) as string;
}

describe('demo page in Chromium', () => {
  it('runs the sample mission and shows the numbers its own SQL console counts', async () => {
    const uuid = await runMission(page);
    const counts = await countsAgree(page);
    // One scripted run: a planning and an implementation mission, 10 tool calls (3 fail), 3
    // decisions, 2 playbook runs, 4 memory keys.
    expect(counts).toEqual({
      missions: 2,
      'tool calls': 10,
      'failed tool calls': 3,
      decisions: 3,
      'playbook runs': 2,
      'memory entries': 4,
    });
    await expect.poll(() => page.locator(`[data-mission="${uuid}"]`).count()).toBe(1);
    expect(await page.locator('#missions .status').first().textContent()).toBe('completed');
    // The waterfall marks the failures; the playbook success rates are drawn.
    // The waterfall shows the latest mission, the implementation: 6 calls, 2 failed.
    expect(await page.locator('#waterfall .call.failed').count()).toBe(2);
    expect(await page.locator('#waterfall .call').count()).toBe(6);
    expect(await page.locator('#playbooks meter').count()).toBe(2);
    expect(await page.locator('#chart canvas').count()).toBeGreaterThan(0);
    await page.evaluate(() => window.scrollTo(0, 0));
    const top = { fullPage: true, clip: { x: 0, y: 0, width: 1100, height: 1350 } };
    await page.screenshot({ ...top, path: join(scratch, 'demo.png') });
    await page.screenshot({ ...top, path: join(scratch, 'demo.jpg'), type: 'jpeg', quality: 55 });
    // UPDATE_SCREENSHOT=1 refreshes the picture the README shows.
    if (process.env.UPDATE_SCREENSHOT) copyFileSync(join(scratch, 'demo.jpg'), join(root, 'docs/demo.jpg'));
  });

  it('answers the seed questions with their SQL and a table', async () => {
    for (const question of [
      'What tools did the planning phase use?',
      'Why did the agent make decision X?',
      'Show me all failed tool calls in the last hour',
    ]) {
      await page.getByRole('button', { name: question }).click();
      await page.locator('#seed-output h3', { hasText: question }).waitFor();
      expect(await page.locator('#seed-output pre.sql').textContent()).toContain('SELECT');
      expect(await page.locator('#seed-output tbody tr').count()).toBeGreaterThan(0);
    }
    // The last hour's failures: exactly the rows the console finds with the README's query.
    const { rows } = await sql(page, "SELECT COUNT(*) FROM tool_calls WHERE success = 0 AND timestamp > datetime('now', '-1 hour')");
    expect(await page.locator('#seed-output tbody tr').count()).toBe(Number(rows[0]![0]));
  });

  it('keeps the console read-only until "Allow writes" is ticked, and shows errors as messages', async () => {
    const before = await selectedCounts(page);
    const refused = await sql(page, 'DELETE FROM tool_calls');
    expect(refused.error).toMatch(/^INVALID_INPUT: .*read-only/);
    expect(await selectedCounts(page)).toEqual(before);
    const bad = await sql(page, 'SELECT nope FROM nowhere');
    expect(bad.error).toMatch(/^SQL: .*no such table: nowhere/);
  });

  it('renders untrusted text as text: an <img onerror> recorded through the page never runs', async () => {
    const write = await sql(
      page,
      `INSERT INTO decisions (mission_id, decision_type, rationale, timestamp, agent_name)
       SELECT id, '${XSS.replaceAll("'", "''")}', '${XSS.replaceAll("'", "''")}', strftime('%Y-%m-%d %H:%M:%fZ', 'now'), '${XSS.replaceAll("'", "''")}' FROM missions`,
      true,
    );
    expect(write.error).toBeNull();
    await sql(
      page,
      `INSERT INTO tool_calls (mission_id, tool_name, args, timestamp, duration_ms, success, error_message)
       SELECT id, '${XSS.replaceAll("'", "''")}', json_object('html', '${XSS.replaceAll("'", "''")}'), strftime('%Y-%m-%d %H:%M:%fZ', 'now'), 5, 0, '${XSS.replaceAll("'", "''")}' FROM missions`,
      true,
    );
    await page.locator('#decisions blockquote', { hasText: XSS }).first().waitFor();
    await page.locator('#waterfall .call-error', { hasText: XSS }).first().waitFor();
    const shown = await sql(page, 'SELECT rationale FROM decisions ORDER BY id DESC LIMIT 1');
    expect(shown.rows).toEqual([[XSS]]);
    await page.getByRole('button', { name: 'Why did the agent make decision X?' }).click();
    await page.locator('#seed-output td', { hasText: XSS }).first().waitFor();
    expect(await page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator('main img').count()).toBe(0);
    await countsAgree(page);
  });

  it('shows a mission run in one tab live in a second tab, and keeps everything across a reload', async () => {
    const second = await openTab();
    const before = await countsAgree(second);
    const running = runMission(page);
    // Seen in the second tab while it is still running in the first.
    await second.locator('#missions .status[data-status="in_progress"]').first().waitFor({ timeout: 20_000 });
    const uuid = await running;
    await second.locator(`#missions [data-mission="${uuid}"]`).waitFor();
    await expect.poll(() => second.locator('#missions .mission', { hasText: uuid }).locator('.status').textContent()).toBe('completed');
    const between = await countsAgree(second);
    expect(between.missions).toBe(before.missions! + 2);
    expect(between['tool calls']).toBe(before['tool calls']! + 10);
    // And the other way: run in the following tab (its writes go to the leader), seen in the first.
    const fromSecond = await runMission(second);
    await page.locator(`#missions [data-mission="${fromSecond}"]`).waitFor();
    const after = await countsAgree(page);
    expect(after['tool calls']).toBe(between['tool calls']! + 10);

    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    expect(await countsAgree(page)).toEqual(after);
    // Every tab closed, then the page opened again: the store is in IndexedDB.
    await second.close();
    await page.close();
    page = await openTab();
    expect(await countsAgree(page)).toEqual(after);
  });

  it('generates 10,000 tool calls with a progress bar, answering the page all along', async () => {
    const before = await selectedCounts(page);
    await page.getByRole('button', { name: 'Generate 10,000 tool calls' }).click();
    // This runs in the page between the slices: a page that never yields would never answer it.
    await page.waitForFunction(
      () => {
        const bar = document.getElementById('generate-progress') as HTMLProgressElement;
        return bar.value > 0 && bar.value < bar.max;
      },
      null,
      { polling: 'raf', timeout: 30_000 },
    );
    await page.waitForFunction(() => /^Recorded 10,000 tool calls in/.test(document.getElementById('status')?.textContent ?? ''), null, {
      timeout: 60_000,
    });
    const after = await countsAgree(page);
    expect(after['tool calls']).toBe(before['tool calls']! + 10_000);
    await page.screenshot({ path: join(scratch, 'after-generate.png') });
  });

  it('downloads a database the sqlite3 CLI (or SQLite wasm) finds whole, and opens it back', async () => {
    const counts = await countsAgree(page);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download database' }).click()]);
    expect(download.suggestedFilename()).toMatch(/\.sqlite$/);
    const file = join(scratch, 'download.sqlite');
    await download.saveAs(file);
    const sqlite = sqliteReader();
    expect(await sqlite.run(file, 'PRAGMA integrity_check')).toBe('ok');
    expect(Number(await sqlite.run(file, 'SELECT COUNT(*) FROM tool_calls'))).toBe(counts['tool calls']);
    expect(Number(await sqlite.run(file, 'SELECT COUNT(*) FROM missions'))).toBe(counts.missions);

    // Files that are not stores of ours are refused, and nothing changes.
    const notes = join(scratch, 'notes.txt');
    writeFileSync(notes, 'just some notes\n'.repeat(100));
    await page.locator('#open-file').setInputFiles(notes);
    await page.locator('#status', { hasText: 'Refused: notes.txt is not an SQLite database' }).waitFor();
    const other = join(scratch, 'other.sqlite');
    writeFileSync(other, '');
    await sqlite.run(other, 'CREATE TABLE recipes (name TEXT)');
    await page.locator('#open-file').setInputFiles(other);
    await page.locator('#status', { hasText: 'Refused: other.sqlite is an SQLite database but not an agent-ops-store file' }).waitFor();
    expect(await selectedCounts(page)).toEqual(counts);

    // Empty the store, then open the downloaded file: everything is back.
    expect((await sql(page, 'DELETE FROM missions', true)).error).toBeNull();
    await expect.poll(() => shownCounts(page)).toMatchObject({ missions: 0, 'tool calls': 0 });
    await page.locator('#open-file').setInputFiles(file);
    await page
      .locator('#status', { hasText: `Opened download.sqlite: ${counts.missions} missions, ${counts['tool calls']} tool calls.` })
      .waitFor();
    expect(await countsAgree(page)).toEqual(counts);
  });

  it('opens with the network off after its first load, with everything still there', async () => {
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    const counts = await countsAgree(page);
    await context.setOffline(true);
    try {
      const served = server.requests.length;
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]');
      expect(await countsAgree(page)).toEqual(counts);
      // The page came from the service worker's cache: the server saw no request.
      expect(server.requests.length).toBe(served);
    } finally {
      await context.setOffline(false);
    }
  });

  it('made no request off its origin and logged no console error', async () => {
    // The page is narrow-screen readable: nothing wider than a phone's viewport but the tables' own scrollers.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(scratch, 'phone.png') });
    await page.setViewportSize({ width: 1100, height: 900 });
    expect(offOrigin).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(server.requests.length).toBeGreaterThan(0);
  });
});
