import fc from 'fast-check';

/**
 * Statements that would break the store if run through `store.query`, each written in many
 * ways SQLite reads the same: keyword case, comments and white space between tokens, quoted
 * or bare names, schema prefixes, leading semicolons. Shared by the raw-SQL suite and the
 * replay property test.
 */

const space = fc.constantFrom(' ', '  ', '\t', '\n', ' /* c */ ', '/**/', ' -- c\n', '\n\t ');
const lead = fc.array(fc.constantFrom(' ', ';', '\n', '; ', '-- x\n', '/* y */', ';;'), { maxLength: 4 }).map((parts) => parts.join(''));
const trail = fc.constantFrom('', ';', ' ;', ' -- end', ';\n', '/* end */');

/** A keyword in random letter case. */
const keyword = (word: string) =>
  fc
    .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
    .map((upper) => [...word].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join(''));

/** A name as SQLite accepts it: bare, "quoted", [bracketed], `backticked`, in any case. */
const name = (word: string, strings = false) =>
  fc
    .tuple(keyword(word), fc.constantFrom('bare', 'double', 'bracket', 'backtick', ...(strings ? ['single'] : [])))
    .map(([w, quote]) =>
      quote === 'double'
        ? `"${w}"`
        : quote === 'bracket'
          ? `[${w}]`
          : quote === 'backtick'
            ? `\`${w}\``
            : quote === 'single'
              ? `'${w}'`
              : w,
    );

/** An optional schema prefix with the separator spaced or not. */
const schema = (which: string) =>
  fc.option(
    fc.tuple(name(which), fc.constantFrom('.', ' . ')).map(([s, dot]) => `${s}${dot}`),
    { nil: '' },
  );

/** Joins generated tokens with generated white space and comments. */
const statement = (...tokens: fc.Arbitrary<string>[]) =>
  fc
    .tuple(lead, fc.tuple(...tokens), fc.array(space, { minLength: tokens.length, maxLength: tokens.length }), trail)
    .map(([before, parts, gaps, after]) => `${before}${parts.map((p, i) => (i === 0 ? p : `${gaps[i]}${p}`)).join('')}${after}`);

const word = (text: string) => fc.constant(text);
const ident = fc.constantFrom('x', 'sp', '"a b"');
const storeTables = fc.constantFrom('missions', 'tool_calls', 'decisions', 'playbook_runs', 'agent_memory');

const pragmaValue: Record<string, fc.Arbitrary<string>> = {
  user_version: fc.constantFrom('0', '99', '-1', "'7'"),
  schema_version: fc.constantFrom('1', '12345'),
  application_id: fc.constantFrom('1', '42'),
  recursive_triggers: fc.constantFrom('OFF', '0', 'false', 'no'),
  locking_mode: fc.constantFrom('NORMAL', 'normal'),
  journal_mode: fc.constantFrom('DELETE', 'OFF', 'WAL', 'TRUNCATE'),
  writable_schema: fc.constantFrom('ON', '1'),
  query_only: fc.constantFrom('ON', '1'),
  defer_foreign_keys: fc.constantFrom('ON', '1'),
  ignore_check_constraints: fc.constantFrom('ON', '1'),
};

const pragma = fc.constantFrom(...Object.keys(pragmaValue)).chain((p) =>
  fc.oneof(
    statement(
      keyword('PRAGMA'),
      fc.tuple(schema('main'), name(p, true)).map(([s, n]) => `${s}${n}`),
      word('='),
      pragmaValue[p]!,
    ),
    statement(
      keyword('PRAGMA'),
      fc.tuple(schema('main'), name(p, true)).map(([s, n]) => `${s}${n}`),
      pragmaValue[p]!.map((v) => `(${v})`),
    ),
  ),
);

const transactionControl = fc.oneof(
  statement(keyword('COMMIT')),
  statement(keyword('END')),
  statement(keyword('END'), keyword('TRANSACTION')),
  statement(keyword('COMMIT'), keyword('TRANSACTION')),
  statement(keyword('ROLLBACK')),
  statement(keyword('BEGIN')),
  statement(keyword('BEGIN'), fc.constantFrom('IMMEDIATE', 'exclusive', 'Deferred')),
  statement(keyword('SAVEPOINT'), ident),
  statement(keyword('RELEASE'), ident),
  statement(keyword('RELEASE'), keyword('SAVEPOINT'), ident),
  statement(keyword('ROLLBACK'), keyword('TO'), ident),
);

const attach = fc.oneof(
  statement(keyword('ATTACH'), word("':memory:'"), keyword('AS'), ident),
  statement(keyword('ATTACH'), keyword('DATABASE'), word("':memory:'"), keyword('AS'), ident),
  statement(keyword('DETACH'), fc.constantFrom('x', 'temp', 'main')),
);

const tempObjects = fc.oneof(
  statement(
    keyword('DROP'),
    keyword('TRIGGER'),
    fc.tuple(schema('temp'), storeTables, fc.constantFrom('ins', 'upd', 'del')).map(([s, t, op]) => `${s}aos_capture_${t}_${op}`),
  ),
  statement(keyword('CREATE'), fc.constantFrom('TEMP', 'temporary'), keyword('TABLE'), storeTables, word('AS SELECT * FROM main.missions')),
  statement(keyword('CREATE'), fc.constantFrom('TEMP', 'temporary'), keyword('VIEW'), storeTables, word('AS SELECT 1 AS id')),
  statement(keyword('CREATE'), keyword('TEMP'), keyword('TABLE'), word('scratch (x)')),
  statement(
    keyword('CREATE'),
    keyword('TEMP'),
    keyword('TRIGGER'),
    word('t1 AFTER INSERT ON main.tool_calls BEGIN DELETE FROM main.tool_calls; END'),
  ),
);

/** A statement the store must refuse (or, for the few that are no-ops inside a transaction, survive unchanged). */
export const hostileStatement: fc.Arbitrary<string> = fc.oneof(transactionControl, attach, pragma, tempObjects);

/** Ordinary statements that must keep working, on a store that has a mission with id 1. */
export const ordinaryStatements: readonly string[] = [
  'SELECT * FROM missions',
  'select count(*) as n from tool_calls',
  'WITH recent AS (SELECT * FROM tool_calls ORDER BY id DESC LIMIT 5) SELECT tool_name FROM recent',
  "INSERT INTO tool_calls (mission_id, tool_name, args, timestamp, success) VALUES (1, 'raw', '{}', '2026-11-28 12:00:00.000Z', 1)",
  "UPDATE tool_calls SET duration_ms = 5 WHERE tool_name = 'raw'",
  "DELETE FROM tool_calls WHERE tool_name = 'raw'",
  'CREATE TABLE app_notes (id INTEGER PRIMARY KEY, body TEXT)',
  'CREATE TABLE IF NOT EXISTS app_notes (id INTEGER PRIMARY KEY, body TEXT)',
  'CREATE TABLE IF NOT EXISTS missions (id INTEGER PRIMARY KEY)',
  'DROP TABLE IF EXISTS app_absent',
  "INSERT INTO app_notes (body) VALUES ('kept')",
  'ALTER TABLE app_notes ADD COLUMN tag TEXT',
  'CREATE INDEX app_notes_tag ON app_notes (tag)',
  'PRAGMA table_info(missions)',
  'PRAGMA user_version',
  'PRAGMA foreign_keys',
  'PRAGMA foreign_key_check',
  "SELECT * FROM pragma_index_list('missions')",
  'EXPLAIN SELECT 1',
  'DROP INDEX app_notes_tag',
  'DROP TABLE app_notes',
];
