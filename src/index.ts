/**
 * agent-ops-store: one durable, queryable record of what an AI agent did, on SQLite (sql.js)
 * in Node and the browser. Pick an adapter from `agent-ops-store/adapters/*`.
 */

export type { AgentMemoryRepository, SetMemoryOptions } from './agent-memory.js';
export type { ArchiveBatch, ArchiveOptions, ArchiveResult, ArchiveSink, ArchiveTable } from './archive.js';
/** An archive target that is another store (e.g. a `.sqlite` file on fsAdapter), for `store.archive({ to })`. */
export { storeArchiveSink } from './archive.js';
export type { ChangeEvent, ChangeListener, RowChange } from './change-feed.js';
export type { Row } from './connection.js';
export type { Decision, DecisionRepository, RecordDecisionInput } from './decisions.js';
export type { StoreErrorCode } from './errors.js';
export { isStoreError, StoreError } from './errors.js';
export type { CheckpointPolicy } from './journal.js';
export type { JsonValue } from './json-value.js';
export { MAX_JSON_DEPTH } from './json-value.js';
export type {
  LegacyDecision,
  LegacyJsonInput,
  LegacyMemoryEntry,
  LegacyMissionDocument,
  LegacyPlaybookRun,
  LegacyToolCall,
} from './legacy-document.js';
/** How legacy statuses outside the lifecycle map onto it ('running' → 'in_progress', 'done' → 'completed', …). */
export { LEGACY_STATUS_MAP } from './legacy-document.js';
export type { ExportLegacyJsonOptions, ImportLegacyJsonOptions, LegacyImportOutcome, LegacyImportReport } from './legacy-json.js';
/** The legacy JSON layout of docs/tasks/ARCH-001_migration_plan.md, in and out: importLegacyJson(store, docs), exportLegacyJson(store). */
export { exportLegacyJson, importLegacyJson, importLegacyMission } from './legacy-json.js';
export type { Migration } from './migrations.js';
export { schemaMigrations } from './migrations.js';
export type { CreateMissionInput, ListMissionsOptions, Mission, MissionRepository, MissionStatus } from './missions.js';
export { MISSION_TRANSITIONS } from './missions.js';
export type {
  ChunkBase,
  ChunkHashes,
  LoadedState,
  LogTail,
  PersistenceAdapter,
  PreparedCheckpoint,
  ReplicaEndpoint,
  ReplicaOptions,
  ReplicaPort,
  ShareEvents,
  SnapshotChunks,
  SnapshotHints,
  StoreShare,
} from './persistence-adapter.js';
export type { FinishPlaybookRunInput, PlaybookRun, PlaybookRunRepository, StartPlaybookRunInput } from './playbook-runs.js';
export type { QueryParams, QueryValue, RunResult } from './raw-query.js';
/** Runs a checkpoint replica inside a worker an adapter's `spawnReplica` started. */
export { serveReplica } from './replica-worker.js';
export type { RetentionPolicy, RetentionSweep } from './retention.js';
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
