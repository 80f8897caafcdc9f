import { type Connection, type Row, textBytes } from './connection.js';
import { isStoreError, StoreError } from './errors.js';
import type { Executor } from './executor.js';
import { fromJsonText, type JsonValue, toJsonText, toNullableJsonText } from './json-value.js';
import { lastInsertRowid } from './raw-query.js';
import { formatTimestamp, normalizeTimestamp } from './timestamp.js';
import { TrackError } from './track-error.js';
import {
  describe,
  exactText,
  type MissionRef,
  missingMission,
  optionalNonNegative,
  optionalObject,
  optionalString,
  optionalText,
  type PageOptions,
  pageParams,
  requireBoolean,
  requireMissionRef,
  requireObject,
  requireText,
  resolveMission,
} from './validate.js';

/** One tool call as stored. */
export interface ToolCall {
  readonly id: number;
  readonly missionId: number;
  readonly toolName: string;
  readonly args: JsonValue;
  readonly result: JsonValue;
  readonly timestamp: string;
  readonly durationMs: number | null;
  readonly success: boolean;
  readonly errorMessage: string | null;
  readonly agentName: string | null;
  /** The id the agent framework gave the call (AI SDK `toolCallId`, LangChain `tool_call_id`, OpenTelemetry `gen_ai.tool.call.id`). */
  readonly toolCallId: string | null;
}

/** What `toolCalls.record` takes. */
export interface RecordToolCallInput {
  readonly mission: MissionRef;
  readonly toolName: string;
  readonly args: unknown;
  readonly result?: unknown;
  readonly durationMs?: number;
  readonly success: boolean;
  readonly errorMessage?: string;
  readonly agentName?: string;
  /** When the call started; the store's clock when omitted. */
  readonly timestamp?: Date | string;
  /** The id the agent framework gave the call, to find it by (indexed) and to match it with the model's choice of tools. */
  readonly toolCallId?: string;
}

/** Per-tool figures from `toolCalls.stats`. */
export interface ToolStats {
  readonly toolName: string;
  readonly calls: number;
  readonly failures: number;
  /** Median duration (nearest rank) over calls with a duration; null when none has one. */
  readonly p50Ms: number | null;
  /** 95th percentile duration (nearest rank); null when no call has a duration. */
  readonly p95Ms: number | null;
}

/** Filters for `toolCalls.stats` and `toolCalls.list`. */
export interface ToolCallFilter {
  readonly mission?: MissionRef;
  /** Only calls at or after this time. */
  readonly since?: Date | string;
}

/** Filters and paging of `toolCalls.list`. */
export interface ListToolCallsOptions extends ToolCallFilter, PageOptions {
  /** Only calls with this framework id. */
  readonly toolCallId?: string;
}

/** The last argument of `toolCalls.track`. */
export interface TrackOptions {
  /** The agent that made the call, stored as `agentName`. */
  readonly agentName?: string;
  /** When the call started; the store's clock when omitted. The duration is measured either way. */
  readonly timestamp?: Date | string;
  /** The id the agent framework gave the call, stored as `toolCallId`. */
  readonly toolCallId?: string;
}

/** The audit trail of every tool call. */
export class ToolCallRepository {
  readonly #exec: Executor;

  constructor(exec: Executor) {
    this.#exec = exec;
  }

  /** Records one tool call. */
  async record(input: RecordToolCallInput): Promise<ToolCall> {
    requireObject('toolCalls.record input', input);
    const mission = requireMissionRef(input.mission);
    const toolName = requireText('toolName', input.toolName);
    const args = toJsonText('args', input.args);
    const result = toNullableJsonText('result', input.result);
    const durationMs = optionalNonNegative('durationMs', input.durationMs);
    const success = requireBoolean('success', input.success);
    const errorMessage = optionalString('errorMessage', input.errorMessage);
    const agentName = optionalText('agentName', input.agentName);
    const toolCallId = optionalText('toolCallId', input.toolCallId);
    const given = input.timestamp === undefined ? null : normalizeTimestamp('timestamp', input.timestamp);
    return this.#exec.write((conn) => {
      // A numeric id needs no lookup: the foreign key refuses one that names no mission, and
      // that refusal becomes the same NOT_FOUND the lookup gives.
      const missionId = typeof mission === 'number' ? mission : resolveMission(conn, mission);
      const timestamp = given ?? clockText(this.#exec.now());
      const values = [missionId, toolName, args, result, timestamp, durationMs, success ? 1 : 0, errorMessage, agentName, toolCallId];
      try {
        conn.run(INSERT_TOOL_CALL, [
          missionId,
          toolName,
          textBytes(args),
          textBytes(result),
          timestamp,
          durationMs,
          values[6]!,
          errorMessage,
          agentName,
          toolCallId,
        ]);
      } catch (error) {
        throw typeof mission === 'number' ? missingMission(error, mission) : error;
      }
      const id = Number(lastInsertRowid(conn));
      // The row's image for the commit record, so change capture need not read it back.
      conn.insertedRow('tool_calls', id, TOOL_CALL_COLUMNS, values);
      // Built from what was stored rather than read back: the same values, without a second
      // trip of the JSON through the wasm boundary. args and result are parsed from the stored
      // text on first read (most callers never read them), so they equal what a later list()
      // gives, and never alias the caller's objects. The id comes from last_insert_rowid(), not
      // RETURNING, which costs SQLite an ephemeral table per insert (~10 µs here, against ~1).
      return storedToolCall(id, missionId, toolName, args, result, timestamp, durationMs, success, errorMessage, agentName, toolCallId);
      // One INSERT: the lookup before it only reads, and nothing after it throws.
    }, ONE_STATEMENT);
  }

  /**
   * Runs `fn`, timing it, and records the call: its result on success, its error message on
   * failure. Returns what `fn` returns or rethrows what it throws, once the record is durable.
   * An unknown mission gives NOT_FOUND before `fn` runs. When `fn` ran but its call could not
   * be recorded (the mission was deleted meanwhile, the store closed), it throws a `TrackError`
   * with the recording failure's code: if `fn` returned, `toolSucceeded` is true and `result`
   * holds what it returned; if `fn` threw, `toolError` and `cause` hold what it threw.
   * `options` (`agentName`, `timestamp`, `toolCallId`) are checked, like every argument, before `fn` runs.
   *
   * @example
   * const text = await store.toolCalls.track(mission, 'read_file', { path }, () => readFile(path, 'utf8'), { agentName: 'coder' });
   */
  async track<T>(mission: MissionRef, toolName: string, args: unknown, fn: () => T | Promise<T>, options?: TrackOptions): Promise<T> {
    requireMissionRef(mission);
    requireText('toolName', toolName);
    toJsonText('args', args);
    if (typeof fn !== 'function') throw new StoreError('INVALID_INPUT', `fn must be a function, got ${describe(fn)}`);
    const given = optionalObject('toolCalls.track options', options);
    const agentName = optionalText('agentName', given.agentName) ?? undefined;
    const toolCallId = optionalText('toolCallId', given.toolCallId) ?? undefined;
    const startedAt = given.timestamp === undefined ? undefined : normalizeTimestamp('timestamp', given.timestamp);
    // A cheap read first, so a call that cannot be recorded fails before the tool's side effect.
    this.#exec.assertWritable?.('toolCalls.track()');
    await this.#exec.read((conn) => resolveMission(conn, mission));
    const timestamp = startedAt ?? this.#exec.now();
    const started = performance.now();
    let value: T;
    try {
      value = await fn();
    } catch (error) {
      const message = exactText(error instanceof Error ? error.message : String(error));
      await this.#save({
        mission,
        toolName,
        args,
        timestamp,
        durationMs: performance.now() - started,
        success: false,
        errorMessage: message,
        agentName,
        toolCallId,
      }).catch((recording: unknown) => {
        throw new TrackError(toolName, { succeeded: false, error }, asStoreError(recording));
      });
      throw error;
    }
    const durationMs = performance.now() - started;
    let result: unknown = value;
    try {
      toJsonText('result', value);
    } catch {
      // A result that is not JSON (a stream, a Buffer) is still returned, just not stored.
      result = undefined;
    }
    try {
      await this.#save({ mission, toolName, args, result, timestamp, durationMs, success: true, agentName, toolCallId });
    } catch (recording) {
      throw new TrackError(toolName, { succeeded: true, result: value }, asStoreError(recording));
    }
    return value;
  }

  /** Records what `track` saw: through the leading tab when this store follows one (the tool ran here, once), else here. */
  #save(input: RecordToolCallInput): Promise<ToolCall> {
    return (this.#exec.forward?.('toolCalls', 'record', [input]) as Promise<ToolCall> | null | undefined) ?? this.record(input);
  }

  /** Tool calls, oldest first (by timestamp, then by id), optionally those with one `toolCallId`; pages with `limit` and `offset`. */
  async list(filter?: ListToolCallsOptions): Promise<ToolCall[]> {
    const options = optionalObject('toolCalls.list filter', filter);
    const bind = filterParams(options);
    const page = pageParams(options);
    const toolCallId = optionalText('toolCallId', options.toolCallId);
    // A plain equality, not '?5 IS NULL OR ...', so the planner can use the partial index on tool_call_id.
    const byId = toolCallId === null ? '' : 'AND tool_call_id = ?5 ';
    return this.#exec.read((conn) =>
      conn
        .all(
          `SELECT * FROM tool_calls WHERE (?1 IS NULL OR mission_id = ?1) AND (?2 IS NULL OR timestamp >= ?2) ${byId}` +
            'ORDER BY timestamp, id LIMIT ?3 OFFSET ?4',
          toolCallId === null ? [...bind(conn), ...page] : [...bind(conn), ...page, toolCallId],
        )
        .map(toToolCall),
    );
  }

  /** Per tool: calls, failures, and p50/p95 duration in ms, by tool name. */
  async stats(filter?: ToolCallFilter): Promise<ToolStats[]> {
    const bind = filterParams(optionalObject('toolCalls.stats filter', filter));
    return this.#exec.read((conn) => {
      // Nearest-rank percentiles: the value at rank ceil(p * n) among calls with a duration.
      return conn
        .all(
          `WITH calls AS (
             SELECT tool_name, duration_ms, success FROM tool_calls
             WHERE (?1 IS NULL OR mission_id = ?1) AND (?2 IS NULL OR timestamp >= ?2)
           ), ranked AS (
             SELECT tool_name, duration_ms,
                    ROW_NUMBER() OVER (PARTITION BY tool_name ORDER BY duration_ms) AS rank,
                    COUNT(*) OVER (PARTITION BY tool_name) AS n
             FROM calls WHERE duration_ms IS NOT NULL
           )
           SELECT c.tool_name, COUNT(*) AS calls, SUM(c.success = 0) AS failures,
             (SELECT duration_ms FROM ranked r WHERE r.tool_name = c.tool_name AND r.rank = (r.n * 50 + 99) / 100) AS p50,
             (SELECT duration_ms FROM ranked r WHERE r.tool_name = c.tool_name AND r.rank = (r.n * 95 + 99) / 100) AS p95
           FROM calls c GROUP BY c.tool_name ORDER BY c.tool_name`,
          bind(conn),
        )
        .map((row) => ({
          toolName: String(row.tool_name),
          calls: Number(row.calls),
          failures: Number(row.failures),
          p50Ms: row.p50 === null ? null : Number(row.p50),
          p95Ms: row.p95 === null ? null : Number(row.p95),
        }));
    });
  }
}

/** Validates a filter now; binds it (mission id, since) once the mission can be looked up. */
function filterParams(filter: ToolCallFilter): (conn: Connection) => [number | null, string | null] {
  const mission = filter.mission === undefined ? null : requireMissionRef(filter.mission);
  const since = filter.since === undefined ? null : normalizeTimestamp('since', filter.since);
  return (conn) => [mission === null ? null : resolveMission(conn, mission), since];
}

const ONE_STATEMENT = { oneStatement: true } as const;

// The clock's last reading and its text: calls recorded within one millisecond (a batch in one
// transaction, parallel tool calls) share it instead of formatting the same instant again.
let lastEpoch = Number.NaN;
let lastText = '';

/** formatTimestamp(now), remembered for the last instant it was asked for. */
function clockText(now: Date): string {
  const epoch = now.getTime();
  if (epoch !== lastEpoch) {
    lastText = formatTimestamp(now);
    lastEpoch = epoch;
  }
  return lastText;
}

const TOOL_CALL_COLUMNS = [
  'mission_id',
  'tool_name',
  'args',
  'result',
  'timestamp',
  'duration_ms',
  'success',
  'error_message',
  'agent_name',
  'tool_call_id',
] as const;

const INSERT_TOOL_CALL = `INSERT INTO tool_calls (${TOOL_CALL_COLUMNS.join(', ')}) VALUES (?, ?, CAST(? AS TEXT), CAST(? AS TEXT), ?, ?, ?, ?, ?, ?)`;

/** A recorded call as `record` returns it: args and result parse their stored JSON text when first read. */
function storedToolCall(
  id: number,
  missionId: number,
  toolName: string,
  argsText: string,
  resultText: string | null,
  timestamp: string,
  durationMs: number | null,
  success: boolean,
  errorMessage: string | null,
  agentName: string | null,
  toolCallId: string | null,
): ToolCall {
  let args: JsonValue | undefined;
  let result: JsonValue | undefined;
  return {
    id,
    missionId,
    toolName,
    // Enumerable accessors: spreading, JSON.stringify, structured clone and deep equality all
    // see plain values. The setters keep the object as writable as a parsed one.
    get args(): JsonValue {
      if (args === undefined) args = fromJsonText(argsText);
      return args;
    },
    set args(value: JsonValue) {
      args = value;
    },
    get result(): JsonValue {
      if (result === undefined) result = fromJsonText(resultText);
      return result;
    },
    set result(value: JsonValue) {
      result = value;
    },
    timestamp,
    durationMs,
    success,
    errorMessage,
    agentName,
    toolCallId,
  };
}

function asStoreError(error: unknown): StoreError {
  return isStoreError(error) ? error : new StoreError('IO', `recording the call failed: ${String(error)}`, { cause: error });
}

function toToolCall(row: Row): ToolCall {
  return {
    id: Number(row.id),
    missionId: Number(row.mission_id),
    toolName: String(row.tool_name),
    args: fromJsonText(row.args),
    result: fromJsonText(row.result),
    timestamp: String(row.timestamp),
    durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
    success: row.success === 1,
    errorMessage: row.error_message === null ? null : String(row.error_message),
    agentName: row.agent_name === null ? null : String(row.agent_name),
    toolCallId: row.tool_call_id === null ? null : String(row.tool_call_id),
  };
}
