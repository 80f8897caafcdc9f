import { textBytes } from './connection.js';
import type { Executor } from './executor.js';
import { fromJsonText, type JsonValue, toJsonText } from './json-value.js';
import { addSeconds, formatTimestamp } from './timestamp.js';
import {
  type MissionRef,
  optionalNonNegative,
  optionalObject,
  type PageOptions,
  pageParams,
  requireMissionRef,
  requireText,
  resolveMission,
} from './validate.js';

/** Options of `memory.set`. */
export interface SetMemoryOptions {
  /**
   * Seconds the value lives; forever when omitted. An expiry past the latest time the store
   * can write (`MAX_TIMESTAMP`, 9999-12-31 23:59:59.999Z) is stored as that time: never, in effect.
   */
  readonly ttlSeconds?: number;
}

/** Agent working memory: one live JSON value per (mission, key), optionally expiring. */
export class AgentMemoryRepository {
  readonly #exec: Executor;

  constructor(exec: Executor) {
    this.#exec = exec;
  }

  /** Sets `key` for the mission, replacing any value it had. */
  async set(ref: MissionRef, key: string, value: unknown, options?: SetMemoryOptions): Promise<void> {
    const mission = requireMissionRef(ref);
    const name = requireText('key', key);
    const text = toJsonText(`memory value '${name}'`, value);
    const ttl = optionalNonNegative('ttlSeconds', optionalObject('memory.set options', options).ttlSeconds);
    return this.#exec.write((conn) => {
      const missionId = resolveMission(conn, mission);
      const now = formatTimestamp(this.#exec.now());
      conn.run(
        `INSERT INTO agent_memory (mission_id, key, value, timestamp, ttl, expires_at) VALUES (?, ?, CAST(? AS TEXT), ?, ?, ?)
         ON CONFLICT (mission_id, key) DO UPDATE SET
           value = excluded.value, timestamp = excluded.timestamp, ttl = excluded.ttl, expires_at = excluded.expires_at`,
        [missionId, name, textBytes(text), now, ttl, ttl === null ? null : addSeconds(now, ttl)],
      );
    });
  }

  /** The live value of `key`, or undefined when it was never set, was deleted, or expired. */
  async get(ref: MissionRef, key: string): Promise<JsonValue | undefined> {
    const mission = requireMissionRef(ref);
    const name = requireText('key', key);
    return this.#exec.read((conn) => {
      const row = conn.get('SELECT value FROM agent_memory WHERE mission_id = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)', [
        resolveMission(conn, mission),
        name,
        formatTimestamp(this.#exec.now()),
      ]);
      return row ? fromJsonText(row.value) : undefined;
    });
  }

  /**
   * The mission's live keys and values, paged by key (SQLite's binary order) with `limit` and
   * `offset`. The object lists integer-like keys ("7") first, as every JS object does.
   */
  async entries(ref: MissionRef, options?: PageOptions): Promise<Record<string, JsonValue>> {
    const mission = requireMissionRef(ref);
    const [limit, offset] = pageParams(optionalObject('memory.entries options', options));
    return this.#exec.read((conn) => {
      const rows = conn.all(
        'SELECT key, value FROM agent_memory WHERE mission_id = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY key LIMIT ? OFFSET ?',
        [resolveMission(conn, mission), formatTimestamp(this.#exec.now()), limit, offset],
      );
      return Object.fromEntries(rows.map((r) => [String(r.key), fromJsonText(r.value)]));
    });
  }

  /** Deletes `key`; resolves to whether there was a value (expired or not). */
  async delete(ref: MissionRef, key: string): Promise<boolean> {
    const mission = requireMissionRef(ref);
    const name = requireText('key', key);
    return this.#exec.write(
      (conn) => conn.run('DELETE FROM agent_memory WHERE mission_id = ? AND key = ?', [resolveMission(conn, mission), name]) > 0,
    );
  }

  /** Deletes every expired entry of every mission; resolves to how many. */
  async sweepExpired(): Promise<number> {
    return this.#exec.write((conn) =>
      conn.run('DELETE FROM agent_memory WHERE expires_at IS NOT NULL AND expires_at <= ?', [formatTimestamp(this.#exec.now())]),
    );
  }
}
