// The wa-sqlite anchor: `@journeyapps/wa-sqlite` (the maintained wa-sqlite) with its
// IDBBatchAtomicVFS, on the page, as a contender whose op is one durable INSERT.

import type { SqlValue } from '@journeyapps/wa-sqlite';
import * as SQLite from '@journeyapps/wa-sqlite';
import SQLiteAsyncFactory from '@journeyapps/wa-sqlite/dist/wa-sqlite-async.mjs';
import { IDBBatchAtomicVFS } from '@journeyapps/wa-sqlite/src/examples/IDBBatchAtomicVFS.js';
import { payload } from '../payloads.js';
import { ANCHOR_MISSION, ANCHOR_SCHEMA, DB_BYTES, FILL_BATCH, INSERT_TOOL_CALL, toolCallRow } from './anchor-sql.js';
import type { Built, Contender } from './contender.js';

const IDB_NAME = 'aos-bench-wa-sqlite';

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

/**
 * wa-sqlite's asyncify build on IDBBatchAtomicVFS, filled to about `targetBytes`, as a
 * contender. Durability is the VFS's default, `PRAGMA synchronous = FULL`: every page write of
 * a commit goes into IndexedDB transactions opened with `durability: 'strict'`, and xSync waits
 * for them to complete, so a commit that returned is on disk (`normal` would switch to
 * `relaxed` transactions, which the browser may acknowledge before they reach the disk).
 * Locking stays at its default (normal): `locking_mode = EXCLUSIVE`, which spares the Web Lock
 * and the metadata read of each transaction, made commits about twice as slow in two short A/B
 * runs here (p50 25.6 against 14.3 ms on disk, 21.6 against 10.6 ms in an off-the-record
 * context), so it is not this VFS's faster durable setting. Why was not looked into.
 */
export async function waSqliteContender(targetBytes: number): Promise<{ contender: Contender; built: Built }> {
  const name = 'wa-sqlite IDBBatchAtomicVFS';
  await deleteDatabase(IDB_NAME);
  const module = await SQLiteAsyncFactory();
  const sqlite3 = SQLite.Factory(module);
  const vfs = await IDBBatchAtomicVFS.create(IDB_NAME, module);
  sqlite3.vfs_register(vfs, true);
  const db = await sqlite3.open_v2('bench.sqlite3');
  const value = async (sql: string) => {
    let out: SqlValue = null;
    await sqlite3.exec(db, sql, (row) => {
      out = row[0] ?? null;
    });
    return out;
  };
  await sqlite3.exec(db, 'PRAGMA synchronous = FULL');
  const settings = [
    `journal_mode=${await value('PRAGMA journal_mode')} (batch atomic: no journal written)`,
    `locking_mode=${await value('PRAGMA locking_mode')}`,
    `synchronous=${await value('PRAGMA synchronous')}`,
    `SQLite ${await value('SELECT sqlite_version()')}`,
  ].join(', ');
  await sqlite3.exec(db, ANCHOR_SCHEMA);
  await sqlite3.exec(db, ANCHOR_MISSION);
  let insert = 0;
  // unscoped: the statement outlives the loop, prepared once like the store's cached statements.
  for await (const stmt of sqlite3.statements(db, INSERT_TOOL_CALL, { unscoped: true })) {
    insert = stmt;
    break;
  }
  const run = async (row: (string | number)[]) => {
    sqlite3.bind_collection(insert, row);
    await sqlite3.step(insert);
    await sqlite3.reset(insert);
  };
  const fillStart = performance.now();
  let i = 0;
  while (Number(await value(DB_BYTES)) < targetBytes) {
    await sqlite3.exec(db, 'BEGIN');
    for (let k = 0; k < FILL_BATCH; k++, i++) await run(toolCallRow(payload(i)));
    await sqlite3.exec(db, 'COMMIT');
  }
  const fillMs = performance.now() - fillStart;
  const bytes = Number(await value(DB_BYTES));
  const rows = Number(await value('SELECT count(*) FROM tool_calls'));
  const contender: Contender = {
    name,
    samples: [],
    appends: [],
    // Autocommit: one INSERT, one durable commit.
    op: (k) => run(toolCallRow(payload(i + k))),
    teardown: async () => {
      await sqlite3.finalize(insert);
      await sqlite3.close(db);
      vfs.close();
      await deleteDatabase(IDB_NAME);
    },
  };
  return { contender, built: { name, bytes, rows, fillMs, settings } };
}
