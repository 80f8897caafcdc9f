import type { Row } from './connection.js';
import { isStoreError, StoreError } from './errors.js';
import {
  CHILD_COLUMNS,
  CHILD_TABLES,
  type ChildTable,
  type LegacyJsonInput,
  type LegacyMissionDocument,
  type MissionRows,
  parseLegacyDocument,
  toLegacyDocument,
} from './legacy-document.js';
import type { QueryParams } from './raw-query.js';
import type { SQLiteStore } from './store.js';
import { type MissionRef, requireMissionRef } from './validate.js';

/** What `importLegacyMission` did with one document. */
export type LegacyImportOutcome = 'imported' | 'skipped';

/** What `importLegacyJson` did: missions imported, skipped as already present (identical), and files refused. */
export interface LegacyImportReport {
  readonly imported: number;
  readonly skipped: number;
  readonly refused: readonly { readonly source: string; readonly error: StoreError }[];
}

/** Options of `importLegacyJson`. */
export interface ImportLegacyJsonOptions {
  /** Called after each document, with how many were handled so far and what happened to this one. */
  readonly onProgress?: (progress: {
    readonly done: number;
    readonly source: string;
    readonly outcome: LegacyImportOutcome | 'refused';
  }) => void;
}

/** Options of `exportLegacyJson`. */
export interface ExportLegacyJsonOptions {
  /** Only these missions (ids or uuids); all of them, by id, when omitted. NOT_FOUND names one that is missing. */
  readonly missions?: readonly MissionRef[];
}

// The errors that say something about the store itself, not about one file: they stop an import.
const STORE_FAILURES = new Set(['IO', 'CLOSED', 'LOCKED', 'CORRUPT', 'READ_ONLY', 'DEADLOCK', 'SCHEMA_TOO_NEW']);

// Memory is an object keyed by name: its order is the key's; the lists keep the order they were recorded in.
const CHILD_ORDER: Record<ChildTable, string> = { tool_calls: 'id', decisions: 'id', playbook_runs: 'id', agent_memory: 'key' };

/**
 * Imports legacy JSON documents, one mission per transaction: a document that does not match is
 * refused alone (its error names the source and the first bad field) and the rest go on. A mission
 * already in the store with the same content is skipped, so a second run imports nothing new; one
 * whose uuid is taken by a different mission is refused with CONFLICT. Errors of the store itself
 * (IO, LOCKED, CLOSED, …) stop the import and reject.
 *
 * @example
 * const report = await importLegacyJson(store, [{ source: 'abc-123.json', document: JSON.parse(text) }]);
 * for (const { source, error } of report.refused) console.error(error.message);
 */
export async function importLegacyJson(
  store: SQLiteStore,
  documents: Iterable<LegacyJsonInput> | AsyncIterable<LegacyJsonInput>,
  options: ImportLegacyJsonOptions = {},
): Promise<LegacyImportReport> {
  let imported = 0;
  let skipped = 0;
  let done = 0;
  const refused: { source: string; error: StoreError }[] = [];
  for await (const input of documents) {
    let outcome: LegacyImportOutcome | 'refused';
    try {
      outcome = await importLegacyMission(store, input);
      if (outcome === 'imported') imported++;
      else skipped++;
    } catch (error) {
      if (!isStoreError(error) || STORE_FAILURES.has(error.code)) throw error;
      refused.push({ source: input.source, error: withSource(input.source, error) });
      outcome = 'refused';
    }
    done++;
    options.onProgress?.({ done, source: input.source, outcome });
  }
  return { imported, skipped, refused };
}

/**
 * Imports one legacy document in one transaction: 'imported', or 'skipped' when the store already
 * holds the same mission. INVALID_INPUT names the source and the first bad field; CONFLICT when the
 * uuid is taken by a mission with other content.
 */
export async function importLegacyMission(store: SQLiteStore, input: LegacyJsonInput): Promise<LegacyImportOutcome> {
  const rows = parseLegacyDocument(input);
  const uuid = rows.mission.mission_uuid as string;
  return store.transaction(async (tx) => {
    // A short statement first: most missions are new, and the whole read costs far more to prepare.
    const [taken] = await tx.query('SELECT 1 FROM missions WHERE mission_uuid = ?', [uuid]);
    const existing = taken ? await readMissionRows((sql, params) => tx.query(sql, params), uuid) : null;
    if (existing) {
      const difference = firstDifference(toLegacyDocument(existing), toLegacyDocument(rows));
      if (difference === null) return 'skipped';
      throw new StoreError(
        'CONFLICT',
        `${input.source}: mission '${uuid}' already exists with other content (first difference: ${difference})`,
      );
    }
    const m = rows.mission;
    const { lastInsertRowid } = await tx.run(
      'INSERT INTO missions (mission_uuid, phase, status, created_at, completed_at, metadata) VALUES (?, ?, ?, ?, ?, ?)',
      [m.mission_uuid!, m.phase!, m.status!, m.created_at!, m.completed_at!, m.metadata!] as QueryParams,
    );
    for (const table of CHILD_TABLES) {
      if (rows[table].length === 0) continue;
      // One statement per table, however many rows: each statement costs the guard and the
      // journal a fixed price. The rows go in as one JSON array, in order, so ids follow the file.
      const columns = CHILD_COLUMNS[table];
      const values = rows[table].map((row) => columns.map((column) => row[column] ?? null));
      const picks = columns.map((_, i) => `json_extract(value, '$[${i}]')`).join(', ');
      await tx.run(`INSERT INTO ${table} (mission_id, ${columns.join(', ')}) SELECT ?, ${picks} FROM json_each(?) ORDER BY key`, [
        lastInsertRowid,
        JSON.stringify(values),
      ] as QueryParams);
    }
    return 'imported';
  });
}

/**
 * The store's missions in the legacy JSON layout, one document per mission, oldest id first. Each
 * mission is read by one statement, so it is consistent even while a writer adds to it; works on a
 * read-only store. Export then import gives the same rows (ids aside: `missions.id` is the store's own).
 *
 * @example
 * for await (const { uuid, document } of exportLegacyJson(store)) {
 *   await writeFile(`missions/${uuid}.json`, JSON.stringify(document, null, 2));
 * }
 */
export async function* exportLegacyJson(
  store: SQLiteStore,
  options: ExportLegacyJsonOptions = {},
): AsyncGenerator<{ readonly uuid: string; readonly document: LegacyMissionDocument }> {
  const query = (sql: string, params?: QueryParams) => store.query(sql, params);
  const refs = options.missions?.map((ref) => requireMissionRef(ref));
  if (refs) {
    for (const ref of refs) {
      const rows = await readMissionRows(query, ref);
      if (!rows) throw new StoreError('NOT_FOUND', `mission ${typeof ref === 'number' ? ref : `'${ref}'`} not found`);
      yield { uuid: rows.mission.mission_uuid as string, document: toLegacyDocument(rows) };
    }
    return;
  }
  let after = 0;
  for (;;) {
    // Pages of ids, so a large store is never held whole; a mission deleted meanwhile is passed over.
    const page = await store.query<{ id: number }>('SELECT id FROM missions WHERE id > ? ORDER BY id LIMIT 256', [after]);
    if (page.length === 0) return;
    for (const { id } of page) {
      const rows = await readMissionRows(query, id);
      if (rows) yield { uuid: rows.mission.mission_uuid as string, document: toLegacyDocument(rows) };
    }
    after = page[page.length - 1]!.id;
  }
}

type Query = (sql: string, params?: QueryParams) => Promise<Row[]>;

/** One mission and all its rows, read in one statement (one consistent state), or null when absent. */
async function readMissionRows(query: Query, ref: MissionRef): Promise<MissionRows | null> {
  const children = CHILD_TABLES.map((table) => {
    const pairs = CHILD_COLUMNS[table].map((c) => `'${c}', ${c}`).join(', ');
    return `(SELECT json_group_array(json_object(${pairs})) FROM (SELECT * FROM ${table} WHERE mission_id = m.id ORDER BY ${CHILD_ORDER[table]})) AS ${table}`;
  });
  const [row] = await query(
    `SELECT m.mission_uuid, m.phase, m.status, m.created_at, m.completed_at, m.metadata, ${children.join(', ')} ` +
      `FROM missions m WHERE ${typeof ref === 'number' ? 'm.id' : 'm.mission_uuid'} = ?`,
    [ref],
  );
  if (!row) return null;
  const { tool_calls, decisions, playbook_runs, agent_memory, ...mission } = row;
  const list = (text: unknown) => JSON.parse(text as string) as Row[];
  return {
    mission,
    tool_calls: list(tool_calls),
    decisions: list(decisions),
    playbook_runs: list(playbook_runs),
    agent_memory: list(agent_memory),
  };
}

/** The first path at which two documents differ, or null when they are the same. */
function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (a === b) return null;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    return path || 'the document';
  }
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  for (const key of keys) {
    const where = Array.isArray(a) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
    const found = firstDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], where);
    if (found !== null) return found;
  }
  return null;
}

/** The error with its source in front, when a layer below did not name it. */
function withSource(source: string, error: StoreError): StoreError {
  return error.message.startsWith(`${source}:`) ? error : new StoreError(error.code, `${source}: ${error.message}`, { cause: error });
}
