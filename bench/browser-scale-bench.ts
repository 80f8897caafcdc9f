/**
 * `npm run bench` (browser scale): for each size in BENCH_SCALE_BROWSER (MB, default 100,500),
 * headless Chromium fills a store on IndexedDB, checkpoints it while a 1 ms timer watches the
 * main thread (on the page), reopens it (the replica starts in a Web Worker), checkpoints from
 * the replica under the same watch, times writes while background checkpoints from the replica
 * run, and reopens it. A step that fails
 * (today a checkpoint above ~150 MB) prints as a result line. Writes bench/results/browser-scale.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { createServer } from 'vite';
import { describeChromium, findChromium } from '../scripts/chromium.js';
import type { PageScaleFigures } from './browser/scale-page.js';
import { summarize } from './stats.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MB = 1_000_000;
const SIZES = (process.env.BENCH_SCALE_BROWSER ?? '100,500')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);

const fmt = (ms: number | undefined) => (ms === undefined ? '—' : ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`);

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
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (error) => process.stderr.write(`page error: ${error}\n`));
  await page.goto(`http://127.0.0.1:${port}/bench/browser/scale-page.html`);
  await page.waitForFunction(() => 'aosScale' in window, undefined, { timeout: 60_000 });
  for (const size of SIZES) {
    process.stderr.write(`  · browser scale: ${size} MB store on IndexedDB\n`);
    try {
      results.push(
        await page.evaluate(
          (targetBytes) =>
            (window as unknown as { aosScale: { scale: (o: { targetBytes: number }) => Promise<PageScaleFigures> } }).aosScale.scale({
              targetBytes,
            }),
          size * MB,
        ),
      );
    } catch (error) {
      results.push({ targetBytes: size * MB, reopenError: `the page failed: ${String(error).split('\n')[0]}` });
    }
  }
} finally {
  await context.close();
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}

console.log('\nScale in Chromium (IndexedDB; goals from issue 8: main-thread stall ≤ 50 ms at 500 MB, write p99 ≤ 5× p50)\n');
console.log(
  '| store | calls | fill | first checkpoint, on the page (stall) | checkpoint from the Web Worker replica (stall) | writes during background checkpoints p50 / p99 (p99÷p50) / max | longest stall during them (longest tasks on the page) | checkpoints in them (longest; longest commit) | reopen + first query |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
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
  const reopen = r.reopenError
    ? `FAILED: ${r.reopenError}`
    : `${fmt(r.reopenMs)}${r.closeError ? ` (close() failed: ${r.closeError}; the reopen replayed the log)` : ''}`;
  console.log(
    `| ${store} | ${r.calls ?? '—'} | ${fmt(r.fillMs)} | ${checkpoint} | ${fromReplica} | ${writes} | ${fmt(r.writeStallMs)} (${(r.writeLongTasksMs ?? []).map((ms, i) => `${ms.toFixed(0)} ${r.writeLongTaskPhases?.[i] ?? ''}`.trim()).join(', ') || 'none over 50 ms'}) | ${cps} | ${reopen} |`,
  );
}
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(
  join(ROOT, 'bench/results/browser-scale.json'),
  JSON.stringify(
    results.map(({ writes, ...r }) => ({ ...r, writes: writes && writes.length > 0 ? summarize(writes) : undefined })),
    null,
    2,
  ),
);
