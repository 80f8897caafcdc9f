// RSS of an N MB store (fs adapter) right after reopen and a checkpoint, and once collected.
// Usage: npm run build && node --expose-gc scripts/measure/store-rss.mjs [store MB, default 512]
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fsAdapter } from '../../dist/adapters/fs.js';
import { openStore } from '../../dist/index.js';

const mb = Number(process.argv[2] ?? 512);
const dir = mkdtempSync(join(tmpdir(), 'aos-rss-'));
const path = join(dir, 'store.db');
const rss = () => process.memoryUsage().rss;
const collect = async () => {
  globalThis.gc();
  await new Promise((resolve) => setTimeout(resolve, 100));
  globalThis.gc();
};
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
await store.close();
await collect();
const size = statSync(path).size;
const show = (what) => console.log(`${what}: ${(rss() / 2 ** 20).toFixed(0)} MB (${(rss() / size).toFixed(2)}× the file)`);
console.log(`file ${(size / 2 ** 20).toFixed(0)} MB`);
store = await openStore({ adapter: fsAdapter(path), ...options });
show('right after reopen');
await collect();
show('after reopen, collected');
await store.run('INSERT INTO blobs (b) VALUES (?)', [new Uint8Array(100)]);
await store.checkpoint();
show('right after a checkpoint');
await collect();
show('after the checkpoint, collected');
await store.close();
rmSync(dir, { recursive: true, force: true });
