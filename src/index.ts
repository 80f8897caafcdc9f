/**
 * agent-ops-store: one durable, queryable record of what an AI agent did, on SQLite (sql.js)
 * in Node and the browser. Pick an adapter from `agent-ops-store/adapters/*`.
 */

export type { AgentMemoryRepository, SetMemoryOptions } from './agent-memory.js';
export type { ChangeEvent, ChangeListener, RowChange } from './change-feed.js';
export type { Row } from './connection.js';
export type { Decision, DecisionRepository, RecordDecisionInput } from './decisions.js';
export type { StoreErrorCode } from './errors.js';
export { isStoreError, StoreError } from './errors.js';
export type { CheckpointPolicy } from './journal.js';
export type { JsonValue } from './json-value.js';
export { MAX_JSON_DEPTH } from './json-value.js';
export type { Migration } from './migrations.js';
export { schemaMigrations } from './migrations.js';
export type { CreateMissionInput, ListMissionsOptions, Mission, MissionRepository, MissionStatus } from './missions.js';
export { MISSION_TRANSITIONS } from './missions.js';
export type { LoadedState, LogTail, PersistenceAdapter } from './persistence-adapter.js';
export type { FinishPlaybookRunInput, PlaybookRun, PlaybookRunRepository, StartPlaybookRunInput } from './playbook-runs.js';
export type { QueryParams, QueryValue, RunResult } from './raw-query.js';
export type { IterateOptions } from './row-iterator.js';
/** The largest database (bytes) the engine checkpoints and reopens; the default and upper bound of `openStore({ maxBytes })`. */
export { ENGINE_MAX_BYTES } from './size-limit.js';
export type { OpenStoreOptions } from './store.js';
export { openStore, SQLiteStore } from './store.js';
export { formatTimestamp, MAX_TIMESTAMP } from './timestamp.js';
export type {
  ListToolCallsOptions,
  RecordToolCallInput,
  ToolCall,
  ToolCallFilter,
  ToolCallRepository,
  ToolStats,
  TrackOptions,
} from './tool-calls.js';
export { TrackError } from './track-error.js';
export type { StoreTransaction } from './transaction-runner.js';
export type { MissionRef, PageOptions } from './validate.js';
