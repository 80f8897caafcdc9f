import type { Row } from './connection.js';
import { messageOf, StoreError } from './errors.js';
import type { QueryParams } from './raw-query.js';
import type { SqlValue } from './sql-js.js';
import type { SQLiteStore } from './store.js';
import { normalizeTimestamp } from './timestamp.js';
import type { StoreTransaction } from './transaction-runner.js';

/** The rows of one table that belong to the archived missions. */
export interface ArchiveTable {
  /** The table's name; `missions` comes first, then the tables that reference it. */
  readonly name: string;
  /** The column holding the mission's id (`id` for `missions`, the foreign key elsewhere). */
  readonly missionColumn: string;
  readonly rows: readonly Row[];
}

/** What an archive run moves: the missions and every row that references them, table by table. */
export interface ArchiveBatch {
  /** The ids of the archived missions. */
  readonly missionIds: readonly number[];
  readonly tables: readonly ArchiveTable[];
}

/**
 * Where `store.archive` writes. `write` resolves once the batch is durable (fsynced); `read` reads
 * back, from the durable copy, what the archive holds for the batch's missions. The store deletes
 * nothing unless what `read` gives equals what was written.
 */
export interface ArchiveSink {
  /** Names the archive in messages: a path. */
  readonly location: string;
  write(batch: ArchiveBatch): Promise<void>;
  read(batch: ArchiveBatch): Promise<ArchiveBatch>;
}

/** What `store.archive` takes. */
export interface ArchiveOptions {
  /** Finished missions (completed, failed, cancelled) that finished before this time move. */
  readonly olderThan: Date | string;
  /** Where they go; not needed with `dryRun`. */
  readonly to?: ArchiveSink;
  /** Only say what would move: nothing is written or deleted. */
  readonly dryRun?: boolean;
  /** VACUUM after deleting, so the store shrinks on disk (default true). */
  readonly compact?: boolean;
}

/** What `store.archive` did (or, with `dryRun`, would do). */
export interface ArchiveResult {
  /** The cutoff, in the store's timestamp format. */
  readonly cutoff: string;
  /** The uuids of the missions moved, oldest id first. */
  readonly missions: readonly string[];
  /** Rows moved per table, `missions` included. */
  readonly rows: Readonly<Record<string, number>>;
  /** True once the rows were deleted from the store (false on a dry run or when nothing matched). */
  readonly deleted: boolean;
  /** True when the store was compacted (VACUUM). */
  readonly compacted: boolean;
}

const FINISHED = "status IN ('completed', 'failed', 'cancelled') AND coalesce(completed_at, created_at) < ?";

/**
 * Moves finished missions older than `olderThan`, with every row that references them, into
 * `to`; then deletes them from the store in one transaction and compacts it. Nothing is deleted
 * unless the archive was written durably and read back equal; a mission that changed meanwhile
 * stops the run with CONFLICT, nothing deleted. Used through `store.archive`.
 */
export async function archiveMissions(store: SQLiteStore, options: ArchiveOptions): Promise<ArchiveResult> {
  if (typeof options !== 'object' || options === null) throw new StoreError('INVALID_INPUT', 'store.archive needs { olderThan, to }');
  const cutoff = normalizeTimestamp('olderThan', options.olderThan);
  const sink = options.to;
  if (!options.dryRun && (typeof sink?.write !== 'function' || typeof sink.read !== 'function')) {
    throw new StoreError('INVALID_INPUT', 'store.archive needs { to }: an ArchiveSink such as storeArchiveSink(...)');
  }
  const batch = await store.transaction((tx) => collect(tx, cutoff));
  const summary = {
    cutoff,
    missions: batch.tables[0]!.rows.map((row) => row.mission_uuid as string),
    rows: Object.fromEntries(batch.tables.map((t) => [t.name, t.rows.length])),
  };
  if (options.dryRun || batch.missionIds.length === 0) return { ...summary, deleted: false, compacted: false };
  await sink!.write(batch);
  let back: ArchiveBatch;
  try {
    back = await sink!.read(batch);
  } catch (error) {
    throw new StoreError('IO', `the archive at ${sink!.location} could not be read back, nothing was deleted: ${messageOf(error)}`, {
      cause: error,
    });
  }
  const mismatch = difference(batch, back);
  if (mismatch) throw new StoreError('IO', `the archive at ${sink!.location} read back differs (${mismatch}), nothing was deleted`);
  await store.transaction(async (tx) => {
    const again = await collect(tx, cutoff, batch.missionIds);
    const changed = difference(batch, again);
    if (changed) throw new StoreError('CONFLICT', `missions changed while they were archived (${changed}), nothing was deleted`);
    for (const id of batch.missionIds) await tx.missions.delete(id);
  });
  const compact = options.compact !== false;
  if (compact) await store.run('VACUUM');
  return { ...summary, deleted: true, compacted: compact };
}

/**
 * An ArchiveSink that is another store (a `.sqlite` archive in Node, any adapter elsewhere), with
 * the same schema. `open` is called for each step: the write closes the store (a checkpoint), and
 * the read opens it again, so it reads what is durable, not what was in memory. Rows keep their ids,
 * so one archive takes run after run; rows already there from a run that stopped before deleting are kept.
 *
 * @example
 * await store.archive({ olderThan, to: storeArchiveSink('old.sqlite', () => openStore({ adapter: fsAdapter('old.sqlite') })) });
 */
export function storeArchiveSink(location: string, open: () => Promise<SQLiteStore>): ArchiveSink {
  const withStore = async <T>(fn: (target: SQLiteStore) => Promise<T>): Promise<T> => {
    const target = await open();
    try {
      return await fn(target);
    } finally {
      await target.close();
    }
  };
  return {
    location,
    write: (batch) =>
      withStore((target) =>
        target.transaction(async (tx) => {
          for (const table of batch.tables) {
            for (const row of table.rows) {
              const columns = Object.keys(row);
              // A run that wrote here but stopped before deleting leaves the rows behind: the next
              // run keeps them (the read-back then checks they are the same) instead of failing on their ids.
              const sql = `INSERT INTO ${quote(table.name)} (${columns.map(quote).join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`;
              await tx.run(sql, columns.map((c) => row[c]) as QueryParams);
            }
          }
        }),
      ),
    read: (batch) =>
      withStore(async (target) => ({
        missionIds: batch.missionIds,
        tables: await Promise.all(
          batch.tables.map(async (table) => ({
            ...table,
            rows: await target.query(
              `SELECT * FROM ${quote(table.name)} WHERE ${quote(table.missionColumn)} IN (SELECT value FROM json_each(?))`,
              [JSON.stringify(batch.missionIds)],
            ),
          })),
        ),
      })),
  };
}

/** The tables holding rows of a mission: `missions` and each table with a foreign key to it. */
async function missionTables(tx: StoreTransaction): Promise<{ name: string; column: string }[]> {
  const children = await tx.query<{ name: string; column: string }>(
    'SELECT m.name AS name, f."from" AS column FROM sqlite_schema m, pragma_foreign_key_list(m.name) f WHERE m.type = \'table\' AND f."table" = \'missions\' ORDER BY m.name',
  );
  // A deletion cascades further than one level only through a table that references a child:
  // the archive would miss those rows, so refuse rather than lose them.
  const names = children.map((c) => c.name);
  const [deeper] = await tx.query<{ name: string; parent: string }>(
    `SELECT m.name AS name, f."table" AS parent FROM sqlite_schema m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table' AND f."table" IN (SELECT value FROM json_each(?))`,
    [JSON.stringify(names)],
  );
  if (deeper) {
    throw new StoreError('INVALID_INPUT', `cannot archive: table ${deeper.name} references ${deeper.parent}, which belongs to a mission`);
  }
  return [{ name: 'missions', column: 'id' }, ...children];
}

/** The batch of finished missions before `cutoff` (or, when `only` is given, of those missions still matching). */
async function collect(tx: StoreTransaction, cutoff: string, only?: readonly number[]): Promise<ArchiveBatch> {
  const ids = (await tx.query<{ id: number }>(`SELECT id FROM missions WHERE ${FINISHED} ORDER BY id`, [cutoff]))
    .map((row) => row.id)
    .filter((id) => only === undefined || only.includes(id));
  const idList = JSON.stringify(only ?? ids);
  const tables: ArchiveTable[] = [];
  for (const { name, column } of await missionTables(tx)) {
    const rows = await tx.query(`SELECT * FROM ${quote(name)} WHERE ${quote(column)} IN (SELECT value FROM json_each(?))`, [idList]);
    tables.push({ name, missionColumn: column, rows: name === 'missions' ? rows.sort((a, b) => Number(a.id) - Number(b.id)) : rows });
  }
  return { missionIds: ids, tables };
}

/** Where two batches differ (a table, a row count, or a row missing), or null when they hold the same rows. */
function difference(a: ArchiveBatch, b: ArchiveBatch): string | null {
  if (a.missionIds.join() !== b.missionIds.join()) return 'the set of missions';
  for (const table of a.tables) {
    const other = b.tables.find((t) => t.name === table.name);
    if (!other) return `table ${table.name} is missing`;
    if (other.rows.length !== table.rows.length) return `${table.name}: ${table.rows.length} rows written, ${other.rows.length} found`;
    const keys = new Map<string, number>();
    for (const row of table.rows) keys.set(rowKey(row), (keys.get(rowKey(row)) ?? 0) + 1);
    for (const row of other.rows) {
      const key = rowKey(row);
      const left = keys.get(key);
      if (!left) return `${table.name}: a row differs`;
      keys.set(key, left - 1);
    }
  }
  return null;
}

/** A row as comparable text: columns sorted, bytes and big integers spelled out. */
function rowKey(row: Row): string {
  return JSON.stringify(
    Object.keys(row)
      .sort()
      .map((column) => [column, cell(row[column])]),
  );
}

function cell(value: SqlValue | undefined): unknown {
  if (value instanceof Uint8Array) return { bytes: Array.from(value) };
  if (typeof value === 'bigint') return { int: value.toString() };
  return value ?? null;
}

function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
