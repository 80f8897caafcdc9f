-- ARCH-001: the agent-ops-store schema, for review and for the sqlite3 CLI:
--   sqlite3 :memory: ".read docs/tasks/ARCH-001_schema.sql" ".tables"
-- The store applies the same DDL from schema/0001_init.sql (a test keeps the two identical)
-- and then sets PRAGMA user_version = 1.

-- agent-ops-store schema, version 1.
-- Five tables record what an agent did: missions, every tool call, every decision and
-- why, playbook runs, and working memory. Timestamps are UTC text in the form
-- 'YYYY-MM-DD HH:MM:SS.SSSZ' (RFC 3339 with a space), which sorts correctly against what
-- SQLite's datetime() returns, so `timestamp > datetime('now', '-1 hour')` is right.
-- JSON columns are declared TEXT (a column declared JSON would get NUMERIC affinity and turn
-- the JSON text '3' into the integer 3) and hold any JSON value; json_valid() guards them.

-- missions: one row per mission, with its lifecycle.
CREATE TABLE missions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,                 -- internal key; children reference it
    mission_uuid TEXT UNIQUE NOT NULL                     -- external identifier, e.g. 'abc-123'
        CHECK (length(mission_uuid) > 0),
    phase TEXT NOT NULL                                   -- PLANNING, CODING, ... (free text)
        CHECK (length(phase) > 0),
    status TEXT NOT NULL DEFAULT 'pending'                -- lifecycle state
        CHECK (status IN ('pending', 'in_progress', 'completed', 'failed', 'cancelled')),
    created_at TEXT NOT NULL,                             -- when the mission was created (UTC)
    completed_at TEXT,                                    -- set when status becomes terminal
    metadata TEXT                                         -- mission-specific data, any JSON value
        CHECK (metadata IS NULL OR json_valid(metadata))
);

CREATE INDEX idx_missions_status ON missions(status);

-- tool_calls: the audit trail of every tool execution.
CREATE TABLE tool_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,                 -- internal key
    mission_id INTEGER NOT NULL                           -- the mission this call belongs to
        REFERENCES missions(id) ON DELETE CASCADE,
    tool_name TEXT NOT NULL                               -- what was called, e.g. 'read_file'
        CHECK (length(tool_name) > 0),
    args TEXT NOT NULL                                    -- the arguments, any JSON value
        CHECK (json_valid(args)),
    result TEXT                                           -- what the tool returned, if anything
        CHECK (result IS NULL OR json_valid(result)),
    timestamp TEXT NOT NULL,                              -- when the call started (UTC)
    duration_ms INTEGER                                   -- how long it took, if measured
        CHECK (duration_ms IS NULL OR duration_ms >= 0),
    success INTEGER NOT NULL                              -- 1 if it succeeded, 0 if it failed
        CHECK (success IN (0, 1)),
    error_message TEXT,                                   -- why it failed, when it did
    agent_name TEXT                                       -- which agent made the call, if known
);

CREATE INDEX idx_tool_calls_mission_time ON tool_calls(mission_id, timestamp);
CREATE INDEX idx_tool_calls_success ON tool_calls(success);

-- decisions: the provenance of every agent decision.
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,                 -- internal key
    mission_id INTEGER NOT NULL                           -- the mission the decision was made in
        REFERENCES missions(id) ON DELETE CASCADE,
    decision_type TEXT NOT NULL                           -- what kind of decision, e.g. 'choose_tool'
        CHECK (length(decision_type) > 0),
    rationale TEXT NOT NULL,                              -- why the agent decided so
    timestamp TEXT NOT NULL,                              -- when it was decided (UTC)
    agent_name TEXT NOT NULL                              -- which agent decided
        CHECK (length(agent_name) > 0)
);

CREATE INDEX idx_decisions_mission_time ON decisions(mission_id, timestamp);

-- playbook_runs: execution metrics of playbooks.
CREATE TABLE playbook_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,                 -- internal key
    mission_id INTEGER NOT NULL                           -- the mission the run belongs to
        REFERENCES missions(id) ON DELETE CASCADE,
    playbook_name TEXT NOT NULL                           -- which playbook ran
        CHECK (length(playbook_name) > 0),
    phase TEXT NOT NULL                                   -- the mission phase it ran in
        CHECK (length(phase) > 0),
    started_at TEXT NOT NULL,                             -- when it started (UTC)
    completed_at TEXT,                                    -- when it finished; NULL while running
    success INTEGER                                       -- 1 or 0 once finished; NULL while running
        CHECK (success IS NULL OR success IN (0, 1)),
    error_message TEXT,                                   -- why it failed, when it did
    metrics TEXT                                          -- run metrics, any JSON value
        CHECK (metrics IS NULL OR json_valid(metrics))
);

-- Cascading deletes look up children by mission_id; without this index they scan.
CREATE INDEX idx_playbook_runs_mission_time ON playbook_runs(mission_id, started_at);

-- agent_memory: working memory, one live value per (mission, key), with optional expiry.
CREATE TABLE agent_memory (
    id INTEGER PRIMARY KEY AUTOINCREMENT,                 -- internal key
    mission_id INTEGER NOT NULL                           -- the mission the memory belongs to
        REFERENCES missions(id) ON DELETE CASCADE,
    key TEXT NOT NULL                                     -- the name of the value, e.g. 'plan'
        CHECK (length(key) > 0),
    value TEXT NOT NULL                                   -- the value, any JSON value
        CHECK (json_valid(value)),
    timestamp TEXT NOT NULL,                              -- when it was last set (UTC)
    ttl INTEGER                                           -- seconds it lives after timestamp; NULL = forever
        CHECK (ttl IS NULL OR ttl >= 0),
    expires_at TEXT                                       -- timestamp + ttl, kept for indexed expiry
);

-- Unique: a set() replaces the live value for its (mission, key).
CREATE UNIQUE INDEX idx_agent_memory_mission_key ON agent_memory(mission_id, key);
CREATE INDEX idx_agent_memory_expires ON agent_memory(expires_at) WHERE expires_at IS NOT NULL;
