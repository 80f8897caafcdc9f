// The Worker that runs `@sqlite.org/sqlite-wasm` on its `opfs-sahpool` VFS for the browser
// bench. OPFS sync access handles exist only in dedicated workers, so this engine cannot run on
// the page; the page posts each insert here and times the round trip (sqlite-wasm-anchor.ts).
import sqlite3InitModule, { type Database, type PreparedStatement, type SAHPoolUtil } from '@sqlite.org/sqlite-wasm';
import { type Payload, payload } from '../payloads.js';
import { ANCHOR_MISSION, ANCHOR_SCHEMA, DB_BYTES, FILL_BATCH, INSERT_TOOL_CALL, toolCallRow } from './anchor-sql.js';

/** A request from the page; `id` pairs it with its reply. */
export type SqliteWasmRequest =
  | { id: number; kind: 'open'; targetBytes: number }
  | { id: number; kind: 'insert'; payload: Payload }
  | { id: number; kind: 'close' };

/** The worker's reply: the result of the request, or the error it threw, as text. */
export type SqliteWasmReply =
  | { id: number; ok: true; opened?: { bytes: number; rows: number; fillMs: number; settings: string }; workerMs?: number }
  | { id: number; ok: false; error: string };

let pool: SAHPoolUtil | undefined;
let db: Database | undefined;
let insert: PreparedStatement | undefined;

/**
 * Opens a fresh database in the pool with the engine's fastest durable settings, fills it to
 * about `targetBytes` and prepares the timed insert. Returns the settings as SQLite reports
 * them, so a VFS that quietly refused WAL or exclusive locking shows in the bench output.
 */
async function open(targetBytes: number) {
  const sqlite3 = await sqlite3InitModule();
  // clearOnInit: every run starts from an empty pool, whatever an earlier crashed run left.
  pool = await sqlite3.installOpfsSAHPoolVfs({ name: 'aos-bench-sahpool', clearOnInit: true });
  db = new pool.OpfsSAHPoolDb('/bench.sqlite3');
  // Exclusive locking first: WAL on this VFS needs it, since it has no shared memory between
  // connections. synchronous=FULL syncs the WAL at every commit, so a commit that returned is on disk.
  db.exec('PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL');
  const settings = [
    `journal_mode=${db.selectValue('PRAGMA journal_mode')}`,
    `locking_mode=${db.selectValue('PRAGMA locking_mode')}`,
    `synchronous=${db.selectValue('PRAGMA synchronous')}`,
    `SQLite ${sqlite3.version.libVersion}`,
  ].join(', ');
  db.exec(ANCHOR_SCHEMA);
  db.exec(ANCHOR_MISSION);
  insert = db.prepare(INSERT_TOOL_CALL);
  const fillStart = performance.now();
  let i = 0;
  while (Number(db.selectValue(DB_BYTES)) < targetBytes) {
    db.exec('BEGIN');
    for (let k = 0; k < FILL_BATCH; k++, i++) insert.bind(toolCallRow(payload(i))).stepReset();
    db.exec('COMMIT');
  }
  const fillMs = performance.now() - fillStart;
  return { bytes: Number(db.selectValue(DB_BYTES)), rows: Number(db.selectValue('SELECT count(*) FROM tool_calls')), fillMs, settings };
}

/** Closes the database and deletes the pool's files, so the next run and the origin start clean. */
async function close() {
  insert?.finalize();
  db?.close();
  await pool?.removeVfs();
  insert = undefined;
  db = undefined;
  pool = undefined;
}

async function handle(request: SqliteWasmRequest): Promise<SqliteWasmReply> {
  switch (request.kind) {
    case 'open':
      return { id: request.id, ok: true, opened: await open(request.targetBytes) };
    case 'insert': {
      if (!insert) throw new Error('sqlite-wasm worker: insert before open');
      const t = performance.now();
      // Autocommit: one INSERT, one durable commit.
      insert.bind(toolCallRow(request.payload)).stepReset();
      return { id: request.id, ok: true, workerMs: performance.now() - t };
    }
    case 'close':
      await close();
      return { id: request.id, ok: true };
  }
}

self.onmessage = async (event: MessageEvent<SqliteWasmRequest>) => {
  let reply: SqliteWasmReply;
  try {
    reply = await handle(event.data);
  } catch (error) {
    reply = { id: event.data.id, ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
  self.postMessage(reply);
};
