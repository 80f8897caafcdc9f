// The durable write primitives a page has, side by side on disk: a strict IndexedDB transaction
// (what every durable record() of the IndexedDB adapter waits for), and an OPFS sync access
// handle's write + flush in a dedicated worker, timed inside the worker and as the page's round
// trip to it. The figures behind "the browser anchor" in docs/benchmarks.md.
// Usage: npx tsx scripts/measure/browser-durable-writes.ts [rounds, default 1000]
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describeChromium, findChromium } from '../chromium.js';

const ROUNDS = Number(process.argv[2] ?? 1000);
const WARMUP = 200;
/** About one commit record of a tool call with ~1 KB of args and result, as the benches write. */
const RECORD_BYTES = 1400;

const WORKER = `
let handle;
let at = 0;
const record = new Uint8Array(${RECORD_BYTES}).fill(7);
onmessage = async (event) => {
  if (event.data === 'open') {
    const root = await navigator.storage.getDirectory();
    const file = await root.getFileHandle('durable-writes', { create: true });
    handle = await file.createSyncAccessHandle();
    handle.truncate(0);
    postMessage(0);
    return;
  }
  const started = performance.now();
  handle.write(record, { at });
  at += record.length;
  handle.flush();
  postMessage(performance.now() - started);
};`;

const PAGE = `<!doctype html><script type="module">
const worker = new Worker('/worker.js');
const ask = (message) => new Promise((resolve) => { worker.onmessage = (event) => resolve(event.data); worker.postMessage(message); });
const db = await new Promise((resolve, reject) => {
  const request = indexedDB.open('durable-writes', 1);
  request.onupgradeneeded = () => request.result.createObjectStore('log');
  request.onsuccess = () => resolve(request.result);
  request.onerror = () => reject(request.error);
});
const value = new Uint8Array(${RECORD_BYTES}).fill(7);
const strictPut = (key) => new Promise((resolve, reject) => {
  const tx = db.transaction('log', 'readwrite', { durability: 'strict' });
  tx.objectStore('log').put(value, key);
  tx.oncomplete = resolve;
  tx.onerror = () => reject(tx.error);
  tx.commit();
});
window.measure = async (rounds, warmup) => {
  await ask('open');
  const opfsRoundTrip = [], opfsInWorker = [], idbStrict = [];
  // Interleaved, so that the machine's noise falls on both alike.
  for (let i = 0; i < warmup + rounds; i++) {
    let started = performance.now();
    const inWorker = await ask('write');
    const roundTrip = performance.now() - started;
    started = performance.now();
    await strictPut(i);
    const strict = performance.now() - started;
    if (i < warmup) continue;
    opfsRoundTrip.push(roundTrip);
    opfsInWorker.push(inWorker);
    idbStrict.push(strict);
  }
  return { crossOriginIsolated, opfsRoundTrip, opfsInWorker, idbStrict };
};
window.ready = true;
</script>`;

const percentile = (samples: number[], p: number) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
};
const ms = (value: number) => `${value.toFixed(3)} ms`;

const server = createServer((request, response) => {
  // Cross-origin isolated, so that performance.now() has its finest resolution.
  response.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  response.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
  const worker = request.url === '/worker.js';
  response.setHeader('Content-Type', worker ? 'text/javascript' : 'text/html');
  response.end(worker ? WORKER : PAGE);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
const found = await findChromium();
console.log(describeChromium(found));
// A persistent context on a profile folder under the temp directory: its IndexedDB and OPFS are
// on disk (an off-the-record context keeps both in memory, and no flush reaches the disk).
const profile = mkdtempSync(join(tmpdir(), 'aos-durable-writes-'));
const context = await chromium.launchPersistentContext(profile, { ...found.launchOptions, headless: true });
try {
  const page = await context.newPage();
  // localhost: OPFS needs a secure context.
  await page.goto(`http://localhost:${port}/`);
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
  const figures = await page.evaluate(
    ([rounds, warmup]) =>
      (window as unknown as { measure(r: number, w: number): Promise<Record<string, number[] | boolean>> }).measure(rounds!, warmup!),
    [ROUNDS, WARMUP],
  );
  console.log(`${ROUNDS} rounds after ${WARMUP} warm-up, ${RECORD_BYTES} B a write, cross-origin isolated: ${figures.crossOriginIsolated}`);
  const rows: [string, number[]][] = [
    ['strict IndexedDB transaction, one put, on the page', figures.idbStrict as number[]],
    ['OPFS write + flush, inside a dedicated worker', figures.opfsInWorker as number[]],
    ["OPFS write + flush, the page's round trip to the worker", figures.opfsRoundTrip as number[]],
  ];
  for (const [what, samples] of rows) {
    console.log(`${what.padEnd(58)} p50 ${ms(percentile(samples, 0.5))}  p95 ${ms(percentile(samples, 0.95))}`);
  }
} finally {
  await context.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
