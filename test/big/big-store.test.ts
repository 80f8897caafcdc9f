import { randomFillSync } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fsAdapter } from '../../adapters/fs.js';
import { openStore, type SQLiteStore } from '../../src/index.js';

// Its own project, run only by `npm run test:big` (never by `npm test`): it writes a store of
// ~2.3 GB, takes a few minutes and about 5 GB of memory at its peak (sql.js's file, grown by
// eighths, plus its export).
const GIB = 2 ** 30;
const ROW_BYTES = 16 << 20;
const ROWS_PER_TX = 4;
const ROWS = Math.ceil((2.25 * GIB) / ROW_BYTES);
const MINUTES = 60_000;

let dir: string | undefined;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `bytes` bytes: random ones first (no two rows alike), zeros, and the tag padded to 16 at the end. */
function blobOf(tag: string, bytes: number): Uint8Array {
  const blob = new Uint8Array(bytes);
  randomFillSync(blob, 0, 16);
  blob.set(Buffer.from(tag.padEnd(16, '.').slice(0, 16)), bytes - 16);
  return blob;
}

async function check(store: SQLiteStore, rows: number): Promise<void> {
  const [summary] = await store.query<{ n: number; bytes: number }>('SELECT count(*) AS n, sum(length(b)) AS bytes FROM blobs');
  expect(summary).toEqual({ n: rows, bytes: rows * ROW_BYTES });
  const ends = await store.query<{ tag: string; end: string }>('SELECT tag, CAST(substr(b, -16) AS TEXT) AS end FROM blobs ORDER BY id');
  for (const row of ends) expect(row.end).toBe(row.tag.padEnd(16, '.').slice(0, 16));
  expect(await store.query('PRAGMA quick_check')).toEqual([{ quick_check: 'ok' }]);
}

describe('a store past 2 GiB (fs adapter)', () => {
  it(
    'writes, checkpoints, closes, reopens, checkpoints again and reopens a store of more than 2 GiB',
    async () => {
      dir = await mkdtemp(join(tmpdir(), 'aos-big-'));
      const path = join(dir, 'big.db');
      const warnings: string[] = [];
      // No checkpoint on the way: each would export the whole database; close() folds the log once.
      const checkpoint = { logRatio: 1000, maxLogBytes: 64 * GIB };
      const options = { checkpoint, onWarning: (message: string) => warnings.push(message) };
      const store = await openStore({ adapter: fsAdapter(path), ...options });
      await store.run('CREATE TABLE blobs (id INTEGER PRIMARY KEY, tag TEXT, b BLOB)');
      for (let row = 0; row < ROWS; row += ROWS_PER_TX) {
        await store.transaction(async (tx) => {
          for (let i = row; i < Math.min(ROWS, row + ROWS_PER_TX); i++) {
            await tx.run('INSERT INTO blobs (tag, b) VALUES (?, ?)', [`row-${i}`, blobOf(`row-${i}`, ROW_BYTES)]);
          }
        });
      }
      await store.close();
      const size = (await stat(path)).size;
      expect(size).toBeGreaterThan(2 * GIB);

      const reopened = await openStore({ adapter: fsAdapter(path), ...options });
      await check(reopened, ROWS);
      await reopened.missions.create({ phase: 'PLANNING', uuid: 'm-after-reopen' });
      await reopened.close();

      const third = await openStore({ adapter: fsAdapter(path), ...options });
      await check(third, ROWS);
      expect(await third.missions.get('m-after-reopen')).toMatchObject({ uuid: 'm-after-reopen' });
      await third.close();
      expect(warnings).toEqual([]);
    },
    30 * MINUTES,
  );
});
