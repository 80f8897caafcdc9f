/**
 * agent-ops-store: one durable, queryable record of what an AI agent did, on SQLite (sql.js)
 * in Node and the browser. Pick an adapter from `agent-ops-store/adapters/*`.
 */
export { openStore, SQLiteStore } from './store.js';
export type { OpenStoreOptions, StoreTransaction } from './store.js';
export { StoreError, isStoreError } from './errors.js';
export type { StoreErrorCode } from './errors.js';
export type { PersistenceAdapter, LoadedState } from './persistence-adapter.js';
export type { CheckpointPolicy } from './journal.js';
export { schemaMigrations } from './migrations.js';
export type { Migration } from './migrations.js';
export { MISSION_TRANSITIONS } from './missions.js';
export type { Mission, MissionStatus, CreateMissionInput, ListMissionsOptions, MissionRepository } from './missions.js';
export type { ToolCall, ToolStats, RecordToolCallInput, ToolCallFilter, ToolCallRepository } from './tool-calls.js';
export type { Decision, RecordDecisionInput, DecisionRepository } from './decisions.js';
export type { PlaybookRun, StartPlaybookRunInput, FinishPlaybookRunInput, PlaybookRunRepository } from './playbook-runs.js';
export type { SetMemoryOptions, AgentMemoryRepository } from './agent-memory.js';
export type { JsonValue } from './json-value.js';
export type { MissionRef } from './validate.js';
export type { Row } from './connection.js';
export type { QueryParams, QueryValue } from './raw-query.js';
export { formatTimestamp } from './timestamp.js';
