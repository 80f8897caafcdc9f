// How many snapshot chunks one more write transaction changes, for several chunk sizes: the
// figures behind the IndexedDB adapter's 4 MiB chunks (docs/big-stores.md).
// Usage: npm run build && node scripts/measure/chunk-churn.mjs [store MB, default 100]
import { createHash } from 'node:crypto';
import { MemoryVolume, memoryAdapter } from '../../dist/adapters/memory.js';
import { openStore } from '../../dist/index.js';

const hashes = (bytes, size) => {
  const out = [];
  for (let i = 0; i < bytes.length; i += size)
    out.push(
      createHash('sha256')
        .update(bytes.subarray(i, i + size))
        .digest('hex'),
    );
  return out;
};
const targetMb = Number(process.argv[2] ?? 100);
const volume = new MemoryVolume();
const store = await openStore({ adapter: memoryAdapter(volume), onWarning: () => {} });
await store.missions.create({ phase: 'PLANNING', uuid: 'm' });
const args = { path: '/src/some/file.ts', query: 'x'.repeat(250) };
let n = 0;
const record = (tx, success = true) =>
  tx.toolCalls.record({ mission: 'm', toolName: `tool${n++ % 20}`, args, success, durationMs: n % 500 });
for (;;) {
  await store.transaction(async (tx) => {
    for (let i = 0; i < 5000; i++) await record(tx, n % 13 !== 0);
  });
  const [row] = await store.query('SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()');
  if (row.n > targetMb * 2 ** 20) break;
}
await store.checkpoint();
console.log(`store ${(volume.snapshot.length / 2 ** 20).toFixed(0)} MB, ${n} tool calls`);
for (const batch of [1, 100, 1000, 10000]) {
  const before = volume.snapshot;
  await store.transaction(async (tx) => {
    for (let i = 0; i < batch; i++) await record(tx);
  });
  await store.checkpoint();
  const after = volume.snapshot;
  const cells = [];
  for (const size of [256 << 10, 1 << 20, 4 << 20, 16 << 20]) {
    const a = hashes(before, size);
    const b = hashes(after, size);
    const changed = b.filter((h, i) => h !== a[i]).length;
    cells.push(`${size >> 10} KiB: ${changed}/${b.length} (${((changed * size) / 2 ** 20).toFixed(1)} MiB)`);
  }
  console.log(`+${batch} tool calls → ${cells.join(' | ')}`);
}
await store.close();
