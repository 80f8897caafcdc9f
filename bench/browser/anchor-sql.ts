// The SQL that the anchor engines (sqlite-wasm, wa-sqlite) run, shared by the page and the
// worker so that both execute exactly the same statements as each other and as the store.
import schema from '../../schema/0001_init.sql?raw';
import type { Payload } from '../payloads.js';

/** The store's own schema (migration 1), so the anchors insert into the same table, checks and indexes. */
export const ANCHOR_SCHEMA = `PRAGMA foreign_keys = ON;\n${schema}`;

/** The mission every anchor row belongs to (id 1), as `store.missions.create` would insert it. */
export const ANCHOR_MISSION =
  "INSERT INTO missions (mission_uuid, phase, created_at) VALUES ('bench', 'CODING', '2026-01-01 00:00:00.000Z')";

/** The insert behind `toolCalls.record`, without the store's input validation and RETURNING. */
export const INSERT_TOOL_CALL =
  'INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp, duration_ms, success) VALUES (1, ?, ?, ?, ?, ?, ?)';

/** The database's size, as the store's bench measures its own. */
export const DB_BYTES = 'SELECT page_count * page_size AS bytes FROM pragma_page_count(), pragma_page_size()';

/** How many rows a fill transaction inserts, the same as the store's fill. */
export const FILL_BATCH = 250;

/**
 * The values bound to INSERT_TOOL_CALL for one payload, with the timestamp in the store's format;
 * serializing the JSON is part of the work timed, as it is in `record()`.
 */
export function toolCallRow(p: Payload): (string | number)[] {
  return [
    p.toolName,
    JSON.stringify(p.args),
    JSON.stringify(p.result),
    new Date().toISOString().replace('T', ' '),
    p.durationMs,
    p.success ? 1 : 0,
  ];
}
