import { StoreError } from './errors.js';
import type { SQLiteStore } from './store.js';
import { formatTimestamp } from './timestamp.js';
import { describe } from './validate.js';

/**
 * `openStore({ retention })`: which finished missions the store deletes on its own. Only missions
 * that are completed, failed or cancelled are ever deleted, each with all its rows (the cascade of
 * `missions.delete`); pending and in-progress missions are kept whatever their age or size.
 */
export interface RetentionPolicy {
  /** Delete finished missions whose `completed_at` (or `created_at` when unset) is more than this many days old. */
  readonly maxAgeDays?: number;
  /**
   * Keep at most this many tool calls: while the store holds more, delete the finished mission
   * that finished first (then the next). Tool calls of unfinished missions count but are never deleted.
   */
  readonly maxToolCalls?: number;
  /** How often an open writer sweeps, in ms, besides once on open. Default one hour; 0: only on open and `sweepRetention()`. */
  readonly sweepIntervalMs?: number;
}

/** What one retention sweep did. */
export interface RetentionSweep {
  /** The age cutoff of this sweep (store timestamp format), or null without `maxAgeDays`. */
  readonly cutoff: string | null;
  /** The uuids of the missions deleted, in the order chosen. */
  readonly deleted: readonly string[];
  /** How many tool calls went with them. */
  readonly toolCalls: number;
}

const DAY_MS = 86_400_000;
const FINISHED = "status IN ('completed', 'failed', 'cancelled')";

/** The policy, checked: INVALID_INPUT names the field that is not a number >= 0. */
export function requireRetention(policy: unknown): RetentionPolicy | null {
  if (policy === undefined || policy === null) return null;
  if (typeof policy !== 'object') throw new StoreError('INVALID_INPUT', `retention must be an object, got ${describe(policy)}`);
  const p = policy as Record<string, unknown>;
  for (const field of ['maxAgeDays', 'maxToolCalls', 'sweepIntervalMs']) {
    const value = p[field];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) {
      throw new StoreError('INVALID_INPUT', `retention.${field} must be a number >= 0, got ${describe(value)}`);
    }
  }
  if (p.maxToolCalls !== undefined && !Number.isSafeInteger(p.maxToolCalls)) {
    throw new StoreError('INVALID_INPUT', `retention.maxToolCalls must be an integer, got ${describe(p.maxToolCalls)}`);
  }
  return policy as RetentionPolicy;
}

/**
 * One sweep, in one transaction: the cutoff is taken once from `now` (the store's clock), so what
 * is deleted depends only on the data and that instant. Age first, then the tool-call cap, oldest
 * finished mission first (ties by id).
 */
export async function sweepRetention(store: SQLiteStore, policy: RetentionPolicy, now: Date): Promise<RetentionSweep> {
  const cutoff =
    policy.maxAgeDays === undefined ? null : formatTimestamp(new Date(now.getTime() - policy.maxAgeDays * DAY_MS), 'retention cutoff');
  return store.transaction(async (tx) => {
    const finished = await tx.query<{ id: number; uuid: string; ended: string; calls: number }>(
      `SELECT m.id AS id, m.mission_uuid AS uuid, coalesce(m.completed_at, m.created_at) AS ended,
              (SELECT count(*) FROM tool_calls c WHERE c.mission_id = m.id) AS calls
         FROM missions m WHERE ${FINISHED} ORDER BY ended, id`,
    );
    const chosen = cutoff === null ? [] : finished.filter((m) => m.ended < cutoff);
    if (policy.maxToolCalls !== undefined) {
      const [{ total }] = (await tx.query<{ total: number }>('SELECT count(*) AS total FROM tool_calls')) as [{ total: number }];
      let left = total - chosen.reduce((sum, m) => sum + m.calls, 0);
      for (const mission of finished) {
        if (left <= policy.maxToolCalls) break;
        if (mission.calls === 0 || chosen.includes(mission)) continue;
        chosen.push(mission);
        left -= mission.calls;
      }
    }
    for (const mission of chosen) await tx.missions.delete(mission.id);
    return { cutoff, deleted: chosen.map((m) => m.uuid), toolCalls: chosen.reduce((sum, m) => sum + m.calls, 0) };
  });
}
