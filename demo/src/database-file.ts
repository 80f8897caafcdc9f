import type { QueryValue, SQLiteStore, StoreTransaction } from 'agent-ops-store';
import { openStore } from 'agent-ops-store';
import { MemoryVolume, memoryAdapter } from 'agent-ops-store/adapters/memory';

/** The tables every store of ours has (schema version 1 on). */
const STORE_TABLES = ['missions', 'tool_calls', 'decisions', 'playbook_runs', 'agent_memory'];
// SQLite allows 32766 bound parameters per statement; stay well below.
const MAX_PARAMS = 30_000;
const MAX_ROWS_PER_INSERT = 500;

/** Saves the store's database as a `.sqlite` file, through the browser's download. */
export async function downloadDatabase(store: SQLiteStore): Promise<string> {
  const bytes = await store.exportDatabase();
  const name = `agent-ops-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}.sqlite`;
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/vnd.sqlite3' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has its own copy once click() returned; give the browser a moment before freeing it.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}

/** Why a file was refused: shown to the visitor as is. */
export class RefusedFile extends Error {}

/**
 * Replaces everything in `store` with the rows of the store file `bytes`, and says how many
 * missions and tool calls came in. The file is first opened on its own, as a read-only store
 * in memory: a file that is not SQLite, or SQLite without our tables, is refused with
 * RefusedFile and nothing changes. Then, in one transaction, the store's tables are emptied and
 * filled with the file's rows (ids kept, so every reference holds). In a tab that follows
 * another, where transactions are refused, the same statements run one by one instead.
 */
export async function replaceWithFile(
  store: SQLiteStore,
  bytes: Uint8Array,
  fileName: string,
): Promise<{ missions: number; toolCalls: number }> {
  const volume = new MemoryVolume();
  volume.snapshot = bytes;
  let source: SQLiteStore;
  try {
    source = await openStore({ adapter: memoryAdapter(volume), readOnly: true });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'CORRUPT') throw new RefusedFile(`${fileName} is not an SQLite database, so not an agent-ops-store file.`);
    if (code === 'SCHEMA_TOO_NEW') throw new RefusedFile(`${fileName} was written by a newer agent-ops-store than this page.`);
    throw error;
  }
  try {
    const present = new Set(
      (await source.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")).map((row) => row.name),
    );
    const missing = STORE_TABLES.filter((table) => !present.has(table));
    if (missing.length > 0) {
      throw new RefusedFile(
        `${fileName} is an SQLite database but not an agent-ops-store file: it has no ${missing.join(', ')} table${missing.length === 1 ? '' : 's'}.`,
      );
    }
    const statements = await copyStatements(source, store, present);
    await runAll(store, statements);
    const [missions] = await source.query<{ n: number }>('SELECT COUNT(*) AS n FROM missions');
    const [toolCalls] = await source.query<{ n: number }>('SELECT COUNT(*) AS n FROM tool_calls');
    return { missions: missions?.n ?? 0, toolCalls: toolCalls?.n ?? 0 };
  } finally {
    await source.close();
  }
}

type Statement = readonly [sql: string, params: QueryValue[]];

/** The statements that empty the target's tables and fill them with the source's rows, parents first. */
async function copyStatements(source: SQLiteStore, target: SQLiteStore, present: ReadonlySet<string>): Promise<Statement[]> {
  const own = (await target.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'"))
    .map((row) => row.name)
    // SQLite's own tables, and the store's record of forwarded writes, are not data to copy.
    .filter((name) => !name.startsWith('sqlite_') && !name.startsWith('aos_'));
  // missions first: every other table of ours refers to it.
  const tables = [...own.filter((t) => t === 'missions'), ...own.filter((t) => t !== 'missions').sort()];
  const statements: Statement[] = [...tables].reverse().map((table) => [`DELETE FROM "${table}"`, []] as const);
  for (const table of tables.filter((t) => present.has(t))) {
    const theirs = new Set((await source.query<{ name: string }>('SELECT name FROM pragma_table_info(?)', [table])).map((r) => r.name));
    const columns = (await target.query<{ name: string }>('SELECT name FROM pragma_table_info(?)', [table]))
      .map((r) => r.name)
      .filter((name) => theirs.has(name));
    const list = columns.map((c) => `"${c.replaceAll('"', '""')}"`).join(', ');
    const perInsert = Math.max(1, Math.min(MAX_ROWS_PER_INSERT, Math.floor(MAX_PARAMS / columns.length)));
    let batch: QueryValue[][] = [];
    const flush = () => {
      if (batch.length === 0) return;
      const tuple = `(${columns.map(() => '?').join(', ')})`;
      statements.push([`INSERT INTO "${table}" (${list}) VALUES ${batch.map(() => tuple).join(', ')}`, batch.flat()]);
      batch = [];
    };
    for await (const row of source.iterate(`SELECT ${list} FROM "${table}" ORDER BY rowid`)) {
      batch.push(columns.map((c) => row[c] ?? null));
      if (batch.length === perInsert) flush();
    }
    flush();
  }
  return statements;
}

/** Runs the statements in one transaction, or one by one where this tab may not open one. */
async function runAll(store: SQLiteStore, statements: readonly Statement[]): Promise<void> {
  const all = async (target: Pick<StoreTransaction, 'run'>) => {
    for (const [sql, params] of statements) await target.run(sql, params);
  };
  try {
    await store.transaction((tx) => all(tx));
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'READ_ONLY') throw error;
    await all(store);
  }
}
