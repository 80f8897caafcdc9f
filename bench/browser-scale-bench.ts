/**
 * `npm run bench` (browser scale): for each size in BENCH_SCALE_BROWSER (MB, default 100,500),
 * headless Chromium fills a store on IndexedDB, checkpoints it while a 1 ms timer watches the
 * main thread (on the page), reopens it (the replica starts in a Web Worker), checkpoints from
 * the replica under the same watch, times writes while background checkpoints from the replica
 * run, then the same writes with no checkpoint (the floor), and reopens it; the renderer's peak
 * memory in each of the two write phases is read from /proc. A step that fails prints as a result
 * line. Then the seed's queries at 1M tool calls, in the page (BENCH_SEED_BROWSER=0 skips them).
 * Writes bench/results/browser-scale.json; BENCH_TRACE_BROWSER=<folder> also writes a Chromium
 * trace of each size there (BENCH_TRACE_CATEGORIES=<list> replaces its categories: add
 * `cppgc,disabled-by-default-cppgc` to see Blink's own collections).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { createServer } from 'vite';
import { describeChromium, findChromium } from '../scripts/chromium.js';
import type { PageScaleFigures } from './browser/scale-page.js';
import { buildSeedStore, SHARES, sharePhases } from './node-scale.js';
import { SEED_QUERIES } from './seed-queries.js';
import { summarize } from './stats.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MB = 1_000_000;
/** The schema version the seed store is built at: all of schema/. */
const SCHEMA_VERSION = readdirSync(join(ROOT, 'schema')).filter((file) => file.endsWith('.sql')).length;
const SIZES = (process.env.BENCH_SCALE_BROWSER ?? '100,500')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);

/**
 * A Chromium trace of the page while it runs one size (BENCH_TRACE_BROWSER=<folder>): tasks, V8's
 * garbage collections and function calls, which is how the page's remaining stalls during
 * background checkpoints were placed. `stop` writes it as a JSON array of trace events.
 */
async function startTrace(page: Page): Promise<{ stop: (file: string) => Promise<void> }> {
  const cdp = await page.context().newCDPSession(page);
  const events: unknown[] = [];
  cdp.on('Tracing.dataCollected', (data: { value: unknown[] }) => {
    for (const event of data.value) events.push(event);
  });
  await cdp.send('Tracing.start', {
    categories:
      process.env.BENCH_TRACE_CATEGORIES ?? 'devtools.timeline,disabled-by-default-devtools.timeline,v8,disabled-by-default-v8.gc',
    transferMode: 'ReportEvents',
  } as never);
  return {
    stop: async (file) => {
      const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
      await cdp.send('Tracing.end');
      await complete;
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(events));
      await cdp.detach();
    },
  };
}

/**
 * The resident memory of Chromium's renderer processes (the page and its Web Worker share one),
 * sampled every 100 ms from /proc while the bench runs, so that each phase's peak can be read
 * against the store's size. Empty where /proc is not there.
 */
function sampleRendererMemory(): { peakIn: (window?: [number, number]) => number | undefined; stop: () => void } {
  const samples: { at: number; bytes: number }[] = [];
  const pageSize = 4096;
  const sample = () => {
    let largest = 0;
    try {
      for (const pid of readdirSync('/proc')) {
        if (!/^\d+$/.test(pid)) continue;
        try {
          if (!readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('--type=renderer')) continue;
          const resident = Number(readFileSync(`/proc/${pid}/statm`, 'latin1').split(' ')[1]) * pageSize;
          largest = Math.max(largest, resident);
        } catch {
          // Gone meanwhile.
        }
      }
    } catch {
      return;
    }
    if (largest > 0) samples.push({ at: Date.now(), bytes: largest });
  };
  const timer = setInterval(sample, 100);
  return {
    peakIn: (window) => {
      if (!window) return undefined;
      const inside = samples.filter((s) => s.at >= window[0] && s.at <= window[1]);
      return inside.length > 0 ? Math.max(...inside.map((s) => s.bytes)) : undefined;
    },
    stop: () => clearInterval(timer),
  };
}

const fmt = (ms: number | undefined) => (ms === undefined ? '—' : ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`);

/** The seed queries timed in the page: each at a fifth of the calls in PLANNING missions, then the planning query at each share. */
interface SeedInPage {
  readonly bytes: number;
  readonly queries: { name: string; share: string; rows: number; medianMs: number }[];
}

/**
 * Builds node-scale's 1M-call seed store (native SQLite) under the served root, and has the page
 * fetch it into a memory adapter and time the seed's queries through `store.query`: the same
 * sql.js and the same store as in Node, on Chromium's wasm engine.
 */
async function seedInPage(page: Page): Promise<SeedInPage | { error: string }> {
  process.stderr.write('  · browser scale: the seed queries at 1M tool calls (built natively, loaded into the page)\n');
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, 'bench/results/seed-'));
  try {
    buildSeedStore(join(dir, 'seed.db'), SCHEMA_VERSION);
    const url = `/${relative(ROOT, join(dir, 'seed.db')).split(sep).join('/')}`;
    return await page.evaluate(
      async ({ url, queries, shares }) => {
        // No named functions in here: tsx would wrap them in a helper the page does not have.
        // Loaded by URL from the served root, as the scale page loads the package (dist/).
        const [index, memory] = ['/dist/index.js', '/dist/adapters/memory.js'];
        const { openStore } = (await import(/* @vite-ignore */ index)) as typeof import('agent-ops-store');
        const { MemoryVolume, memoryAdapter } = (await import(
          /* @vite-ignore */ memory
        )) as typeof import('agent-ops-store/adapters/memory');
        const volume = new MemoryVolume();
        volume.snapshot = new Uint8Array(await (await fetch(url)).arrayBuffer());
        const bytes = volume.snapshot.byteLength;
        const store = await openStore({ adapter: memoryAdapter(volume) });
        const out: { name: string; share: string; rows: number; medianMs: number }[] = [];
        // Every query at the first share, then the planning query at each of the others.
        const runs = [
          ...queries.map((q) => ({ ...q, share: shares[0]!, phases: '' })),
          ...shares.slice(1).map((share) => ({ ...queries[0]!, share, phases: share.phases })),
        ];
        for (const run of runs) {
          if (run.phases) await store.run(run.phases);
          const times: number[] = [];
          let rows = 0;
          for (let r = 0; r < 5; r++) {
            const t = performance.now();
            rows = (await store.query(run.sql)).length;
            times.push(performance.now() - t);
          }
          out.push({ name: run.name, share: `${run.share.percent}%`, rows, medianMs: times.sort((a, b) => a - b)[2]! });
        }
        await store.close();
        return { bytes, queries: out };
      },
      {
        url,
        queries: SEED_QUERIES.map((q) => ({ name: q.name, sql: q.sql })),
        shares: SHARES.map((s) => ({ percent: s.percent, phases: sharePhases(s.every) })),
      },
    );
  } catch (error) {
    return { error: String(error).split('\n')[0]! };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

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
  optimizeDeps: { entries: ['bench/browser/scale-page.html'] },
  server: { host: '127.0.0.1', port: 0 },
});
await server.listen();
const { port } = server.httpServer!.address() as AddressInfo;
const found = await findChromium();
console.log(describeChromium(found));
// On a profile on disk: an off-the-record context keeps IndexedDB in memory.
const profile = mkdtempSync(join(tmpdir(), 'aos-bench-scale-chromium-'));
const context = await chromium.launchPersistentContext(profile, { ...found.launchOptions, headless: true });
const results: PageScaleFigures[] = [];
let seed: SeedInPage | { error: string } | undefined;
const memory = sampleRendererMemory();
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (error) => process.stderr.write(`page error: ${error}\n`));
  await page.goto(`http://127.0.0.1:${port}/bench/browser/scale-page.html`);
  await page.waitForFunction(() => 'aosScale' in window, undefined, { timeout: 60_000 });
  for (const size of SIZES) {
    process.stderr.write(`  · browser scale: ${size} MB store on IndexedDB\n`);
    try {
      const trace = process.env.BENCH_TRACE_BROWSER ? await startTrace(page) : null;
      results.push(
        await page.evaluate(
          (targetBytes) =>
            (window as unknown as { aosScale: { scale: (o: { targetBytes: number }) => Promise<PageScaleFigures> } }).aosScale.scale({
              targetBytes,
            }),
          size * MB,
        ),
      );
      if (trace) {
        const file = join(process.env.BENCH_TRACE_BROWSER!, `browser-scale-${size}MB.trace.json`);
        await trace.stop(file);
        process.stderr.write(`    trace: ${file} (open it in Chrome DevTools' Performance panel or Perfetto)\n`);
      }
    } catch (error) {
      results.push({ targetBytes: size * MB, reopenError: `the page failed: ${String(error).split('\n')[0]}` });
    }
  }
  if (process.env.BENCH_SEED_BROWSER !== '0') seed = await seedInPage(page);
} finally {
  memory.stop();
  await context.close();
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}

console.log('\nScale in Chromium (IndexedDB; goals from issue 8: main-thread stall ≤ 50 ms at 500 MB, write p99 ≤ 5× p50)\n');
console.log(
  '| store | calls | fill | first checkpoint, on the page (stall) | checkpoint from the Web Worker replica (stall) | writes during background checkpoints p50 / p99 (p99÷p50) / max | longest stall during them (longest tasks on the page) | checkpoints in them (longest; longest commit) | same writes, no checkpoint: p50 / p99 (p99÷p50) / max; longest stall | peak memory of the tab ÷ store, with checkpoints / without | reopen + first query |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  const store = r.bytes ? `${(r.bytes / MB).toFixed(0)} MB (target ${r.targetBytes / MB})` : `${r.targetBytes / MB} MB`;
  const checkpoint = r.checkpointError ? `FAILED: ${r.checkpointError}` : `${fmt(r.checkpointMs)} (${fmt(r.checkpointStallMs)})`;
  const fromReplica = r.replicaCheckpointError
    ? `FAILED: ${r.replicaCheckpointError}`
    : r.replicaCheckpointMs === undefined
      ? '—'
      : `${fmt(r.replicaCheckpointMs)} (${fmt(r.replicaCheckpointStallMs)})`;
  const w = r.writes && r.writes.length > 0 ? summarize(r.writes) : undefined;
  const writes = w
    ? `${fmt(w.p50)} / ${fmt(w.p99)} (${(w.p99 / w.p50).toFixed(1)}×) / ${fmt(w.max)}`
    : r.writeError
      ? `FAILED: ${r.writeError}`
      : '—';
  const cps =
    r.writeCheckpoints === undefined
      ? '—'
      : `${r.writeCheckpoints} (${fmt(Math.max(0, ...(r.writeCheckpointMs ?? [])))}; ${fmt(Math.max(0, ...(r.writeCommitMs ?? [])))})`;
  const f = r.floorWrites && r.floorWrites.length > 0 ? summarize(r.floorWrites) : undefined;
  const floor = f
    ? `${fmt(f.p50)} / ${fmt(f.p99)} (${(f.p99 / f.p50).toFixed(1)}×) / ${fmt(f.max)}; ${fmt(r.floorStallMs)}`
    : r.floorError
      ? `FAILED: ${r.floorError}`
      : '—';
  const ratio = (peak: number | undefined) => (peak === undefined || !r.bytes ? '—' : `${(peak / r.bytes).toFixed(2)}×`);
  const tabMemory = `${ratio(memory.peakIn(r.writesWindow))} / ${ratio(memory.peakIn(r.floorWindow))}`;
  const reopen = r.reopenError
    ? `FAILED: ${r.reopenError}`
    : `${fmt(r.reopenMs)}${r.closeError ? ` (close() failed: ${r.closeError}; the reopen replayed the log)` : ''}`;
  console.log(
    `| ${store} | ${r.calls ?? '—'} | ${fmt(r.fillMs)} | ${checkpoint} | ${fromReplica} | ${writes} | ${fmt(r.writeStallMs)} (${(r.writeLongTasksMs ?? []).map((ms, i) => `${ms.toFixed(0)} ${r.writeLongTaskPhases?.[i] ?? ''}`.trim()).join(', ') || 'none over 50 ms'}) | ${cps} | ${floor} | ${tabMemory} | ${reopen} |`,
  );
}
if (seed && 'error' in seed) console.log(`\nseed queries at 1M calls in Chromium: FAILED: ${seed.error}`);
else if (seed) {
  console.log(
    `\nThe seed's queries at 1M tool calls in Chromium (the store bench/node-scale.ts builds, ${(seed.bytes / MB).toFixed(0)} MB, loaded into a memory adapter; store.query, wall time, median of 5):\n`,
  );
  console.log('| query | calls in PLANNING missions | rows | median of 5 | goal < 50 ms |');
  console.log('| --- | --- | ---: | ---: | --- |');
  for (const q of seed.queries) {
    console.log(`| ${q.name} | ${q.share} | ${q.rows} | ${fmt(q.medianMs)} | ${q.medianMs < 50 ? 'met' : 'MISSED'} |`);
  }
}
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(
  join(ROOT, 'bench/results/browser-scale.json'),
  JSON.stringify(
    {
      sizes: results.map(({ writes, floorWrites, ...r }) => ({
        ...r,
        writes: writes && writes.length > 0 ? summarize(writes) : undefined,
        floorWrites: floorWrites && floorWrites.length > 0 ? summarize(floorWrites) : undefined,
        tabPeakBytes: { withCheckpoints: memory.peakIn(r.writesWindow), without: memory.peakIn(r.floorWindow) },
      })),
      seed,
    },
    null,
    2,
  ),
);
