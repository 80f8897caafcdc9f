import type { Row } from './connection.js';
import { StoreError } from './errors.js';
import type { Executor } from './executor.js';
import { fromJsonText, type JsonValue, toNullableJsonText } from './json-value.js';
import { formatTimestamp } from './timestamp.js';
import {
  describe,
  type MissionRef,
  optionalObject,
  optionalString,
  type PageOptions,
  pageParams,
  requireBoolean,
  requireMissionRef,
  requireObject,
  requireText,
  resolveMission,
} from './validate.js';

/** One playbook run as stored; `completedAt` and `success` are null while it runs. */
export interface PlaybookRun {
  readonly id: number;
  readonly missionId: number;
  readonly playbookName: string;
  readonly phase: string;
  readonly startedAt: string;
  readonly completedAt: string | null;
  readonly success: boolean | null;
  readonly errorMessage: string | null;
  readonly metrics: JsonValue;
}

/** What `playbookRuns.start` takes. */
export interface StartPlaybookRunInput {
  readonly mission: MissionRef;
  readonly playbookName: string;
  readonly phase: string;
}

/** What `playbookRuns.finish` takes. */
export interface FinishPlaybookRunInput {
  readonly success: boolean;
  readonly errorMessage?: string;
  /** Any JSON value: step counts, tokens, costs. */
  readonly metrics?: unknown;
}

/** Playbook execution metrics: when each run started and ended, and how it went. */
export class PlaybookRunRepository {
  readonly #exec: Executor;

  constructor(exec: Executor) {
    this.#exec = exec;
  }

  /** Records that a playbook started. */
  async start(input: StartPlaybookRunInput): Promise<PlaybookRun> {
    requireObject('playbookRuns.start input', input);
    const mission = requireMissionRef(input.mission);
    const playbookName = requireText('playbookName', input.playbookName);
    const phase = requireText('phase', input.phase);
    return this.#exec.write((conn) => {
      const missionId = resolveMission(conn, mission);
      const row = conn.get('INSERT INTO playbook_runs (mission_id, playbook_name, phase, started_at) VALUES (?, ?, ?, ?) RETURNING *', [
        missionId,
        playbookName,
        phase,
        formatTimestamp(this.#exec.now()),
      ]);
      return toRun(row!);
    });
  }

  /** Records how a run ended; INVALID_TRANSITION if it has already finished. */
  async finish(runId: number, input: FinishPlaybookRunInput): Promise<PlaybookRun> {
    if (typeof runId !== 'number' || !Number.isSafeInteger(runId) || runId <= 0) {
      throw new StoreError('INVALID_INPUT', `runId must be a positive integer, got ${describe(runId)}`);
    }
    requireObject('playbookRuns.finish input', input);
    const success = requireBoolean('success', input.success);
    const errorMessage = optionalString('errorMessage', input.errorMessage);
    const metrics = toNullableJsonText('metrics', input.metrics);
    return this.#exec.write((conn) => {
      const row = conn.get('SELECT completed_at FROM playbook_runs WHERE id = ?', [runId]);
      if (!row) throw new StoreError('NOT_FOUND', `playbook run ${runId} not found`);
      if (row.completed_at !== null) {
        throw new StoreError('INVALID_TRANSITION', `playbook run ${runId} already finished at ${String(row.completed_at)}`);
      }
      conn.run('UPDATE playbook_runs SET completed_at = ?, success = ?, error_message = ?, metrics = ? WHERE id = ?', [
        formatTimestamp(this.#exec.now()),
        success ? 1 : 0,
        errorMessage,
        metrics,
        runId,
      ]);
      return toRun(conn.get('SELECT * FROM playbook_runs WHERE id = ?', [runId])!);
    });
  }

  /** A mission's runs, oldest first (by start, then by id); pages with `limit` and `offset`. */
  async list(ref: MissionRef, options?: PageOptions): Promise<PlaybookRun[]> {
    const mission = requireMissionRef(ref);
    const [limit, offset] = pageParams(optionalObject('playbookRuns.list options', options));
    return this.#exec.read((conn) =>
      conn
        .all('SELECT * FROM playbook_runs WHERE mission_id = ? ORDER BY started_at, id LIMIT ? OFFSET ?', [
          resolveMission(conn, mission),
          limit,
          offset,
        ])
        .map(toRun),
    );
  }
}

function toRun(row: Row): PlaybookRun {
  return {
    id: Number(row.id),
    missionId: Number(row.mission_id),
    playbookName: String(row.playbook_name),
    phase: String(row.phase),
    startedAt: String(row.started_at),
    completedAt: row.completed_at === null ? null : String(row.completed_at),
    success: row.success === null ? null : row.success === 1,
    errorMessage: row.error_message === null ? null : String(row.error_message),
    metrics: fromJsonText(row.metrics),
  };
}
