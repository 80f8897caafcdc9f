-- agent-ops-store schema, version 4: indexes that fit the seed's three debugging queries as written,
-- so each stays fast at millions of tool calls (see docs/benchmarks.md, "Scale"). None of them needs
-- sqlite_stat1: SQLite picks each from the schema alone, so a store that never ran ANALYZE gets the
-- same plans (a test checks them with EXPLAIN QUERY PLAN).

-- "What tools did the planning phase use?": finds the missions of one phase without reading the
-- table; rowid (missions.id) is in every index entry, so the join needs nothing else from missions.
CREATE INDEX idx_missions_phase ON missions(phase);

-- ... then, per such mission, its calls' tool names straight from this index (covering: no row of
-- tool_calls is read). idx_tool_calls_mission_time would find the same calls but read each row for
-- tool_name, a page per call.
CREATE INDEX idx_tool_calls_mission_tool ON tool_calls(mission_id, tool_name);

-- "Show me all failed tool calls in the last hour": failures only (partial), ordered by time, so the
-- query reads just the failures after its bound. success leads so that, without statistics, SQLite
-- prefers it to idx_tool_calls_success (success = 0 AND timestamp > ? against success = 0 alone).
CREATE INDEX idx_tool_calls_failed_time ON tool_calls(success, timestamp) WHERE success = 0;

-- "Why did the agent make decision X?" needs nothing new: idx_decisions_mission_time(mission_id,
-- timestamp) finds a mission's decisions already in time order, and missions' UNIQUE mission_uuid
-- resolves the uuid.
