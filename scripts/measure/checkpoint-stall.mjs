// The longest event-loop stall during a checkpoint of an N MB store (fs adapter), and reopen time.
// Usage: npm run build && node scripts/measure/checkpoint-stall.mjs [store MB, default 1024]
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fsAdapter } from '../../dist/adapters/fs.js';
import { openStore } from '../../dist/index.js';

const mb = Number(process.argv[2] ?? 1024);
const dir = mkdtempSync(join(tmpdir(), 'aos-stall-'));
const path = join(dir, 'store.db');
/** Starts a 1 ms interval; the function it returns stops it and gives the longest gap seen. */
function watchGaps() {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  return () => {
    clearInterval(timer);
    return Math.max(longest, performance.now() - last);
  };
}
// No checkpoint while filling: only the measured ones.
const options = { checkpoint: { logRatio: 1000, maxLogBytes: 2 ** 40 }, onWarning: () => {} };
let store = await openStore({ adapter: fsAdapter(path), ...options });
await store.run('CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB)');
for (let i = 0; i < mb / 8; i += 4) {
  await store.transaction(async (tx) => {
    for (let j = 0; j < 4; j++) {
      const blob = new Uint8Array(8 << 20);
      randomFillSync(blob, 0, 64);
      await tx.run('INSERT INTO blobs (b) VALUES (?)', [blob]);
    }
  });
}
for (let i = 0; i < 3; i++) {
  const stop = watchGaps();
  const start = performance.now();
  await store.checkpoint();
  const ms = performance.now() - start;
  console.log(`${mb} MB: checkpoint ${ms.toFixed(0)} ms, longest event-loop stall ${stop().toFixed(0)} ms`);
  await store.run('INSERT INTO blobs (b) VALUES (?)', [new Uint8Array(1000)]);
}
await store.close();
const start = performance.now();
store = await openStore({ adapter: fsAdapter(path), ...options });
console.log(`reopen ${(performance.now() - start).toFixed(0)} ms`);
await store.close();
rmSync(dir, { recursive: true, force: true });
