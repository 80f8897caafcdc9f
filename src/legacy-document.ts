import type { Row } from './connection.js';
import { StoreError } from './errors.js';
import { type JsonValue, toJsonText } from './json-value.js';
import type { MissionStatus } from './missions.js';
import { addSeconds, normalizeTimestamp } from './timestamp.js';
import { describe, isWellFormed } from './validate.js';

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

/** A mission as rows, columns named as in SQL; the importer's target and the exporter's source. */
export interface MissionRows {
  readonly mission: Row;
  readonly tool_calls: Row[];
  readonly decisions: Row[];
  readonly playbook_runs: Row[];
  readonly agent_memory: Row[];
}

/** The columns each child table of a mission takes from a legacy document, in insert order. */
export const CHILD_COLUMNS = {
  tool_calls: ['tool_name', 'args', 'result', 'timestamp', 'duration_ms', 'success', 'error_message', 'agent_name', 'tool_call_id'],
  decisions: ['decision_type', 'rationale', 'timestamp', 'agent_name'],
  playbook_runs: ['playbook_name', 'phase', 'started_at', 'completed_at', 'success', 'error_message', 'metrics'],
  agent_memory: ['key', 'value', 'timestamp', 'ttl', 'expires_at'],
} as const;
/** A table whose rows belong to one mission in the legacy layout. */
export type ChildTable = keyof typeof CHILD_COLUMNS;
/** The child tables, in the order they are written. */
export const CHILD_TABLES = Object.keys(CHILD_COLUMNS) as ChildTable[];
/** The legacy document of a mission's rows: timestamps in ISO 8601 with 'T', JSON columns parsed. */
export function toLegacyDocument(rows: MissionRows): LegacyMissionDocument {
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

/** The document checked field by field, in file order, as the rows it becomes; INVALID_INPUT names the first bad field. */
export function parseLegacyDocument(input: LegacyJsonInput): MissionRows {
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
