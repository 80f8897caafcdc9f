import type { RunnableConfig } from '@langchain/core/runnables';
import {
  BaseCheckpointSaver,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  copyCheckpoint,
  getCheckpointId,
  maxChannelVersion,
  type PendingWrite,
  type SerializerProtocol,
  TASKS,
  WRITES_IDX_MAP,
} from '@langchain/langgraph-checkpoint';
import { type QueryValue, type SQLiteStore, StoreError } from 'agent-ops-store';

/** A serializer's output as stored: sql.js gives a BLOB back as a Uint8Array, TEXT as a string. */
type Stored = Uint8Array | string;

interface CheckpointRow {
  readonly thread_id: string;
  readonly checkpoint_ns: string;
  readonly checkpoint_id: string;
  readonly parent_checkpoint_id: string | null;
  readonly checkpoint_type: string;
  readonly checkpoint: Stored;
  readonly metadata_type: string;
  readonly metadata: Stored;
}

type KeyRow = Omit<CheckpointRow, 'checkpoint_type' | 'checkpoint'>;

interface WriteRow {
  readonly task_id: string;
  readonly channel: string;
  readonly value_type: string;
  readonly value: Stored;
}

/** Where a checkpoint lives: LangGraph's thread, namespace and (when given) checkpoint id. */
interface Place {
  readonly threadId: string;
  readonly ns: string;
  readonly checkpointId: string | undefined;
}

/** The type tag of a channel version that holds no value (the channel was emptied). */
const EMPTY = 'empty';

const MISSION_OF_THREAD = '(SELECT id FROM missions WHERE mission_uuid = ?)';

/**
 * A LangGraph checkpointer on agent-ops-store: a graph's threads live in the same file as the
 * audit trail, durable on every call in Node and the browser. Each `put`, `putWrites` and
 * `deleteThread` is one durable write. A thread whose `thread_id` is a mission's uuid is linked
 * to that mission (when it exists at `put`), so deleting the mission deletes its checkpoints.
 *
 * @example
 * const store = await openStore({ adapter: fsAdapter('./agent.db') });
 * const graph = builder.compile({ checkpointer: new AgentOpsCheckpointSaver(store) });
 * await graph.invoke(input, { configurable: { thread_id: 'ticket-42' } });
 */
export class AgentOpsCheckpointSaver extends BaseCheckpointSaver {
  readonly #store: SQLiteStore;

  constructor(store: SQLiteStore, serde?: SerializerProtocol) {
    super(serde);
    if (!store || typeof store.query !== 'function' || typeof store.transaction !== 'function') {
      throw new StoreError('INVALID_INPUT', 'AgentOpsCheckpointSaver needs an open store from openStore()');
    }
    this.#store = store;
  }

  /** The checkpoint `config` names, or the thread's latest when it names none; undefined when there is none. */
  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId = config.configurable?.thread_id;
    if (threadId === undefined) return undefined;
    const place = placeOf(config, 'getTuple');
    const byId = place.checkpointId !== undefined;
    const [row] = await this.#store.query<CheckpointRow>(
      `SELECT thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint_type, checkpoint, metadata_type, metadata
       FROM langgraph_checkpoints WHERE thread_id = ? AND checkpoint_ns = ?${byId ? ' AND checkpoint_id = ?' : ''}
       ORDER BY checkpoint_id DESC LIMIT 1`,
      byId ? [place.threadId, place.ns, place.checkpointId!] : [place.threadId, place.ns],
    );
    if (!row) return undefined;
    return this.#tuple(row, await this.serde.loadsTyped(row.metadata_type, row.metadata), row);
  }

  /**
   * The checkpoints `config` selects (a thread, a namespace, a checkpoint id; all threads when it
   * names none), newest first within a thread, filtered on metadata (equal values), before
   * `options.before`'s checkpoint, at most `options.limit`.
   */
  async *list(config: RunnableConfig, options: CheckpointListOptions = {}): AsyncGenerator<CheckpointTuple> {
    const { before, filter } = options;
    let limit = options.limit;
    const where: string[] = [];
    const params: QueryValue[] = [];
    const configurable = config.configurable ?? {};
    if (configurable.thread_id !== undefined) {
      where.push('thread_id = ?');
      params.push(text(configurable.thread_id, 'thread_id', 'list'));
    }
    if (configurable.checkpoint_ns !== undefined) {
      where.push('checkpoint_ns = ?');
      params.push(text(configurable.checkpoint_ns, 'checkpoint_ns', 'list', true));
    }
    if (configurable.checkpoint_id) {
      where.push('checkpoint_id = ?');
      params.push(text(configurable.checkpoint_id, 'checkpoint_id', 'list'));
    }
    const beforeId = before?.configurable?.checkpoint_id;
    if (beforeId) {
      where.push('checkpoint_id < ?');
      params.push(text(beforeId, 'before.checkpoint_id', 'list'));
    }
    const filters = filter ? Object.entries(filter) : [];
    // Only metadata is read here: a filter is decided on it, and the checkpoint bytes (the large
    // part) are read for the tuples actually yielded.
    let sql = `SELECT thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, metadata_type, metadata FROM langgraph_checkpoints
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY thread_id, checkpoint_ns, checkpoint_id DESC`;
    if (filters.length === 0 && limit !== undefined) {
      sql += ' LIMIT ?';
      params.push(Math.max(0, Math.floor(limit)));
    }
    const keys = await this.#store.query<KeyRow>(sql, params);
    for (const key of keys) {
      if (limit !== undefined && limit <= 0) return;
      const metadata = (await this.serde.loadsTyped(key.metadata_type, key.metadata)) as CheckpointMetadata;
      if (!filters.every(([name, value]) => sameValue((metadata as Record<string, unknown>)[name], value))) continue;
      const [row] = await this.#store.query<Pick<CheckpointRow, 'checkpoint_type' | 'checkpoint'>>(
        'SELECT checkpoint_type, checkpoint FROM langgraph_checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?',
        [key.thread_id, key.checkpoint_ns, key.checkpoint_id],
      );
      // Deleted since the keys were read (deleteThread ran meanwhile): no longer there to list.
      if (!row) continue;
      if (limit !== undefined) limit -= 1;
      yield await this.#tuple({ ...key, ...row }, metadata, key);
    }
  }

  /**
   * Stores a checkpoint (replacing one with the same id) and the values of the channels
   * `newVersions` names, in one durable write; returns its config.
   */
  async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    const place = placeOf(config, 'put', true);
    const checkpointId = text(checkpoint?.id, 'checkpoint.id', 'put');
    // Channel values go to langgraph_blobs, once per version: only the channels `newVersions`
    // names changed, and the others' values are already stored under their current version.
    const { channel_values: values, ...rest } = copyCheckpoint(checkpoint);
    const blobs = await Promise.all(
      Object.entries(newVersions ?? {}).map(async ([channel, version]) => {
        const [valueType, bytes]: [string, Stored | null] = Object.hasOwn(values, channel)
          ? await this.serde.dumpsTyped(values[channel])
          : [EMPTY, null];
        return [channel, String(version), valueType, bytes] as const;
      }),
    );
    const [[checkpointType, checkpointBytes], [metadataType, metadataBytes]] = await Promise.all([
      this.serde.dumpsTyped({ ...rest, channel_values: {} }),
      this.serde.dumpsTyped(metadata),
    ]);
    await this.#store.transaction(async (tx) => {
      for (const [channel, version, valueType, bytes] of blobs) {
        await tx.run(
          `INSERT OR REPLACE INTO langgraph_blobs (thread_id, checkpoint_ns, channel, version, value_type, value, mission_id)
           VALUES (?, ?, ?, ?, ?, ?, ${MISSION_OF_THREAD})`,
          [place.threadId, place.ns, channel, version, valueType, bytes, place.threadId],
        );
      }
      await tx.run(
        `INSERT OR REPLACE INTO langgraph_checkpoints
           (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint_type, checkpoint, metadata_type, metadata, mission_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ${MISSION_OF_THREAD})`,
        [
          place.threadId,
          place.ns,
          checkpointId,
          place.checkpointId ?? null,
          checkpointType,
          checkpointBytes,
          metadataType,
          metadataBytes,
          place.threadId,
        ],
      );
    });
    return { configurable: { thread_id: place.threadId, checkpoint_ns: place.ns, checkpoint_id: checkpointId } };
  }

  /**
   * Stores a task's pending writes on the checkpoint `config` names, all in one durable write.
   * A write already stored under the same task and index is kept (a task retried writes the same
   * again), except special writes (errors, interrupts), which replace the earlier one.
   */
  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath = ''): Promise<void> {
    const place = placeOf(config, 'putWrites', true);
    if (place.checkpointId === undefined) {
      throw new StoreError('INVALID_INPUT', 'putWrites needs configurable.checkpoint_id: the checkpoint the writes are pending on');
    }
    const task = text(taskId, 'taskId', 'putWrites');
    const path = text(taskPath, 'taskPath', 'putWrites', true);
    if (writes.length === 0) return;
    const rows = await Promise.all(
      writes.map(async ([channel, value], idx) => {
        const [valueType, bytes] = await this.serde.dumpsTyped(value);
        return [text(channel, 'channel', 'putWrites'), WRITES_IDX_MAP[channel] || idx, valueType, bytes] as const;
      }),
    );
    await this.#store.transaction(async (tx) => {
      for (const [channel, idx, valueType, bytes] of rows) {
        await tx.run(
          `INSERT INTO langgraph_writes
             (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, task_path, channel, value_type, value, mission_id)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ${MISSION_OF_THREAD})
           ON CONFLICT DO UPDATE SET task_path = excluded.task_path, channel = excluded.channel,
             value_type = excluded.value_type, value = excluded.value WHERE excluded.idx < 0`,
          [place.threadId, place.ns, place.checkpointId!, task, idx, path, channel, valueType, bytes, place.threadId],
        );
      }
    });
  }

  /** Deletes every checkpoint and pending write of a thread, in all namespaces, in one durable write. */
  async deleteThread(threadId: string): Promise<void> {
    const thread = text(threadId, 'threadId', 'deleteThread');
    await this.#store.transaction(async (tx) => {
      await tx.run('DELETE FROM langgraph_writes WHERE thread_id = ?', [thread]);
      await tx.run('DELETE FROM langgraph_blobs WHERE thread_id = ?', [thread]);
      await tx.run('DELETE FROM langgraph_checkpoints WHERE thread_id = ?', [thread]);
    });
  }

  async #tuple(row: CheckpointRow, metadata: CheckpointMetadata, key: KeyRow): Promise<CheckpointTuple> {
    const checkpoint = (await this.serde.loadsTyped(row.checkpoint_type, row.checkpoint)) as Checkpoint;
    const place = { threadId: key.thread_id, ns: key.checkpoint_ns };
    checkpoint.channel_values = await this.#values(place, checkpoint.channel_versions ?? {});
    // Checkpoints before format 4 kept pending sends in the parent's writes, not in channel_values.
    if (checkpoint.v < 4 && key.parent_checkpoint_id !== null) {
      const sends = await this.#writes(place, key.parent_checkpoint_id, TASKS);
      checkpoint.channel_values ??= {};
      checkpoint.channel_values[TASKS] = sends.map(([, , value]) => value);
      checkpoint.channel_versions ??= {};
      const versions = Object.values(checkpoint.channel_versions);
      checkpoint.channel_versions[TASKS] = versions.length > 0 ? maxChannelVersion(...versions) : this.getNextVersion(undefined);
    }
    const tuple: CheckpointTuple = {
      config: { configurable: { thread_id: key.thread_id, checkpoint_ns: key.checkpoint_ns, checkpoint_id: key.checkpoint_id } },
      checkpoint,
      metadata,
      pendingWrites: await this.#writes(place, key.checkpoint_id),
    };
    if (key.parent_checkpoint_id !== null) {
      tuple.parentConfig = {
        configurable: { thread_id: key.thread_id, checkpoint_ns: key.checkpoint_ns, checkpoint_id: key.parent_checkpoint_id },
      };
    }
    return tuple;
  }

  /** The channel values a checkpoint's versions name; a channel whose version holds no value is left out. */
  async #values(place: { threadId: string; ns: string }, versions: ChannelVersions): Promise<Record<string, unknown>> {
    const wanted = Object.fromEntries(Object.entries(versions).map(([channel, version]) => [channel, String(version)]));
    if (Object.keys(wanted).length === 0) return {};
    const rows = await this.#store.query<{ channel: string; value_type: string; value: Stored | null }>(
      `SELECT blob.channel, blob.value_type, blob.value FROM langgraph_blobs AS blob
       JOIN json_each(?) AS wanted ON blob.channel = wanted.key AND blob.version = wanted.value
       WHERE blob.thread_id = ? AND blob.checkpoint_ns = ?`,
      [JSON.stringify(wanted), place.threadId, place.ns],
    );
    const values: Record<string, unknown> = {};
    for (const row of rows) {
      if (row.value_type === EMPTY || row.value === null) continue;
      values[row.channel] = await this.serde.loadsTyped(row.value_type, row.value);
    }
    return values;
  }

  /**
   * A checkpoint's pending writes in replay order (task path, task id, index). SQLite compares
   * TEXT byte by byte in UTF-8, which is code point order, the order LangGraph replays them in.
   */
  async #writes(place: { threadId: string; ns: string }, checkpointId: string, channel?: string): Promise<CheckpointPendingWrite[]> {
    const rows = await this.#store.query<WriteRow>(
      `SELECT task_id, channel, value_type, value FROM langgraph_writes
       WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?${channel === undefined ? '' : ' AND channel = ?'}
       ORDER BY task_path, task_id, idx`,
      channel === undefined ? [place.threadId, place.ns, checkpointId] : [place.threadId, place.ns, checkpointId, channel],
    );
    return Promise.all(
      rows.map(
        async (row): Promise<CheckpointPendingWrite> => [row.task_id, row.channel, await this.serde.loadsTyped(row.value_type, row.value)],
      ),
    );
  }
}

/** The thread, namespace and checkpoint id a config names; INVALID_INPUT when one is not text (or the thread is missing where `method` needs one). */
function placeOf(config: RunnableConfig, method: string, needsThread = false): Place {
  const configurable = config?.configurable ?? {};
  if (configurable.thread_id === undefined && needsThread) {
    throw new StoreError(
      'INVALID_INPUT',
      `${method} needs configurable.thread_id: pass one when invoking the graph, e.g. { configurable: { thread_id: 'ticket-42' } }`,
    );
  }
  const checkpointId = getCheckpointId(config);
  return {
    threadId: text(configurable.thread_id, 'thread_id', method),
    ns: text(configurable.checkpoint_ns ?? '', 'checkpoint_ns', method, true),
    checkpointId: checkpointId ? text(checkpointId, 'checkpoint_id', method) : undefined,
  };
}

/** `value` when it is a string (non-empty unless `allowEmpty`), else INVALID_INPUT naming the field. */
function text(value: unknown, field: string, method: string, allowEmpty = false): string {
  if (typeof value !== 'string' || (!allowEmpty && value === '')) {
    throw new StoreError(
      'INVALID_INPUT',
      `${method}: ${field} must be a ${allowEmpty ? '' : 'non-empty '}string, got ${JSON.stringify(value) ?? typeof value}`,
    );
  }
  return value;
}

/** Whether a metadata value equals a filter's value: primitives by identity, arrays and objects by their contents. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  if (aKeys.length !== bKeys.length) return false;
  return aKeys.every((k) => Object.hasOwn(b, k) && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
