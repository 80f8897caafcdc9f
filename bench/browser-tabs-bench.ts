/**
 * `npm run bench` (tabs): two tabs of headless Chromium share one IndexedDB store (lock 'share').
 * Times a durable `toolCalls.record` made in the leading tab against the same call made in the
 * following tab (forwarded to the leader, resolved once durable and in the follower's replica),
 * and the follower-tab lag: from the leader's write call to the follower's change feed event.
 * Prints one table and writes bench/results/browser-tabs.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { createServer } from 'vite';
import { describeChromium, findChromium } from '../scripts/chromium.js';
import { summarize } from './stats.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const COUNT = Number(process.env.AOS_BENCH_TAB_RECORDS ?? 300);
const WARMUP = 50;

const ms = (x: number) => (x < 1 ? `${(x * 1000).toFixed(0)} µs` : `${x.toFixed(2)} ms`);

const server = await createServer({
  root: ROOT,
  configFile: false,
  logLevel: 'warn',
  // The page imports the package by name, as users do; these point the names at dist/.
  resolve: {
    alias: [
      { find: /^agent-ops-store\/adapters\/indexeddb$/, replacement: join(ROOT, 'dist/adapters/indexeddb.js') },
      { find: /^agent-ops-store$/, replacement: join(ROOT, 'dist/index.js') },
    ],
  },
  // Only this page's imports: the other bench page needs packages installed by `npm run bench`.
  optimizeDeps: { entries: ['bench/browser/tabs-bench-page.html'] },
  server: {
    host: '127.0.0.1',
    port: 0,
    // Cross-origin isolation gives performance.now() 5 µs resolution instead of 100 µs.
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
});
await server.listen();
const { port } = server.httpServer!.address() as AddressInfo;
const found = await findChromium();
console.log(describeChromium(found));
const browser = await chromium.launch({ ...found.launchOptions, headless: true });

try {
  // One browser context: the two pages are tabs of one origin, with one Web Lock manager.
  const context = await browser.newContext();
  const tab = async (): Promise<Page> => {
    const page = await context.newPage();
    page.on('pageerror', (error) => process.stderr.write(`page error: ${error}\n`));
    await page.goto(`http://127.0.0.1:${port}/bench/browser/tabs-bench-page.html`);
    await page.waitForFunction(() => 'aosTabs' in window, undefined, { timeout: 60_000 });
    return page;
  };
  const call = <T>(page: Page, fn: string, options: object = {}): Promise<T> =>
    page.evaluate(
      ([f, o]) => (window as unknown as { aosTabs: Record<string, (o: object) => Promise<unknown>> }).aosTabs[f as string]!(o as object),
      [fn, options] as const,
    ) as Promise<T>;
  interface Timed {
    samples: number[];
    starts: [number, number][];
  }

  const name = `tabs-bench-${Date.now().toString(36)}`;
  const leader = await tab();
  const follower = await tab();
  await call(leader, 'open', { name });
  await call(follower, 'open', { name });
  await call(leader, 'mission', { uuid: 'bench' });
  process.stderr.write('  · leader-local records\n');
  const local = await call<Timed>(leader, 'record', { mission: 'bench', warmup: WARMUP, count: COUNT });
  process.stderr.write('  · forwarded records\n');
  const forwarded = await call<Timed>(follower, 'record', { mission: 'bench', warmup: WARMUP, count: COUNT });
  const heard = new Map(await call<[number, number][]>(follower, 'heard'));
  const lag = local.starts.flatMap(([id, start]) => (heard.has(id) ? [heard.get(id)! - start] : []));
  await call(follower, 'close');
  await call(leader, 'close');
  await leader.evaluate((db) => indexedDB.deleteDatabase(db), `agent-ops-store:${name}`);

  const l = summarize(local.samples);
  const f = summarize(forwarded.samples);
  const g = summarize(lag);
  console.log(`\nTabs sharing one store: Chromium ${browser.version()} headless, two tabs, ${COUNT} records each\n`);
  console.log('| case | n | p50 | p95 | max |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  console.log(`| toolCalls.record in the leading tab | ${l.n} | ${ms(l.p50)} | ${ms(l.p95)} | ${ms(l.max)} |`);
  console.log(`| toolCalls.record in a following tab (forwarded) | ${f.n} | ${ms(f.p50)} | ${ms(f.p95)} | ${ms(f.max)} |`);
  console.log(`| follower-tab lag: leader's call → follower's feed event | ${g.n} | ${ms(g.p50)} | ${ms(g.p95)} | ${ms(g.max)} |`);
  console.log(`\nforwarded / leader-local, p50: ${(f.p50 / l.p50).toFixed(2)}×`);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench/results/browser-tabs.json'),
    JSON.stringify({ chromium: browser.version(), count: COUNT, leaderLocal: l, forwarded: f, followerLag: g }, null, 2),
  );
} finally {
  await browser.close();
  await server.close();
}
