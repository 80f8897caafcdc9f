import type { Connection } from './connection.js';
import { StoreError } from './errors.js';

/**
 * How the store must run a statement the guard let through: a read (changes nothing), a write
 * of rows, a schema change (ends open `store.iterate` statements first, which would block it),
 * or VACUUM (outside any transaction).
 */
export type StatementKind = 'read' | 'write' | 'schema' | 'vacuum';

/** One instruction of a prepared statement's program, as `EXPLAIN` lists it. */
interface Instruction {
  readonly opcode: string;
  readonly p1: number;
  readonly p2: number;
  readonly p3: number;
  readonly p4: string;
}

/**
 * Connection settings the store relies on, read in one row. Some pragmas take effect while a
 * statement is *prepared* (flag pragmas such as recursive_triggers, and locking_mode), before
 * anything could look at the statement, so the guard compares these before and after.
 * Each is [name in messages, table-valued pragma to read it, pragma to set it back].
 */
const SETTINGS: readonly (readonly [string, string, string])[] = [
  ...[
    'recursive_triggers',
    'foreign_keys',
    'defer_foreign_keys',
    'ignore_check_constraints',
    'writable_schema',
    'query_only',
    'temp_store',
  ].map((name) => [name, `pragma_${name}`, `PRAGMA ${name}`] as const),
  // locking_mode without a schema is the default for every database; with one, main's own.
  ['locking_mode', 'pragma_locking_mode', 'PRAGMA locking_mode'],
  ['locking_mode', "pragma_locking_mode('main')", 'PRAGMA main.locking_mode'],
  ['journal_mode', "pragma_journal_mode('main')", 'PRAGMA main.journal_mode'],
  ['user_version', 'pragma_user_version', 'PRAGMA user_version'],
  ['application_id', 'pragma_application_id', 'PRAGMA application_id'],
];
const READ_SETTINGS =
  `SELECT ${SETTINGS.map(([, table]) => `(SELECT * FROM ${table})`).join(', ')}, ` +
  // The store's own triggers are the temp schema's only objects (rebuilt after every schema
  // change); anything else there would shadow a store table or run before it.
  "(SELECT group_concat(type || ' ' || name, ',') FROM temp.sqlite_master WHERE substr(name, 1, 12) <> 'aos_capture_'), " +
  "(SELECT group_concat(name, ',') FROM pragma_database_list WHERE name <> 'temp')";

/** The values of SETTINGS, then the temp schema's foreign objects, then the attached databases. */
export type Settings = readonly unknown[];

/** Reads what `checkSettings` compares. */
export function readSettings(conn: Connection): Settings {
  return conn.rawRows(READ_SETTINGS)[0]!.map((v) => (typeof v === 'bigint' ? Number(v) : v));
}

/**
 * Throws INVALID_INPUT when a statement changed a setting the store relies on, after setting
 * it back. The temp schema and attached databases cannot change without the guard refusing
 * the statement first; they are compared anyway so a gap in that reasoning shows as an error
 * rather than as lost writes.
 */
export function checkSettings(conn: Connection, before: Settings): void {
  const after = readSettings(conn);
  const changed = new Set<string>();
  SETTINGS.forEach(([name, , set], i) => {
    if (after[i] === before[i]) return;
    changed.add(name);
    conn.exec(`${set} = ${typeof before[i] === 'number' ? before[i] : `'${String(before[i])}'`}`);
  });
  if (after[SETTINGS.length] !== before[SETTINGS.length]) changed.add('the temp schema');
  if (after[SETTINGS.length + 1] !== before[SETTINGS.length + 1]) changed.add('the attached databases');
  if (changed.size > 0) {
    throw new StoreError(
      'INVALID_INPUT',
      `query cannot change ${[...changed].join(', ')}: the store manages ${changed.size > 1 ? 'them' : 'it'}`,
    );
  }
}

// Cookies a statement may write (SetCookie P2): the schema version, file format and text
// encoding, which every CREATE/DROP/ALTER bumps. user_version (6) and application_id (8) are
// the store's; the others are set only by pragmas.
const DDL_COOKIES = new Set([1, 2, 5]);
const DDL_OPCODES = new Set(['ParseSchema', 'DropTable', 'DropIndex', 'DropTrigger', 'VCreate', 'VDestroy']);

// Pragmas whose setting the store relies on (see SETTINGS), refused by name when set.
const MANAGED_PRAGMAS = new Set([
  'foreign_keys',
  'recursive_triggers',
  'defer_foreign_keys',
  'ignore_check_constraints',
  'writable_schema',
  'query_only',
  'temp_store',
  'locking_mode',
  'journal_mode',
  'user_version',
  'schema_version',
  'application_id',
]);

const TEMP = 'create or change temporary tables, views or triggers: the temp schema holds the store’s change capture';

// A bounded memo of verdicts by SQL text: a statement's program has the same shape whatever
// the data, and callers repeat the same few statements.
const verdicts = new Map<string, StatementKind | StoreError>();
const MAX_VERDICTS = 512;

// What each whole query text turned out to be, so store.query can pick its path (VACUUM runs
// outside a transaction) without a probe for texts it has seen.
const kinds = new Map<string, StatementKind>();

/** The kind of a query text the guard has judged before, if any. */
export function knownKind(sql: string): StatementKind | undefined {
  return kinds.get(sql);
}

/** Remembers the kind of a whole query text (one statement) once the guard judged it. */
export function rememberKind(sql: string, kind: StatementKind): void {
  if (kinds.size >= MAX_VERDICTS) kinds.delete(kinds.keys().next().value!);
  kinds.set(sql, kind);
}

/**
 * Decides, from the program SQLite compiled for one statement, whether the store can run it,
 * and throws INVALID_INPUT naming the reason when not. SQLite's parser decides what the
 * statement is: case, comments, quoting, schema prefixes and leading semicolons change the
 * text, not the program. Refused: transaction control (BEGIN, COMMIT, END, ROLLBACK,
 * SAVEPOINT, RELEASE), ATTACH and DETACH, writing user_version, application_id or other
 * header cookies, journal_mode, and any write outside the main database (temp tables, views
 * and triggers, which could shadow a store table or drop the store's own triggers).
 *
 * `text` is the SQL of exactly one statement, as SQLite split it; `normalized` the same as
 * SQLite normalizes it (comments dropped, names unquoted, literals replaced by `?`).
 */
export function classifyStatement(conn: Connection, text: string, normalized: string): StatementKind {
  let verdict = verdicts.get(text);
  if (verdict === undefined) {
    const judged = judge(conn, text, normalized);
    if (judged === null) throw new StoreError('INVALID_INPUT', `query could not be inspected: ${text.trim().slice(0, 120)}`);
    verdict = judged;
    if (verdicts.size >= MAX_VERDICTS) verdicts.delete(verdicts.keys().next().value!);
    verdicts.set(text, verdict);
  }
  if (verdict instanceof StoreError) throw new StoreError(verdict.code, verdict.message);
  return verdict;
}

/** The verdict on one statement; null when its program could not be listed (never cached). */
function judge(conn: Connection, text: string, normalized: string): StatementKind | StoreError | null {
  // A managed pragma that is a no-op here (foreign_keys cannot change inside a transaction)
  // is refused all the same, by the name SQLite's tokenizer gives it: a silent no-op would
  // look like it worked.
  const pragma = /^PRAGMA (?:\w+\.)?(\w+) ?[=(]/i.exec(normalized);
  if (pragma && MANAGED_PRAGMAS.has(pragma[1]!.toLowerCase())) {
    return new StoreError('INVALID_INPUT', `query cannot set PRAGMA ${pragma[1]!.toLowerCase()}: the store manages it`);
  }
  // SQLite hands back each statement with what preceded it: white space, comments, the empty
  // statements of leading semicolons. EXPLAIN must come right before the statement itself.
  const body = text.replace(/^(?:\s+|;|--[^\n]*(?:\n|$)|\/\*[\s\S]*?(?:\*\/|$))*/, '');
  // An EXPLAIN statement only lists a program; it runs nothing (and cannot be explained).
  if (/^EXPLAIN\b/i.test(body)) return 'read';
  let program: Instruction[];
  try {
    program = conn.rowsOnce(`EXPLAIN ${body}`).map((row) => ({
      opcode: String(row.opcode),
      p1: Number(row.p1),
      p2: Number(row.p2),
      p3: Number(row.p3),
      p4: row.p4 === null ? '' : String(row.p4),
    }));
  } catch {
    return null;
  }
  const refuse = (why: string) => new StoreError('INVALID_INPUT', `query cannot ${why}`);
  const changesSchema = program.some((op) => DDL_OPCODES.has(op.opcode));
  const dropsMainTable = program.some((op) => op.opcode === 'DropTable' && op.p1 === 0);
  const parsesMain = program.some((op) => op.opcode === 'ParseSchema' && op.p1 === 0);
  // A write transaction on any database (P2 non-zero), or VACUUM INTO, which writes a file.
  let writes = false;
  for (const op of program) {
    switch (op.opcode) {
      case 'AutoCommit':
      case 'Savepoint':
        return refuse('begin, end or nest a transaction: use store.transaction() (and tx.transaction() to nest)');
      case 'JournalMode':
        // P3 -1 only asks for the mode: SQLite emits that in no-op programs such as
        // CREATE TABLE IF NOT EXISTS of a table that exists.
        if (op.p3 !== -1) return refuse('use PRAGMA journal_mode: the store manages it');
        break;
      case 'SetCookie':
        if (!DDL_COOKIES.has(op.p2) || !changesSchema) {
          return refuse(
            `set ${op.p2 === 6 ? 'user_version' : op.p2 === 8 ? 'application_id' : 'a database header field'}: the store manages it`,
          );
        }
        break;
      case 'Function':
      case 'PureFunc':
        if (/^sqlite_(attach|detach)\(/.test(op.p4)) return refuse('ATTACH or DETACH a database: the store journals only its own');
        break;
      case 'CreateBtree':
      case 'DropTable':
      case 'DropIndex':
        if (op.p1 !== 0) return refuse(TEMP);
        break;
      case 'DropTrigger':
        // Dropping a main table drops the store's temp triggers on it with it (rebuilt after).
        if (op.p1 !== 0 && !dropsMainTable) return refuse(TEMP);
        break;
      case 'ParseSchema':
        // Renaming a main table or column rewrites the temp triggers that name it.
        if (op.p1 !== 0 && !parsesMain) return refuse(TEMP);
        break;
      case 'Transaction':
        // P1 is the database (0 main, 1 temp, 2+ attached), P2 non-zero a write.
        if (op.p1 !== 0 && op.p2 !== 0 && !dropsMainTable && !parsesMain) return refuse(TEMP);
        if (op.p2 !== 0) writes = true;
        break;
      case 'Vacuum':
        // P2 names the target of VACUUM INTO; without one the store's own database is rebuilt.
        if (op.p2 === 0) return 'vacuum';
        writes = true;
        break;
    }
  }
  if (changesSchema) return 'schema';
  return writes ? 'write' : 'read';
}
