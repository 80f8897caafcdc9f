import type { Row } from './connection.js';
import { isStoreError, StoreError } from './errors.js';
import { type JsonValue, toJsonText } from './json-value.js';
import type { MissionStatus } from './missions.js';
import type { QueryParams } from './raw-query.js';
import type { SQLiteStore } from './store.js';
import { addSeconds, normalizeTimestamp } from './timestamp.js';
import { describe, isWellFormed, type MissionRef, requireMissionRef } from './validate.js';

/** One mission in the legacy JSON layout (`.agent-state/missions/<uuid>.json`, see docs/tasks/ARCH-001_migration_plan.md). */
export interface LegacyMissionDocument {
  mission_id: string;
  phase: string;
  status: string;
  created_at: string;
  completed_at: string | null;
  metadata: JsonValue;
  tool_calls: LegacyToolCall[];
  decisions: LegacyDecision[];
  playbook_runs: LegacyPlaybookRun[];
  memory: Record<string, LegacyMemoryEntry>;
}

/** A tool call in the legacy layout; `tool_call_id` is written only when the store has one. */
export interface LegacyToolCall {
  tool: string;
  args: JsonValue;
  result: JsonValue;
  ts: string;
  duration_ms: number | null;
  ok: boolean;
  error: string | null;
  agent: string | null;
  tool_call_id?: string;
}

/** A decision in the legacy layout. */
export interface LegacyDecision {
  type: string;
  rationale: string;
  ts: string;
  agent: string;
}

/** A playbook run in the legacy layout; `error` and `metrics` are written only when the store has them. */
export interface LegacyPlaybookRun {
  name: string;
  phase: string;
  started_at: string;
  completed_at: string | null;
  success: boolean | null;
  error?: string;
  metrics?: JsonValue;
}

/** A memory entry in the legacy layout: its value, when it was set, and its time to live in seconds. */
export interface LegacyMemoryEntry {
  value: JsonValue;
  ts: string;
  ttl: number | null;
}

/** One parsed legacy file for `importLegacyJson`: where it came from (named in errors) and its JSON. */
export interface LegacyJsonInput {
  /** The file's path or any name for it; messages start with it. */
  readonly source: string;
  /** The parsed JSON (JSON.parse of the file). */
  readonly document: unknown;
  /** The uuid the file name gives (`<uuid>.json`); used when `mission_id` is missing, refused when it differs. */
  readonly fileUuid?: string;
}

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

/**
 * How the importer maps legacy statuses outside the lifecycle (the table the migration plan asks
 * for); the five lifecycle statuses map to themselves, anything else is refused.
 */
export const LEGACY_STATUS_MAP: Readonly<Record<string, MissionStatus>> = {
  new: 'pending',
  queued: 'pending',
  created: 'pending',
  running: 'in_progress',
  active: 'in_progress',
  started: 'in_progress',
  done: 'completed',
  complete: 'completed',
  succeeded: 'completed',
  success: 'completed',
  error: 'failed',
  errored: 'failed',
  failure: 'failed',
  canceled: 'cancelled',
  aborted: 'cancelled',
};

const LIFECYCLE: readonly MissionStatus[] = ['pending', 'in_progress', 'completed', 'failed', 'cancelled'];

// The errors that say something about the store itself, not about one file: they stop an import.
const STORE_FAILURES = new Set(['IO', 'CLOSED', 'LOCKED', 'CORRUPT', 'READ_ONLY', 'DEADLOCK', 'SCHEMA_TOO_NEW']);

/** A mission as rows, columns named as in SQL; the importer's target and the exporter's source. */
interface MissionRows {
  readonly mission: Row;
  readonly tool_calls: Row[];
  readonly decisions: Row[];
  readonly playbook_runs: Row[];
  readonly agent_memory: Row[];
}

const CHILD_COLUMNS = {
  tool_calls: ['tool_name', 'args', 'result', 'timestamp', 'duration_ms', 'success', 'error_message', 'agent_name', 'tool_call_id'],
  decisions: ['decision_type', 'rationale', 'timestamp', 'agent_name'],
  playbook_runs: ['playbook_name', 'phase', 'started_at', 'completed_at', 'success', 'error_message', 'metrics'],
  agent_memory: ['key', 'value', 'timestamp', 'ttl', 'expires_at'],
} as const;
type ChildTable = keyof typeof CHILD_COLUMNS;
const CHILD_TABLES = Object.keys(CHILD_COLUMNS) as ChildTable[];
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

/** The legacy document of a mission's rows: timestamps in ISO 8601 with 'T', JSON columns parsed. */
function toLegacyDocument(rows: MissionRows): LegacyMissionDocument {
  const m = rows.mission;
  const json = (text: unknown): JsonValue => (typeof text === 'string' ? (JSON.parse(text) as JsonValue) : null);
  const time = (text: unknown): string => (text as string).replace(' ', 'T');
  const optionalTime = (text: unknown): string | null => (typeof text === 'string' ? time(text) : null);
  const flag = (value: unknown): boolean | null => (value === null || value === undefined ? null : Number(value) === 1);
  const memory: Record<string, LegacyMemoryEntry> = {};
  for (const entry of [...rows.agent_memory].sort((a, b) => ((a.key as string) < (b.key as string) ? -1 : 1))) {
    memory[entry.key as string] = { value: json(entry.value), ts: time(entry.timestamp), ttl: (entry.ttl as number | null) ?? null };
  }
  return {
    mission_id: m.mission_uuid as string,
    phase: m.phase as string,
    status: m.status as string,
    created_at: time(m.created_at),
    completed_at: optionalTime(m.completed_at),
    metadata: json(m.metadata),
    tool_calls: rows.tool_calls.map((c) => ({
      tool: c.tool_name as string,
      args: json(c.args),
      result: json(c.result),
      ts: time(c.timestamp),
      duration_ms: (c.duration_ms as number | null) ?? null,
      ok: flag(c.success) === true,
      error: (c.error_message as string | null) ?? null,
      agent: (c.agent_name as string | null) ?? null,
      ...(typeof c.tool_call_id === 'string' && { tool_call_id: c.tool_call_id }),
    })),
    decisions: rows.decisions.map((d) => ({
      type: d.decision_type as string,
      rationale: d.rationale as string,
      ts: time(d.timestamp),
      agent: d.agent_name as string,
    })),
    playbook_runs: rows.playbook_runs.map((r) => ({
      name: r.playbook_name as string,
      phase: r.phase as string,
      started_at: time(r.started_at),
      completed_at: optionalTime(r.completed_at),
      success: flag(r.success),
      ...(typeof r.error_message === 'string' && { error: r.error_message }),
      ...(typeof r.metrics === 'string' && { metrics: json(r.metrics) }),
    })),
    memory,
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

/** The document checked field by field, in file order, as the rows it becomes; INVALID_INPUT names the first bad field. */
function parseLegacyDocument(input: LegacyJsonInput): MissionRows {
  const { source, document, fileUuid } = input;
  const fields = new FieldReader(source);
  const doc = fields.object('the document', document);
  let uuid = doc.mission_id === undefined ? fileUuid : fields.text('mission_id', doc.mission_id);
  if (uuid === undefined) throw fields.bad('mission_id', 'is missing, and the file name gives no uuid');
  if (fileUuid !== undefined && uuid !== fileUuid) {
    throw fields.bad('mission_id', `is '${uuid}', but the file is named after '${fileUuid}'`);
  }
  uuid = fields.text('mission_id', uuid);
  const phase = fields.text('phase', doc.phase);
  const status = fields.status('status', doc.status);
  const created = fields.time('created_at', doc.created_at);
  const completed = fields.optionalTime('completed_at', doc.completed_at);
  const metadata = doc.metadata === undefined || doc.metadata === null ? null : fields.json('metadata', doc.metadata);
  const tool_calls = fields.list('tool_calls', doc.tool_calls).map((value, i) => {
    const at = `tool_calls[${i}]`;
    const c = fields.object(at, value);
    return {
      tool_name: fields.text(`${at}.tool`, c.tool),
      args: fields.json(`${at}.args`, c.args === undefined ? {} : c.args),
      result: c.result === undefined || c.result === null ? null : fields.json(`${at}.result`, c.result),
      timestamp: fields.time(`${at}.ts`, c.ts),
      duration_ms: fields.optionalCount(`${at}.duration_ms`, c.duration_ms),
      success: fields.flag(`${at}.ok`, c.ok) ? 1 : 0,
      error_message: fields.optionalText(`${at}.error`, c.error),
      agent_name: fields.optionalText(`${at}.agent`, c.agent),
      tool_call_id: c.tool_call_id === undefined || c.tool_call_id === null ? null : fields.text(`${at}.tool_call_id`, c.tool_call_id),
    };
  });
  const decisions = fields.list('decisions', doc.decisions).map((value, i) => {
    const at = `decisions[${i}]`;
    const d = fields.object(at, value);
    return {
      decision_type: fields.text(`${at}.type`, d.type),
      rationale: fields.text(`${at}.rationale`, d.rationale, true),
      timestamp: fields.time(`${at}.ts`, d.ts),
      agent_name: fields.text(`${at}.agent`, d.agent),
    };
  });
  const playbook_runs = fields.list('playbook_runs', doc.playbook_runs).map((value, i) => {
    const at = `playbook_runs[${i}]`;
    const r = fields.object(at, value);
    const success = r.success === undefined || r.success === null ? null : fields.flag(`${at}.success`, r.success);
    return {
      playbook_name: fields.text(`${at}.name`, r.name),
      phase: fields.text(`${at}.phase`, r.phase),
      started_at: fields.time(`${at}.started_at`, r.started_at),
      completed_at: fields.optionalTime(`${at}.completed_at`, r.completed_at),
      success: success === null ? null : success ? 1 : 0,
      error_message: fields.optionalText(`${at}.error`, r.error),
      metrics: r.metrics === undefined || r.metrics === null ? null : fields.json(`${at}.metrics`, r.metrics),
    };
  });
  const memoryObject = doc.memory === undefined || doc.memory === null ? {} : fields.object('memory', doc.memory);
  const agent_memory = Object.entries(memoryObject).map(([key, value]) => {
    const at = `memory.${key}`;
    fields.text(`${at} (the key)`, key);
    const e = fields.object(at, value);
    if (e.value === undefined) throw fields.bad(`${at}.value`, 'is missing');
    const timestamp = fields.time(`${at}.ts`, e.ts);
    const ttl = fields.optionalCount(`${at}.ttl`, e.ttl);
    return {
      key,
      value: fields.json(`${at}.value`, e.value),
      timestamp,
      ttl,
      expires_at: ttl === null ? null : addSeconds(timestamp, ttl),
    };
  });
  return {
    mission: { mission_uuid: uuid, phase, status, created_at: created, completed_at: completed, metadata },
    tool_calls,
    decisions,
    playbook_runs,
    agent_memory,
  };
}

/** Checks the fields of one document; every error starts with the source and names the field. */
class FieldReader {
  readonly #source: string;

  constructor(source: string) {
    this.#source = source;
  }

  bad(field: string, problem: string): StoreError {
    return new StoreError('INVALID_INPUT', `${this.#source}: ${field} ${problem}`);
  }

  object(field: string, value: unknown): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw this.bad(field, `must be an object, got ${describe(value)}`);
    return value as Record<string, unknown>;
  }

  list(field: string, value: unknown): unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw this.bad(field, `must be an array, got ${describe(value)}`);
    return value;
  }

  text(field: string, value: unknown, emptyAllowed = false): string {
    if (typeof value !== 'string') throw this.bad(field, `must be a string, got ${value === undefined ? 'nothing' : describe(value)}`);
    if (!emptyAllowed && value.length === 0) throw this.bad(field, 'must not be empty');
    if (!isWellFormed(value)) throw this.bad(field, 'holds a lone UTF-16 surrogate (a character cut in half)');
    // SQLite drops a leading byte order mark from bound text: it would not come back as written.
    if (value.charCodeAt(0) === 0xfeff) throw this.bad(field, 'starts with U+FEFF (a byte order mark)');
    return value;
  }

  optionalText(field: string, value: unknown): string | null {
    return value === undefined || value === null ? null : this.text(field, value, true);
  }

  status(field: string, value: unknown): MissionStatus {
    const text = this.text(field, value);
    const status = (LIFECYCLE as readonly string[]).includes(text) ? (text as MissionStatus) : LEGACY_STATUS_MAP[text.toLowerCase()];
    if (!status) throw this.bad(field, `'${text}' is not a known status (${LIFECYCLE.join(', ')}, or one of LEGACY_STATUS_MAP)`);
    return status;
  }

  time(field: string, value: unknown): string {
    if (typeof value !== 'string')
      throw this.bad(field, `must be an ISO 8601 timestamp, got ${value === undefined ? 'nothing' : describe(value)}`);
    try {
      return normalizeTimestamp(field, value);
    } catch {
      throw this.bad(field, `is not a valid ISO 8601 timestamp: '${value.slice(0, 40)}'`);
    }
  }

  optionalTime(field: string, value: unknown): string | null {
    return value === undefined || value === null ? null : this.time(field, value);
  }

  optionalCount(field: string, value: unknown): number | null {
    if (value === undefined || value === null) return null;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw this.bad(field, `must be an integer >= 0, got ${describe(value)}`);
    }
    return value;
  }

  flag(field: string, value: unknown): boolean {
    if (value === true || value === 1) return true;
    if (value === false || value === 0) return false;
    throw this.bad(field, `must be true or false, got ${value === undefined ? 'nothing' : describe(value)}`);
  }

  json(field: string, value: unknown): string {
    return toJsonText(`${this.#source}: ${field}`, value);
  }
}

/** The error with its source in front, when a layer below did not name it. */
function withSource(source: string, error: StoreError): StoreError {
  return error.message.startsWith(`${source}:`) ? error : new StoreError(error.code, `${source}: ${error.message}`, { cause: error });
}
