// The seed's three debugging queries, word for word as the README shows them (its test,
// test/node/seed-query-plans.test.ts, proves their plans), for the scale benches in Node and Chromium.
// No Node imports: the browser page uses it too.

/** A seed query: what it asks, and its SQL text. */
export interface SeedQuery {
  readonly name: string;
  readonly sql: string;
}

/** The three queries; the decision query asks about the mission with uuid 'abc-123'. */
export const SEED_QUERIES: readonly SeedQuery[] = [
  {
    name: 'What tools did the planning phase use?',
    sql: `SELECT tool_name, COUNT(*)
FROM tool_calls
JOIN missions ON tool_calls.mission_id = missions.id
WHERE missions.phase = 'PLANNING'
GROUP BY tool_name;`,
  },
  {
    name: 'Why did the agent make decision X?',
    sql: `SELECT decision_type, rationale, timestamp
FROM decisions
WHERE mission_id = (SELECT id FROM missions WHERE mission_uuid = 'abc-123')
ORDER BY timestamp;`,
  },
  {
    name: 'Show me all failed tool calls in the last hour',
    sql: `SELECT * FROM tool_calls
WHERE success = 0
  AND timestamp > datetime('now', '-1 hour');`,
  },
];
