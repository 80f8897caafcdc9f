/**
 * `npm run bench` (browser half): durable `toolCalls.record` latency of agent-ops-store on
 * IndexedDB in headless Chromium with a ~1 MB and a ~50 MB store, the bare strict IndexedDB
 * transaction under it, and the same insert on the anchor engines (sqlite-wasm on OPFS in a
 * Worker, wa-sqlite on IndexedDB, PGlite on idb://), in one run. Serves
 * bench/browser/bench-page.html with Vite on 127.0.0.1, imports the built package (dist/)
 * by name, prints one table and writes bench/results/browser.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { cpus, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { createServer } from 'vite';
import { describeChromium, findChromium } from '../scripts/chromium.js';
import type { Built } from './browser/contender.js';
import { summarize } from './stats.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MB = 1_000_000;
const RECORDS = Number(process.env.AOS_BENCH_RECORDS ?? 1000);
const WARMUP = 300;
const PGLITE_RECORDS = Number(process.env.AOS_BENCH_PGLITE_RECORDS ?? 200);

const ms = (x: number) => (x < 1 ? `${(x * 1000).toFixed(0)} µs` : `${x.toFixed(2)} ms`);

const server = await createServer({
  root: ROOT,
  configFile: false,
  logLevel: 'warn',
  // The page imports the package by name, as users do; these point the names at dist/.
  resolve: {
    alias: [
      { find: /^agent-ops-store\/adapters\/indexeddb$/, replacement: join(ROOT, 'dist/adapters/indexeddb.js') },
      { find: /^agent-ops-store\/adapters\/memory$/, replacement: join(ROOT, 'dist/adapters/memory.js') },
      { find: /^agent-ops-store$/, replacement: join(ROOT, 'dist/index.js') },
    ],
  },
  // PGlite, sqlite-wasm and wa-sqlite find their wasm (and PGlite its data) next to their module
  // through import.meta.url; pre-bundling would move the module away from those files.
  optimizeDeps: { exclude: ['@electric-sql/pglite', '@sqlite.org/sqlite-wasm', '@journeyapps/wa-sqlite'] },
  server: {
    host: '127.0.0.1',
    port: 0,
    // Cross-origin isolation gives performance.now() 5 µs resolution instead of 100 µs (and
    // sqlite-wasm's README asks for it in the worker that uses OPFS).
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
});
await server.listen();
const { port } = server.httpServer!.address() as AddressInfo;
const found = await findChromium();
console.log(describeChromium(found));
// A persistent context on a profile folder on disk: the contexts of `launch()` + `newPage()` are
// off the record, and Chromium keeps their IndexedDB and OPFS in memory, so no write there is
// durable and every engine would be timed against RAM.
const profile = mkdtempSync(join(tmpdir(), 'aos-bench-chromium-'));
const context = await chromium.launchPersistentContext(profile, { ...found.launchOptions, headless: true });

try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (error) => process.stderr.write(`page error: ${error}\n`));
  await page.goto(`http://127.0.0.1:${port}/bench/browser/bench-page.html`);
  await page.waitForFunction(() => 'aosBench' in window, undefined, { timeout: 60_000 });
  // A persistent context has no Browser object to ask, and the user agent hides the minor
  // version numbers; DevTools' Browser.getVersion gives the full one.
  const cdp = await context.newCDPSession(page);
  const version = ((await cdp.send('Browser.getVersion')).product as string).replace(/^\D+\//, '');
  const isolated = await page.evaluate(() => crossOriginIsolated);
  interface Timed {
    name: string;
    samples: number[];
    appends: number[];
  }
  const call = <T>(fn: 'setup' | 'rounds' | 'pglite', options: object): Promise<T> => {
    process.stderr.write(`  · ${fn} ${JSON.stringify(options)}\n`);
    return page.evaluate(
      ([f, o]) => (window as unknown as { aosBench: Record<string, (o: object) => Promise<unknown>> }).aosBench[f as string]!(o as object),
      [fn, options] as const,
    ) as Promise<T>;
  };

  const built = await call<Built[]>('setup', { sizes: [1 * MB, 50 * MB], recordBytes: 1300 });
  const timed = await call<Timed[]>('rounds', { warmup: WARMUP, count: RECORDS });
  const pg = await call<{ samples: number[]; bytes: number }>('pglite', { targetBytes: 1 * MB, warmup: 10, count: PGLITE_RECORDS });

  const [smallInfo, largeInfo] = built as [Required<Built>, Required<Built>];
  const [small, large, memory, bare, sahpool, waSqlite] = timed as [Timed, Timed, Timed, Timed, Timed, Timed];
  const [sahpoolInfo, waSqliteInfo] = built.slice(4) as [Required<Built>, Required<Built>];
  const s = summarize(small.samples);
  const l = summarize(large.samples);
  const c = summarize(memory.samples);
  const f = summarize(bare.samples);
  const p = summarize(pg.samples);
  const o = summarize(sahpool.samples);
  const w = summarize(waSqlite.samples);
  const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
  const rows = [
    ['agent-ops-store, IndexedDB, toolCalls.record', `${mb(smallInfo.bytes)} (${smallInfo.rows} calls)`, s],
    ['agent-ops-store, IndexedDB, toolCalls.record', `${mb(largeInfo.bytes)} (${largeInfo.rows} calls)`, l],
    ['…of which adapter.append (IndexedDB)', mb(smallInfo.bytes), summarize(small.appends)],
    ['…of which adapter.append (IndexedDB)', mb(largeInfo.bytes), summarize(large.appends)],
    ['the same record() on the memory adapter (CPU only)', mb(smallInfo.bytes), c],
    ['bare strict IndexedDB transaction, one 1.3 KB put', '-', f],
    ['sqlite-wasm opfs-sahpool in a Worker, one INSERT, page round trip', `${mb(sahpoolInfo.bytes)} (${sahpoolInfo.rows} calls)`, o],
    ['…of which inside the worker', mb(sahpoolInfo.bytes), summarize(sahpool.appends)],
    ['wa-sqlite IDBBatchAtomicVFS, one INSERT', `${mb(waSqliteInfo.bytes)} (${waSqliteInfo.rows} calls)`, w],
    ['PGlite idb://, one INSERT (default durability)', `${mb(pg.bytes)} table`, p],
  ] as const;
  console.log(
    `\nBrowser: Chromium ${version} headless, profile on disk in ${tmpdir()}, crossOriginIsolated=${isolated}; ${cpus().length}× ${cpus()[0]?.model ?? '?'}, Linux ${release()}\n`,
  );
  console.log(`sqlite-wasm: ${sahpoolInfo.settings}`);
  console.log(`wa-sqlite:   ${waSqliteInfo.settings}\n`);
  console.log('| case | store | n | p50 | p95 | max |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: |');
  for (const [what, size, sum] of rows) console.log(`| ${what} | ${size} | ${sum.n} | ${ms(sum.p50)} | ${ms(sum.p95)} | ${ms(sum.max)} |`);
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const slower = Math.max(s.p50, l.p50);
  console.log('\n| goal | figure | verdict |');
  console.log('| --- | --- | --- |');
  console.log(`| p50 under 1.5 ms, 1 MB store | ${ms(s.p50)} | ${verdict(s.p50 < 1.5)} |`);
  console.log(`| p50 under 1.5 ms, 50 MB store | ${ms(l.p50)} | ${verdict(l.p50 < 1.5)} |`);
  console.log(
    `| no growth with size: 50 MB / 1 MB, p50 (p95) | ${(l.p50 / s.p50).toFixed(2)} (${(l.p95 / s.p95).toFixed(2)}) | ${verdict(l.p50 / s.p50 <= 1.3)} |`,
  );
  console.log(`| ≥ 10× faster than PGlite idb://, p50 | ${(p.p50 / slower).toFixed(0)}× | ${verdict(p.p50 / slower >= 10)} |`);
  // The anchors hold about 1 MB, so they are compared with the 1 MB store.
  const anchors = [
    ['sqlite-wasm opfs-sahpool', o],
    ['wa-sqlite IDBBatchAtomicVFS', w],
    ['PGlite idb://', p],
  ] as const;
  const [fastestName, fastest] = anchors.reduce((a, b) => (b[1].p50 < a[1].p50 ? b : a));
  const times = fastest.p50 / s.p50;
  console.log(`| ≥ 4× faster than the fastest anchor (${fastestName}), p50, 1 MB store | ${times.toFixed(1)}× | ${verdict(times >= 4)} |`);
  const compared = times >= 1 ? `${times.toFixed(1)}× faster than` : `${(1 / times).toFixed(1)}× slower than`;
  console.log(`\nagent-ops-store is ${compared} the fastest anchor (${fastestName}) at p50: ${ms(s.p50)} against ${ms(fastest.p50)}.`);
  console.log(`\nfill to 50 MB: ${(largeInfo.fillMs / 1000).toFixed(1)} s; reopen of the 50 MB store: ${ms(largeInfo.openMs)}`);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench/results/browser.json'),
    JSON.stringify(
      {
        chromium: version,
        chromiumSource: found.source,
        isolated,
        built,
        small: s,
        large: l,
        memory: c,
        bareAppend: f,
        pglite: { bytes: pg.bytes, summary: p },
        sqliteWasm: { ...sahpoolInfo, summary: o, inWorker: summarize(sahpool.appends) },
        waSqlite: { ...waSqliteInfo, summary: w },
      },
      null,
      2,
    ),
  );
} finally {
  await context.close();
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}
