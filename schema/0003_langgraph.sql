-- agent-ops-store schema, version 3: LangGraph's checkpoints, channel values, pending writes and
-- long-term memory. The package's LangGraph integration (AgentOpsCheckpointSaver, AgentOpsMemoryStore)
-- keeps a graph's threads and its BaseStore items in the same file as the audit trail. Checkpoints,
-- channel values and writes are the serializer's bytes, kept as given: the store never parses them.
-- A channel's value is stored once per version (langgraph_blobs), so a checkpoint that leaves a
-- large channel unchanged neither writes nor re-encodes it again.
-- A thread whose thread_id is a mission's uuid carries that mission's id, so deleting the mission
-- deletes its checkpoints, values and writes too; other threads keep mission_id NULL.

CREATE TABLE langgraph_checkpoints (
    thread_id TEXT NOT NULL,                             -- LangGraph's configurable.thread_id
    checkpoint_ns TEXT NOT NULL DEFAULT '',              -- '' for the root graph, a subgraph's path otherwise
    checkpoint_id TEXT NOT NULL,                         -- uuid6: sorts in the order checkpoints were taken
    parent_checkpoint_id TEXT,                           -- the checkpoint this one follows; NULL for the first
    checkpoint_type TEXT NOT NULL,                       -- the serializer's type tag for checkpoint, e.g. 'json'
    checkpoint BLOB NOT NULL,                            -- the serialized checkpoint, its channel_values left out (see langgraph_blobs)
    metadata_type TEXT NOT NULL,                         -- the serializer's type tag for metadata
    metadata BLOB NOT NULL,                              -- the serialized metadata (source, step, parents, ...)
    mission_id INTEGER REFERENCES missions(id) ON DELETE CASCADE, -- the mission whose uuid is thread_id, if there was one when it was put
    PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
);

CREATE INDEX idx_langgraph_checkpoints_mission ON langgraph_checkpoints(mission_id) WHERE mission_id IS NOT NULL;

CREATE TABLE langgraph_blobs (
    thread_id TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL,                               -- the channel's name
    version TEXT NOT NULL,                               -- the channel's version, as text; a checkpoint's channel_versions names the ones it holds
    value_type TEXT NOT NULL,                            -- the serializer's type tag, or 'empty' for a channel with no value at that version
    value BLOB,                                          -- the serialized value; NULL when value_type is 'empty'
    mission_id INTEGER REFERENCES missions(id) ON DELETE CASCADE, -- as in langgraph_checkpoints
    PRIMARY KEY (thread_id, checkpoint_ns, channel, version)
);

CREATE INDEX idx_langgraph_blobs_mission ON langgraph_blobs(mission_id) WHERE mission_id IS NOT NULL;

-- Writes may name a checkpoint this file does not hold (a saver is free to store them first), so
-- no foreign key to langgraph_checkpoints; deleteThread removes both.
CREATE TABLE langgraph_writes (
    thread_id TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL DEFAULT '',
    checkpoint_id TEXT NOT NULL,                         -- the checkpoint the write is pending on
    task_id TEXT NOT NULL,                               -- the task that wrote it
    idx INTEGER NOT NULL,                                -- its place in the task's writes; negative for special writes (errors, interrupts)
    task_path TEXT NOT NULL DEFAULT '',                  -- the task's path; with task_id and idx, the order writes are replayed in
    channel TEXT NOT NULL,                               -- the channel written
    value_type TEXT NOT NULL,                            -- the serializer's type tag for value
    value BLOB NOT NULL,                                 -- the serialized value
    mission_id INTEGER REFERENCES missions(id) ON DELETE CASCADE, -- as in langgraph_checkpoints
    PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
);

CREATE INDEX idx_langgraph_writes_mission ON langgraph_writes(mission_id) WHERE mission_id IS NOT NULL;

CREATE TABLE langgraph_store_items (
    namespace TEXT NOT NULL,                             -- the namespace as a JSON array of labels, e.g. '["users","u1"]'
    key TEXT NOT NULL,                                   -- the item's key within its namespace
    value TEXT NOT NULL                                  -- the item's value, a JSON object
        CHECK (json_valid(value)),
    created_at TEXT NOT NULL,                            -- when the key was first put (the store's clock)
    updated_at TEXT NOT NULL,                            -- when it was last put
    ttl_minutes REAL,                                    -- how long it lives after a put (or a refreshing read); NULL: forever
    expires_at TEXT,                                     -- when it expires; NULL: never
    PRIMARY KEY (namespace, key)
);

CREATE INDEX idx_langgraph_store_items_expires ON langgraph_store_items(expires_at) WHERE expires_at IS NOT NULL;
