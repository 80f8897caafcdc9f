import type { Row } from './connection.js';
import { StoreError } from './errors.js';
import type { Executor } from './executor.js';
import { fromJsonText, type JsonValue, toNullableJsonText } from './json-value.js';
import { formatTimestamp } from './timestamp.js';
import {
  describe,
  type MissionRef,
  optionalObject,
  type PageOptions,
  pageParams,
  requireMissionRef,
  requireObject,
  requireText,
  resolveMission,
} from './validate.js';

/** Where a mission is in its lifecycle. */
export type MissionStatus = 'pending' | 'in_progress' | 'completed' | 'failed' | 'cancelled';

/** A mission as stored. */
export interface Mission {
  readonly id: number;
  readonly uuid: string;
  readonly phase: string;
  readonly status: MissionStatus;
  readonly createdAt: string;
  /** Set when the status became terminal (completed, failed or cancelled). */
  readonly completedAt: string | null;
  readonly metadata: JsonValue;
}

/** What `missions.create` takes. */
export interface CreateMissionInput {
  readonly phase: string;
  /** External identifier; a random UUID when omitted. */
  readonly uuid?: string;
  readonly metadata?: unknown;
}

/** Filters and paging of `missions.list`. */
export interface ListMissionsOptions extends PageOptions {
  readonly status?: MissionStatus;
  readonly phase?: string;
}

const STATUSES: readonly MissionStatus[] = ['pending', 'in_progress', 'completed', 'failed', 'cancelled'];
const TERMINAL: ReadonlySet<MissionStatus> = new Set(['completed', 'failed', 'cancelled']);

/** The lifecycle: which status may follow which. */
export const MISSION_TRANSITIONS: Readonly<Record<MissionStatus, readonly MissionStatus[]>> = {
  pending: ['in_progress', 'cancelled'],
  in_progress: ['completed', 'failed', 'cancelled'],
  completed: [],
  failed: [],
  cancelled: [],
};

/** Missions and their lifecycle. Deleting a mission deletes every row that belongs to it. */
export class MissionRepository {
  readonly #exec: Executor;

  constructor(exec: Executor) {
    this.#exec = exec;
  }

  /** Creates a mission in status 'pending'. CONFLICT if the uuid is taken. */
  async create(input: CreateMissionInput): Promise<Mission> {
    requireObject('missions.create input', input);
    const phase = requireText('phase', input.phase);
    const uuid = input.uuid === undefined ? randomUuid() : requireText('uuid', input.uuid);
    const metadata = toNullableJsonText('metadata', input.metadata);
    return this.#exec.write((conn) => {
      if (conn.get('SELECT 1 FROM missions WHERE mission_uuid = ?', [uuid])) {
        throw new StoreError('CONFLICT', `mission '${uuid}' already exists`);
      }
      const createdAt = formatTimestamp(this.#exec.now());
      const row = conn.get(
        "INSERT INTO missions (mission_uuid, phase, status, created_at, metadata) VALUES (?, ?, 'pending', ?, ?) RETURNING *",
        [uuid, phase, createdAt, metadata],
      );
      return toMission(row!);
    });
  }

  /** The mission, or undefined when there is none. */
  async get(ref: MissionRef): Promise<Mission | undefined> {
    const mission = requireMissionRef(ref);
    return this.#exec.read((conn) => {
      const row =
        typeof mission === 'number'
          ? conn.get('SELECT * FROM missions WHERE id = ?', [mission])
          : conn.get('SELECT * FROM missions WHERE mission_uuid = ?', [mission]);
      return row ? toMission(row) : undefined;
    });
  }

  /** Missions, oldest first (by id), optionally filtered by status or phase; pages with `limit` and `offset`. */
  async list(filter?: ListMissionsOptions): Promise<Mission[]> {
    const options = optionalObject('missions.list options', filter);
    if (options.status !== undefined) requireStatus(options.status);
    if (options.phase !== undefined) requireText('phase', options.phase);
    const [limit, offset] = pageParams(options);
    return this.#exec.read((conn) =>
      conn
        .all('SELECT * FROM missions WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR phase = ?2) ORDER BY id LIMIT ?3 OFFSET ?4', [
          options.status ?? null,
          options.phase ?? null,
          limit,
          offset,
        ])
        .map(toMission),
    );
  }

  /** Moves a mission along its lifecycle; INVALID_TRANSITION for a move it forbids. */
  async setStatus(ref: MissionRef, status: MissionStatus): Promise<Mission> {
    const mission = requireMissionRef(ref);
    const next = requireStatus(status);
    return this.#exec.write((conn) => {
      const id = resolveMission(conn, mission);
      const current = String(conn.get('SELECT status FROM missions WHERE id = ?', [id])!.status) as MissionStatus;
      if (!MISSION_TRANSITIONS[current].includes(next)) {
        throw new StoreError(
          'INVALID_TRANSITION',
          `mission ${describe(mission)} cannot go from '${current}' to '${next}'` +
            (MISSION_TRANSITIONS[current].length ? ` (allowed: ${MISSION_TRANSITIONS[current].join(', ')})` : ' (it has ended)'),
        );
      }
      const completedAt = TERMINAL.has(next) ? formatTimestamp(this.#exec.now()) : null;
      conn.run('UPDATE missions SET status = ?, completed_at = ? WHERE id = ?', [next, completedAt, id]);
      return toMission(conn.get('SELECT * FROM missions WHERE id = ?', [id])!);
    });
  }

  /** Records the phase a mission has moved to (PLANNING, CODING, ...). */
  async setPhase(ref: MissionRef, phase: string): Promise<Mission> {
    const mission = requireMissionRef(ref);
    const value = requireText('phase', phase);
    return this.#exec.write((conn) => {
      const id = resolveMission(conn, mission);
      conn.run('UPDATE missions SET phase = ? WHERE id = ?', [value, id]);
      return toMission(conn.get('SELECT * FROM missions WHERE id = ?', [id])!);
    });
  }

  /** Deletes a mission and, by cascade, its tool calls, decisions, playbook runs and memory. */
  async delete(ref: MissionRef): Promise<void> {
    const mission = requireMissionRef(ref);
    return this.#exec.write((conn) => {
      conn.run('DELETE FROM missions WHERE id = ?', [resolveMission(conn, mission)]);
    });
  }
}

function requireStatus(value: unknown): MissionStatus {
  if (!STATUSES.includes(value as MissionStatus)) {
    throw new StoreError('INVALID_INPUT', `status must be one of ${STATUSES.join(', ')}, got ${describe(value)}`);
  }
  return value as MissionStatus;
}

function toMission(row: Row): Mission {
  return {
    id: Number(row.id),
    uuid: String(row.mission_uuid),
    phase: String(row.phase),
    status: String(row.status) as MissionStatus,
    createdAt: String(row.created_at),
    completedAt: row.completed_at === null ? null : String(row.completed_at),
    metadata: fromJsonText(row.metadata),
  };
}

/** A random version-4 UUID; getRandomValues works in insecure browser contexts too. */
function randomUuid(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
