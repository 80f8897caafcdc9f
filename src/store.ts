import { AgentMemoryRepository } from './agent-memory.js';
import { type ArchiveOptions, type ArchiveResult, archiveMissions } from './archive.js';
import { ChangeCapture, type ChangeSet, journaledTables } from './change-capture.js';
import { ChangeFeed, type ChangeListener, changesOf } from './change-feed.js';
import { CheckpointReplica } from './checkpoint-replica.js';
import { CheckpointScheduler } from './checkpoint-scheduler.js';
import { Connection, type Row } from './connection.js';
import { exportDatabase } from './database-export.js';
import { DecisionRepository } from './decisions.js';
import { checkDeferredKeys, deferredKeyTables } from './deferred-keys.js';
import { messageOf, StoreError } from './errors.js';
import type { Executor } from './executor.js';
import { Follower, type FollowerHost } from './follower.js';
import { ForwardLedger } from './forward-ledger.js';
import { type CheckpointPolicy, Journal, type RecoveredState } from './journal.js';
import { checkMigrations, type Migration, migrate, refuseNewerSchema, schemaMigrations } from './migrations.js';
import { MissionRepository } from './missions.js';
import type { PersistenceAdapter, StoreShare } from './persistence-adapter.js';
import { PlaybookRunRepository } from './playbook-runs.js';
import {
  lastInsertRowid,
  probeQuery,
  type QueryParams,
  type QueryRequest,
  queryRequest,
  type RunResult,
  runQuery,
  runStatement,
} from './raw-query.js';
import { ReaderLoop } from './reader-loop.js';
import { replayRecords } from './replay.js';
import { type RetentionPolicy, type RetentionSweep, requireRetention, sweepRetention } from './retention.js';
import { type IterateOptions, RowIterator, type RowSource } from './row-iterator.js';
import { SizeLimit, storeLimit } from './size-limit.js';
import { copyWithRoom, openRoom, replicaRoom, withRoom } from './snapshot-room.js';
import { loadSqlEngine } from './sql-engine.js';
import { knownKind } from './sql-guard.js';
import {
  errorData,
  type ForwardedCall,
  type ForwardedReply,
  forwardingRepository,
  MustForward,
  rebuildError,
  TabFollower,
} from './tab-follower.js';
import { readClock } from './timestamp.js';
import { ToolCallRepository } from './tool-calls.js';
import { requireDeadlockTimeout, type StoreTransaction, TransactionRunner } from './transaction-runner.js';
import { type BatchItem, WriteBatch } from './write-batch.js';

/** What `openStore` takes. */
export interface OpenStoreOptions {
  /** Where the bytes live: `memoryAdapter()`, `fsAdapter(path)`, `indexedDbAdapter(name)`. */
  readonly adapter: PersistenceAdapter;
  /** The time the store writes into timestamps and compares expiry against. Default: now. */
  readonly clock?: () => Date;
  /** The schema migrations; the built-in ones plus any later versions of the app's own. */
  readonly migrations?: readonly Migration[];
  /** When the store checkpoints on its own. */
  readonly checkpoint?: CheckpointPolicy;
  /** Told about damage repaired on open (a torn log tail, another store's log set aside) and failed background checkpoints. */
  readonly onWarning?: (message: string) => void;
  /**
   * How long (ms) a store call waits behind a transaction callback that makes no tx call before
   * it is refused with DEADLOCK, as it may have been made inside that callback. Default 5000.
   */
  readonly deadlockTimeoutMs?: number;
  /**
   * Open a reader beside the writer: no lock, nothing written, every write method rejects with
   * READ_ONLY, and the database follows what the writer commits (see `refresh`, `subscribe`).
   * Needs an adapter that can open readers (memory, fs).
   */
  readonly readOnly?: boolean;
  /**
   * Delete finished missions on their own: past `maxAgeDays`, or the oldest while there are more
   * than `maxToolCalls` tool calls. A writer sweeps on open and every `sweepIntervalMs` (1 h); see `sweepRetention`.
   */
  readonly retention?: RetentionPolicy;
  /**
   * The largest the database may grow, in bytes: a write that would take it past this is rolled
   * back and refused with FULL (and `onWarning` hears once when it passes 75%). Default, and
   * upper bound: what the runtime can checkpoint and reopen (3.5 GiB; 1 GiB with IndexedDB).
   */
  readonly maxBytes?: number;
}

/**
 * Opens (or creates) a store on an adapter: loads the snapshot, replays the log, migrates.
 *
 * @example
 * const store = await openStore({ adapter: fsAdapter('./agent-ops.db') });
 * const mission = await store.missions.create({ phase: 'PLANNING', uuid: 'abc-123' });
 * await store.toolCalls.record({ mission: 'abc-123', toolName: 'read_file', args: { path }, success: true });
 * await store.close();
 */
export function openStore(options: OpenStoreOptions): Promise<SQLiteStore> {
  return SQLiteStore.open(options);
}

/**
 * One durable, queryable record of what an agent did. Owns one in-memory sql.js database;
 * every committed write becomes a commit record made durable through the adapter before the
 * write resolves, and the whole database is exported only at checkpoints.
 */
export class SQLiteStore {
  /** Missions and their lifecycle. */
  readonly missions: MissionRepository;
  /** The audit trail of tool calls. */
  readonly toolCalls: ToolCallRepository;
  /** Decisions and their rationale. */
  readonly decisions: DecisionRepository;
  /** Playbook runs and their metrics. */
  readonly playbookRuns: PlaybookRunRepository;
  /** Agent working memory with expiry. */
  readonly memory: AgentMemoryRepository;

  readonly #adapter: PersistenceAdapter;
  readonly #journal: Journal;
  readonly #migrations: readonly Migration[];
  readonly #clock: () => Date;
  readonly #warn: (message: string) => void;
  // Every call goes through it: one at a time, and never behind a transaction callback that
  // waits for the call.
  readonly #queue: TransactionRunner;
  readonly #scheduler: CheckpointScheduler;
  readonly #feed: ChangeFeed;
  readonly #readOnly: boolean;
  readonly #limit: SizeLimit;
  /** Follows the writer; only in a read-only store. */
  #reader: ReaderLoop | null = null;
  /** The tabs sharing this store (indexedDbAdapter's lock 'share'), else null. */
  #share: StoreShare | null = null;
  /** Set while this tab follows the one that leads: writes go there. */
  #tab: TabFollower | null = null;
  /** This tab's replica of the leader's database, while it follows. */
  #replica: Follower | null = null;
  /** Applies forwarded writes once each, while this tab leads. */
  readonly #ledger = new ForwardLedger(this);
  #conn: Connection;
  #capture: ChangeCapture;
  #closed = false;
  /** Tables whose deferred foreign keys must be checked before a record is appended. */
  #deferredKeyTables: string[] = [];
  #onPageHide: (() => void) | null = null;
  readonly #batch = new WriteBatch();
  /** The replica checkpoints are taken from, once the database is big enough (CheckpointPolicy.workerMinBytes). */
  #checkpointReplica: CheckpointReplica | null = null;
  readonly #workerMinBytes: number;
  /** The part of a checkpoint from the replica that runs outside the queue (its export and preparation). */
  #preparing: Promise<unknown> | null = null;
  readonly #retention: RetentionPolicy | null;
  #retentionTimer: ReturnType<typeof setInterval> | null = null;

  private constructor(options: OpenStoreOptions, journal: Journal, conn: Connection, migrations: readonly Migration[], following = false) {
    this.#adapter = options.adapter;
    this.#journal = journal;
    this.#migrations = migrations;
    this.#clock = options.clock ?? (() => new Date());
    this.#warn = options.onWarning ?? ((message) => console.warn(`agent-ops-store: ${message}`));
    this.#conn = conn;
    this.#capture = new ChangeCapture(conn);
    this.#feed = new ChangeFeed(this.#warn);
    this.#readOnly = options.readOnly === true;
    this.#retention = requireRetention(options.retention);
    this.#limit = new SizeLimit({
      maxBytes: storeLimit(options.maxBytes, options.adapter.maxBytes),
      location: options.adapter.location,
      warn: this.#warn,
    });
    this.#queue = new TransactionRunner({
      deadlockTimeoutMs: requireDeadlockTimeout(options.deadlockTimeoutMs),
      now: () => readClock(this.#clock),
    });
    this.#workerMinBytes = requireWorkerMinBytes(options.checkpoint?.workerMinBytes);
    this.#scheduler = new CheckpointScheduler({
      log: journal,
      enqueue: (task) => this.#queue.run(task),
      checkpoint: async () => {
        if (!this.#closed) await this.#checkpointOrReload();
      },
      background: () => (this.#closed || !this.#usableReplica() ? null : this.#checkpointInBackground()),
      warn: this.#warn,
    });
    journal.onDurable = (record) => this.#checkpointReplica?.feed(record);
    const exec: Executor = {
      read: (fn) => this.#queue.run(() => fn(this.#open())),
      // Repositories never change the schema, so their writes skip that check.
      write: (fn) => this.#batchedWrite(fn),
      now: () => readClock(this.#clock),
      assertWritable: (label) => {
        if (this.#readOnly) throw this.#readOnlyError(`store.${label}`);
      },
      forward: (target, method, args) => (this.#tab ? this.#forward(target, method, args) : null),
    };
    // A following tab's repositories send a call to the leader once it would write (see forwardingRepository).
    const expose = <R extends object>(repository: R, name: string): R => {
      const exposed = this.#queue.expose(repository, name);
      return following ? forwardingRepository(exposed, name, (target, method, args) => this.#forward(target, method, args)) : exposed;
    };
    this.missions = expose(new MissionRepository(exec), 'missions');
    this.toolCalls = expose(new ToolCallRepository(exec), 'toolCalls');
    this.decisions = expose(new DecisionRepository(exec), 'decisions');
    this.playbookRuns = expose(new PlaybookRunRepository(exec), 'playbookRuns');
    this.memory = expose(new AgentMemoryRepository(exec), 'memory');
  }

  /** See `openStore`. */
  static async open(options: OpenStoreOptions): Promise<SQLiteStore> {
    const adapter = options?.adapter;
    if (!adapter || typeof adapter.load !== 'function') {
      throw new StoreError('INVALID_INPUT', 'openStore needs { adapter }, e.g. memoryAdapter() or fsAdapter(path)');
    }
    const migrations = options.migrations ?? schemaMigrations;
    checkMigrations(migrations);
    requireDeadlockTimeout(options.deadlockTimeoutMs);
    requireRetention(options.retention);
    storeLimit(options.maxBytes, adapter.maxBytes);
    if (options.readOnly) return SQLiteStore.#openReader(options, migrations);
    const journal = new Journal(adapter, options.checkpoint);
    let conn: Connection | undefined;
    try {
      const share = adapter.share?.() ?? null;
      if (share && !(await share.tryLead())) return await SQLiteStore.#openFollower(options, migrations, share);
      const recovered = await journal.recover();
      const built = await buildConnection(
        recovered,
        migrations,
        adapter.location,
        'always',
        openRoom(recovered.snapshot?.length ?? 0, journal.logBytes),
        adapter.spawnReplica && adapter.prepareCheckpoint
          ? requireWorkerMinBytes(options.checkpoint?.workerMinBytes)
          : Number.POSITIVE_INFINITY,
      );
      conn = built.conn;
      const store = new SQLiteStore(options, journal, conn, migrations);
      store.#installCapture();
      for (const warning of recovered.warnings) store.#warn(warning);
      store.#limit.observe(conn);
      // Not on warnings: the adapter already cut a torn tail off, and a checkpoint here would
      // rewrite the snapshot of a store that was only read. But a store that just got its
      // identity, or whose log held another store's records, is rewritten at once.
      if (built.migrated || recovered.mustCheckpoint) await store.#checkpointNow(built.migrated);
      else {
        store.#seedReplica(
          built.replicaSnapshot ?? recovered.snapshot,
          recovered.raw,
          built.replicaSnapshot !== null || built.snapshotFree,
        );
        if (recovered.records.length >= LONG_REPLAY_RECORDS) store.#checkpointAfterOpen();
      }
      store.#watchPageHide();
      if (share) store.#serve(share);
      await store.#startRetention();
      return store;
    } catch (error) {
      conn?.close();
      await adapter.close().catch(() => undefined);
      throw error;
    }
  }

  /** Opens a reader: loads what the adapter's reader sees, without lock or write, and follows it. */
  static async #openReader(options: OpenStoreOptions, migrations: readonly Migration[]): Promise<SQLiteStore> {
    const adapter = options.adapter;
    if (typeof adapter.openReader !== 'function') {
      throw new StoreError('INVALID_INPUT', `the adapter of ${adapter.location} cannot open readers (it has no openReader)`);
    }
    const tail = adapter.openReader();
    let store: SQLiteStore | undefined;
    const follower = new Follower(SQLiteStore.#replicaHost(adapter.location, migrations, () => store));
    let conn: Connection | undefined;
    try {
      const loaded = await tail.load();
      conn = await follower.start(loaded);
      store = new SQLiteStore(options, new Journal(adapter), conn, migrations);
      for (const warning of loaded.warnings) store.#warn(warning);
      const reader = new ReaderLoop({
        tail,
        follower,
        location: adapter.location,
        enqueue: (task) => store!.#queue.run(task, 'store.refresh()'),
        warn: store.#warn,
      });
      store.#reader = reader;
      reader.start();
      return store;
    } catch (error) {
      conn?.close();
      await tail.close().catch(() => undefined);
      throw error;
    }
  }

  /** What a Follower needs to keep the store that `store()` gives (once it exists) up to date. */
  static #replicaHost(location: string, migrations: readonly Migration[], store: () => SQLiteStore | undefined): FollowerHost {
    return {
      location,
      connection: () => store()!.#conn,
      build: async (snapshot, records) =>
        (await buildConnection({ snapshot, records }, migrations, location, 'if-empty', openRoom(snapshot?.length ?? 0, 0))).conn,
      replace: (conn) => {
        store()!.#conn.close();
        store()!.#conn = conn;
      },
      emit: (event) => store()!.#feed.emit(event),
      get listening() {
        const current = store();
        return current ? current.#feed.active : false;
      },
    };
  }

  /**
   * Opens a tab that follows the tab leading a shared store: its database is a replica of the
   * leader's, its writes go to the leader, and it queues for the lock to take over.
   */
  static async #openFollower(options: OpenStoreOptions, migrations: readonly Migration[], share: StoreShare): Promise<SQLiteStore> {
    const adapter = options.adapter;
    let store: SQLiteStore | undefined;
    const follower = new Follower(SQLiteStore.#replicaHost(adapter.location, migrations, () => store));
    const tab = new TabFollower({
      location: adapter.location,
      share,
      follower,
      enqueue: (task, label) => store!.#queue.run(task, label),
      warn: (message) => store!.#warn(message),
    });
    let conn: Connection | undefined;
    try {
      const loaded = await share.read();
      conn = await follower.start(loaded);
      store = new SQLiteStore(options, new Journal(adapter, options.checkpoint), conn, migrations, true);
      store.#share = share;
      store.#tab = tab;
      store.#replica = follower;
      tab.attach();
      const opened = store;
      // Rejected only when this tab closes first.
      share.lead().then(
        () => opened.#takeOver(share),
        () => undefined,
      );
      return store;
    } catch (error) {
      conn?.close();
      throw error;
    }
  }

  /**
   * The lock came to this following tab (the leader closed, crashed or was discarded): it becomes
   * the writer, from what the storage holds, then answers the other tabs' calls.
   */
  async #takeOver(share: StoreShare): Promise<void> {
    try {
      await this.#queue.run(async () => {
        if (this.#closed) return;
        // The replica first, so listeners hear of commits the old leader made durable but never told of.
        await this.#replica!.resync(await share.read());
        this.#tab!.stop();
        const recovered = await this.#journal.recover();
        const built = await buildConnection(
          recovered,
          this.#migrations,
          this.#adapter.location,
          'always',
          openRoom(recovered.snapshot?.length ?? 0, this.#journal.logBytes),
          this.#replicaMinBytes(),
        );
        this.#conn.close();
        this.#conn = built.conn;
        this.#limit.forget();
        this.#capture = new ChangeCapture(built.conn);
        this.#installCapture();
        this.#tab = null;
        this.#replica = null;
        for (const warning of recovered.warnings) this.#warn(warning);
        if (built.migrated || recovered.mustCheckpoint) await this.#checkpointNow(built.migrated);
        else
          this.#seedReplica(
            built.replicaSnapshot ?? recovered.snapshot,
            recovered.raw,
            built.replicaSnapshot !== null || built.snapshotFree,
          );
        this.#watchPageHide();
        this.#serve(share);
      }, 'taking over from the leading tab');
    } catch (error) {
      // Without a durable state to write on, this tab cannot lead: close, so the lock goes to the next tab.
      this.#warn(`this tab could not take over ${this.#adapter.location} and closed its store: ${messageOf(error)}`);
      if (!this.#closed) {
        this.#markClosed();
        this.#conn.close();
        await this.#adapter.close().catch(() => undefined);
      }
    }
  }

  /** Leads: answers the calls other tabs forward. */
  #serve(share: StoreShare): void {
    this.#share = share;
    share.serve((call) => this.#serveForwarded(call as ForwardedCall));
  }

  /** Runs a call another tab forwarded, and gives its outcome as data. */
  async #serveForwarded(call: ForwardedCall): Promise<ForwardedReply> {
    try {
      let value: unknown;
      if (call.target === 'store' && call.method === 'checkpoint') value = await this.checkpoint();
      else if (call.target === 'store' && typeof call.args[0] === 'string' && /^\s*vacuum\b/i.test(call.args[0])) {
        // VACUUM cannot run inside the ledger's transaction, and running it twice changes nothing.
        value = await this.query(call.args[0]);
      } else value = await this.#ledger.apply(call);
      return { ok: true, value, seq: this.#journal.lastSeq };
    } catch (error) {
      return { ok: false, error: errorData(error) };
    }
  }

  /** Sends a write to the leading tab, under an id that keeps it from being applied twice. */
  #forward(target: string, method: string, args: unknown[]): Promise<unknown> {
    const call: ForwardedCall = { id: crypto.randomUUID(), target, method, args };
    const tab = this.#tab;
    // This tab took over since the call began: it answers the call itself.
    if (!tab) return this.#serveForwarded(call).then((reply) => (reply.ok ? reply.value : Promise.reject(rebuildError(reply.error))));
    return tab.forward(call);
  }

  /**
   * The time by the store's clock (`openStore({ clock })`, default: now), the one it stamps rows
   * and judges expiry with. Integrations that keep their own expiring rows read it here, so a test
   * clock moves them too. Throws INVALID_INPUT when the clock gives no valid date.
   */
  now(): Date {
    return readClock(this.#clock);
  }

  /**
   * Runs one SQL statement, parameters bound, and gives its rows as plain objects, typed as
   * `T` (unchecked: the SQL decides the columns). Writes are journaled like any other; schema
   * changes and VACUUM checkpoint.
   *
   * @example
   * await store.query<{ tool_name: string; n: number }>('SELECT tool_name, COUNT(*) AS n FROM tool_calls WHERE success = ? GROUP BY tool_name', [0]);
   */
  query<T = Row>(sql: string, params?: QueryParams): Promise<T[]> {
    return this.#statement(sql, params, 'store.query()', runQuery, () => []) as Promise<T[]>;
  }

  /**
   * Runs one SQL statement for its effect, through the same guard and journal as `query`, and
   * says what it changed: `changes` and `lastInsertRowid` (a bigint only beyond 2^53 - 1).
   *
   * @example
   * const { changes, lastInsertRowid } = await store.run('INSERT INTO notes (text) VALUES (?)', ['hi']);
   */
  run(sql: string, params?: QueryParams): Promise<RunResult> {
    return this.#statement(sql, params, 'store.run()', runStatement, (conn) => ({ changes: 0, lastInsertRowid: lastInsertRowid(conn) }));
  }

  /**
   * Streams the rows of one read, `batchSize` (256) at a time, without holding them all. Each
   * batch is one turn of the store's queue, so other calls run between batches: each batch is
   * consistent, and writes made between batches may be seen (rows the scan has not reached
   * yet) or not. A statement that writes is refused with INVALID_INPUT. Breaking out of the
   * loop frees the statement. For one consistent view, iterate on `tx` inside a transaction.
   *
   * @example
   * for await (const call of store.iterate<{ id: number; tool_name: string }>('SELECT id, tool_name FROM tool_calls')) {
   *   console.log(call.id, call.tool_name);
   * }
   */
  iterate<T = Row>(sql: string, params?: QueryParams, options?: IterateOptions): AsyncIterableIterator<T> {
    const source: RowSource = {
      label: 'store.iterate()',
      owner: null,
      read: (fn, opening) =>
        this.#queue.run(() => {
          const conn = this.#open();
          if (!opening) return fn(conn);
          // The guard judges a statement inside a transaction (see probeQuery). A read changes
          // nothing, and SQLite keeps a reading statement open across the ROLLBACK.
          conn.run('BEGIN');
          try {
            return fn(conn);
          } finally {
            conn.exec('ROLLBACK');
          }
        }, 'store.iterate()'),
    };
    return new RowIterator<T>(source, sql, params, options);
  }

  /**
   * Runs `fn` in one transaction: everything it writes through `tx` becomes durable together
   * when it returns, or nothing does when it throws. `tx.transaction()` nests as a savepoint.
   * Use `tx`, not the store, inside `fn`: a store call made there rejects with DEADLOCK (at once
   * on V8, else after `deadlockTimeoutMs` without a tx call); other callers wait their turn.
   *
   * @example
   * await store.transaction(async (tx) => {
   *   const m = await tx.missions.create({ phase: 'PLANNING' });
   *   await tx.decisions.record({ mission: m.id, decisionType: 'plan', rationale: '...', agentName: 'planner' });
   *   await tx.transaction(async (tx2) => tx2.memory.set(m.id, 'draft', 'may be undone alone'));
   * });
   */
  transaction<T>(fn: (tx: StoreTransaction) => Promise<T> | T): Promise<T> {
    return this.#queue
      .transaction(fn, (body) => this.#write(body, true))
      .catch((error: unknown) => {
        if (!(error instanceof MustForward)) throw error;
        // A callback cannot cross to another tab, and running it here would not be atomic with the leader's writes.
        throw new StoreError(
          'READ_ONLY',
          `store.transaction() was refused: this tab follows the tab that leads ${this.#adapter.location}; ` +
            'run transactions in the leading tab, or use single calls, which are forwarded',
        );
      });
  }

  /**
   * The whole database now, as the bytes of a plain SQLite file (what `sqlite3` opens), without
   * a checkpoint: for a download or a backup. Works on writers, readers and following tabs
   * (their copy holds every commit they have applied). Opening the bytes as a store gives them
   * an identity of their own.
   *
   * @example
   * const bytes = await store.exportDatabase(); // Uint8Array, starts with "SQLite format 3"
   */
  exportDatabase(): Promise<Uint8Array> {
    return this.#queue.run(() => exportDatabase(this.#open(), this.#adapter.location), 'store.exportDatabase()');
  }

  /** Folds the log into a new snapshot now. */
  checkpoint(): Promise<void> {
    if (this.#tab) return this.#forward('store', 'checkpoint', []) as Promise<void>;
    return this.#queue.run(async () => {
      this.#open();
      if (this.#readOnly) throw this.#readOnlyError('store.checkpoint()');
      await this.#checkpointOrReload();
    }, 'store.checkpoint()');
  }

  /** Checkpoints, releases the lock and frees the database (a reader stops following). Later calls reject with CLOSED. */
  close(): Promise<void> {
    return this.#queue.run(async () => {
      if (this.#closed) return;
      this.#markClosed();
      this.#feed.clear();
      if (this.#retentionTimer) clearInterval(this.#retentionTimer);
      if (this.#tab) {
        this.#tab.stop();
        this.#conn.close();
        await this.#adapter.close();
        return;
      }
      if (this.#reader) {
        try {
          await this.#reader.stop();
        } finally {
          this.#conn.close();
        }
        return;
      }
      try {
        // A checkpoint being prepared from the replica ends before the lock goes (its commit, queued behind this, is dropped).
        await this.#preparing?.catch(() => undefined);
        if (this.#journal.hasLog) await this.#checkpointNow();
      } finally {
        this.#conn.close();
        await this.#checkpointReplica?.close().catch(() => undefined);
        this.#checkpointReplica = null;
        await this.#adapter.close();
      }
    }, 'store.close()');
  }

  /**
   * Catches up with the writer now and resolves with the number of commits applied. A reader
   * also catches up on its own, within 100 ms of each commit; a writer is always current (0).
   *
   * @example
   * const reader = await openStore({ adapter: fsAdapter('./agent-ops.db'), readOnly: true });
   * await reader.refresh(); // every write acknowledged before this call is visible now
   */
  refresh(): Promise<number> {
    if (this.#closed) return Promise.reject(new StoreError('CLOSED', `the store at ${this.#adapter.location} is closed`));
    if (this.#reader) return this.#reader.refresh();
    if (this.#tab) return this.#tab.refresh();
    return this.#queue.run(() => {
      this.#open();
      return 0;
    }, 'store.refresh()');
  }

  /**
   * Calls `listener` once per commit, in commit order, with the rows it inserted, updated or
   * deleted (cascaded deletes included): the store's own commits, and those a reader catches up
   * on. Returns the function that unsubscribes. What a listener throws goes to `onWarning`.
   *
   * @example
   * const off = store.subscribe(({ seq, changes, reset }) => {
   *   if (reset) reloadView(); // fell behind a checkpoint, or the schema changed: re-read
   *   else for (const { table, op, rowid } of changes) console.log(seq, table, op, rowid);
   * });
   * off();
   */
  subscribe(listener: ChangeListener): () => void {
    if (typeof listener !== 'function') throw new StoreError('INVALID_INPUT', 'subscribe needs a listener function');
    return this.#feed.subscribe(listener);
  }

  /**
   * Moves finished missions older than `olderThan` into an archive, with every row that references
   * them, then deletes them and compacts the store. Nothing is deleted unless the archive was
   * written durably and read back equal. `dryRun` only says what would move.
   *
   * @example
   * const sink = storeArchiveSink('archive.sqlite', () => openStore({ adapter: fsAdapter('archive.sqlite') }));
   * const { missions, rows } = await store.archive({ olderThan: new Date(Date.now() - 30 * 86_400_000), to: sink });
   */
  archive(options: ArchiveOptions): Promise<ArchiveResult> {
    return archiveMissions(this, options);
  }

  /**
   * Runs one retention sweep now, with `policy` or the one given to `openStore`: deletes finished
   * missions past the age or beyond the tool-call cap, in one transaction, with one cutoff from
   * the store's clock. INVALID_INPUT without a policy.
   *
   * @example
   * const { deleted } = await store.sweepRetention({ maxAgeDays: 90 });
   */
  sweepRetention(policy?: RetentionPolicy): Promise<RetentionSweep> {
    const chosen = policy === undefined ? this.#retention : requireRetention(policy);
    if (!chosen)
      return Promise.reject(new StoreError('INVALID_INPUT', 'sweepRetention needs a policy: pass one, or openStore({ retention })'));
    return sweepRetention(this, chosen, this.now());
  }

  /** A writer with a retention policy sweeps once now, then on a timer that keeps no process alive. */
  async #startRetention(): Promise<void> {
    if (!this.#retention || this.#readOnly) return;
    await this.sweepRetention();
    const every = this.#retention.sweepIntervalMs ?? 3_600_000;
    if (every === 0) return;
    const timer = setInterval(() => {
      if (this.#closed) return;
      this.sweepRetention().catch((error: unknown) => this.#warn(`retention sweep failed: ${messageOf(error)}`));
    }, every);
    (timer as { unref?: () => void }).unref?.();
    this.#retentionTimer = timer;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * After replaying a long log, checkpoints in the background, so that the next open (after
   * another crash) does not replay it again. It waits one macrotask: the calls the opener makes
   * right after `openStore` resolves are queued first and are not held up by it.
   */
  #checkpointAfterOpen(): void {
    setTimeout(() => {
      if (this.#closed || !this.#journal.hasLog) return;
      this.checkpoint().catch((error: unknown) => {
        // A close() queued before it already checkpointed: nothing was missed.
        if (!this.#closed) this.#warn(`checkpoint after replaying a long log failed: ${messageOf(error)}`);
      });
    }, 0);
  }

  /**
   * In a browser, checkpoints when the page is hidden or unloaded: the last chance a tab
   * reliably gets, so the next open replays a short log instead of a long one.
   */
  #watchPageHide(): void {
    if (typeof globalThis.addEventListener !== 'function' || !('onpagehide' in globalThis)) return;
    this.#onPageHide = () => {
      if (this.#closed || !this.#journal.hasLog) return;
      void this.checkpoint().catch((error: unknown) => this.#warn(`checkpoint on pagehide failed: ${messageOf(error)}`));
    };
    globalThis.addEventListener('pagehide', this.#onPageHide);
  }

  /** (Re)creates the change-capture triggers and notes the tables with deferred keys, after any schema change. */
  #installCapture(): void {
    this.#capture.install();
    this.#deferredKeyTables = deferredKeyTables(this.#conn);
  }

  #markClosed(): void {
    this.#closed = true;
    if (this.#onPageHide) globalThis.removeEventListener('pagehide', this.#onPageHide);
    this.#onPageHide = null;
  }

  #readOnlyError(label: string | undefined): StoreError {
    return new StoreError(
      'READ_ONLY',
      `the store at ${this.#adapter.location} is open read-only (readOnly: true): ${label ?? 'a write'} was refused`,
    );
  }

  /** A query on a reader: reads run inside a transaction that is rolled back; writes are refused. */
  /** A reader's `query` or `run`: a statement that reads runs (and is rolled back); one that writes is READ_ONLY. */
  #readStatement<R>(request: QueryRequest, label: string, run: (conn: Connection, request: QueryRequest) => R): R {
    const conn = this.#open();
    const kind = knownKind(request.sql) ?? probeQuery(conn, request);
    if (kind !== 'read') throw this.#readOnlyError(`${label} of a statement that writes`);
    conn.run('BEGIN');
    try {
      return run(conn, request);
    } finally {
      rollback(conn);
    }
  }

  #open(): Connection {
    if (this.#closed) throw new StoreError('CLOSED', `the store at ${this.#adapter.location} is closed`);
    return this.#conn;
  }

  /**
   * Runs `fn` in a transaction and resolves once its commit record is durable. The
   * transaction stays open while the record is appended (nothing else runs meanwhile), so a
   * failed append rolls it back and memory matches what is durable. With `mayChangeSchema`,
   * a transaction that changed the schema is carried by a checkpoint instead of a record.
   */
  #write<T>(fn: (conn: Connection) => Promise<T> | T, mayChangeSchema: boolean, label?: string): Promise<T> {
    return this.#queue.run(() => this.#writeNow(fn, mayChangeSchema, label), label);
  }

  /**
   * A repository write: queued like any other call, but committed together with the repository
   * writes queued right behind it (see WriteBatch), so parallel writers share one flush.
   */
  #batchedWrite<T>(fn: (conn: Connection) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const item: BatchItem = {
        run: fn,
        // A call made while a transaction callback runs may be refused as a deadlock: it commits alone.
        ticket: this.#queue.held ? -1 : this.#queue.calls,
        resolve: resolve as (value: unknown) => void,
        reject,
      };
      this.#batch.add(item);
      this.#queue
        .run(() => this.#commitBatch(this.#batch.take(item)))
        .catch((error: unknown) => {
          // Refused before its turn: no batch may take it later, or a rejected write could commit.
          if (this.#batch.drop(item)) reject(error);
        });
    });
  }

  /** Commits `items` in one transaction and one record; each resolves, or rejects on its own error. */
  async #commitBatch(items: readonly BatchItem[]): Promise<void> {
    // An earlier write's turn took this one into its batch: this turn has nothing to do (with
    // 16 writers, 15 turns of every 16; each cost a BEGIN, a size measure and a COMMIT).
    if (items.length === 0) return;
    if (items.length === 1 || this.#readOnly || this.#tab || this.#deferredKeyTables.length > 0) {
      for (const item of items) {
        try {
          item.resolve(await this.#writeNow(item.run, false));
        } catch (error) {
          item.reject(error);
        }
      }
      return;
    }
    let outcomes: Outcome[] = [];
    let changes: ChangeSet | null = null;
    let seq = 0;
    let appended = false;
    try {
      const conn = this.#open();
      conn.run('BEGIN');
      try {
        outcomes = this.#runBatch(conn, items);
        changes = this.#capture.collect();
        if (changes) {
          seq = await this.#journal.append(changes);
          appended = true;
        }
        conn.run('COMMIT');
      } catch (error) {
        rollback(conn);
        this.#capture.discard();
        if (!appended) throw error;
        // As in #writeNow: the record is durable, so the writes are; memory catches up.
        await this.#reload();
        this.#warn(`commit failed after its record was made durable; the writes were kept: ${messageOf(error)}`);
      }
    } catch (error) {
      for (const item of items) item.reject(error);
      return;
    }
    if (changes && this.#feed.active) this.#feed.emit({ seq, changes: changesOf(changes) });
    this.#scheduler.afterWrite();
    if (this.#scheduler.lagging) await turnOfEventLoop();
    items.forEach((item, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.value);
    });
  }

  /**
   * Runs a batch's writes in the open transaction; each gets its outcome. First straight
   * through, with one size measure at the end: a savepoint around each write and a measure
   * after each cost ~20 µs a write, more than a third of a tool call's CPU in a shared commit.
   * If a write throws, or the batch ends past the limit (or near it), all of it is rolled back
   * and run again with a savepoint and a measure per write, so that the one that throws, or
   * the one that crosses the limit (FULL), is undone and rejected alone. Repository writes only
   * run SQL, so running one again does the same.
   */
  #runBatch(conn: Connection, items: readonly BatchItem[]): Outcome[] {
    if (!this.#limit.nearLimit) {
      const values: unknown[] = [];
      try {
        for (const item of items) values.push(item.run(conn));
        this.#limit.check(conn);
        return values.map((value) => ({ ok: true, value }));
      } catch {
        rollback(conn);
        this.#capture.discard();
        conn.run('BEGIN');
      }
    }
    const outcomes: Outcome[] = [];
    // The size before each write is the size after the one before it (a rolled-back write
    // leaves it as it was): measured once per write, not twice.
    let size = this.#limit.sizeOf(conn);
    for (const item of items) {
      // Each write in its own savepoint: one that throws (FULL included) is undone alone and rejects alone.
      conn.run('SAVEPOINT aos_batch');
      try {
        const value = item.run(conn);
        size = this.#limit.check(conn, size);
        outcomes.push({ ok: true, value });
      } catch (error) {
        conn.rollbackTo('aos_batch');
        outcomes.push({ ok: false, value: error });
        continue;
      }
      conn.run('RELEASE aos_batch');
    }
    return outcomes;
  }

  /** The body of #write, run in its queue turn. */
  async #writeNow<T>(fn: (conn: Connection) => Promise<T> | T, mayChangeSchema: boolean, label?: string): Promise<T> {
    const conn = this.#open();
    if (this.#readOnly) throw this.#readOnlyError(label);
    if (this.#tab) throw new MustForward();
    const schemaBefore = mayChangeSchema ? conn.pragma('schema_version') : null;
    conn.run('BEGIN');
    // Inside the transaction: read outside one, it costs a transaction of its own (~25 µs a write).
    // Far from the limit, the measure after the write alone decides (see SizeLimit.nearLimit).
    const sizeBefore = this.#limit.nearLimit ? this.#limit.sizeOf(conn) : undefined;
    let result: T;
    let appended = false;
    let changes: ChangeSet | null = null;
    let seq = 0;
    try {
      // A repository write returns its value, not a promise: awaiting it would cost a turn of the microtask queue.
      const value = fn(conn);
      result = value instanceof Promise ? await value : value;
      // Refused before anything is durable: a database past the limit might not checkpoint or reopen.
      this.#limit.check(conn, sizeBefore);
      if (mayChangeSchema && conn.pragma('schema_version') !== schemaBefore) {
        journaledTables(conn);
        // The checkpoint carries this transaction's row changes too: forget them.
        this.#capture.discard();
        this.#limit.forget();
        conn.run('COMMIT');
        conn.clearStatements();
        this.#installCapture();
        await this.#checkpointOrReload(true);
        this.#feed.emit({ seq: this.#journal.lastSeq, changes: [], reset: true });
        return result;
      }
      // COMMIT would refuse a violated deferred key: refuse it while it can still roll back.
      if (this.#deferredKeyTables.length > 0) checkDeferredKeys(conn, this.#deferredKeyTables);
      changes = this.#capture.collect();
      if (changes) {
        seq = await this.#journal.append(changes);
        appended = true;
      }
      conn.run('COMMIT');
    } catch (error) {
      rollback(conn);
      this.#capture.discard();
      if (appended) {
        // Unreachable as far as the store knows (deferred keys are checked before the
        // append), but if COMMIT ever failed after the record was durable, the write is
        // durable: reload so memory holds it too, and resolve, since a rejection would claim
        // nothing changed.
        await this.#reload();
        this.#warn(`commit failed after its record was made durable; the write was kept: ${messageOf(error)}`);
        return result!;
      }
      throw error;
    }
    if (changes && this.#feed.active) this.#feed.emit({ seq, changes: changesOf(changes) });
    this.#scheduler.afterWrite();
    if (this.#scheduler.lagging) await turnOfEventLoop();
    return result;
  }

  /** One guarded statement for `query` and `run`: VACUUM on its own path, anything else as a journaled write. */
  async #statement<R>(
    sql: string,
    params: QueryParams | undefined,
    label: string,
    run: (conn: Connection, request: QueryRequest) => R,
    vacuumed: (conn: Connection) => R,
  ): Promise<R> {
    const request = queryRequest(sql, params);
    if (this.#readOnly) return this.#queue.run(() => this.#readStatement(request, label, run), label);
    if (this.#tab) {
      // A following tab reads its replica and sends anything else to the leader.
      const kind = await this.#queue.run(() => knownKind(request.sql) ?? probeQuery(this.#open(), request), label);
      if (kind === 'read') return this.#queue.run(() => this.#readStatement(request, label, run), label);
      return this.#forward('store', label === 'store.run()' ? 'run' : 'query', [sql, params]) as Promise<R>;
    }
    const kind = knownKind(request.sql) ?? (await this.#queue.run(() => probeQuery(this.#open(), request), label));
    if (kind === 'vacuum') {
      return this.#queue.run(async () => {
        const conn = this.#open();
        // SQLite refuses VACUUM while a statement is mid-way.
        conn.endHeld('VACUUM ran between its batches');
        conn.exec('VACUUM');
        this.#limit.forget();
        // VACUUM may renumber rowids of tables without an INTEGER PRIMARY KEY: only a
        // checkpoint, never a record, can carry that.
        await this.#checkpointOrReload(true);
        this.#feed.emit({ seq: this.#journal.lastSeq, changes: [], reset: true });
        return vacuumed(this.#open());
      }, label);
    }
    return this.#write((conn) => run(conn, request), true, label);
  }

  /**
   * Checkpoints in the queue's turn. `carriesChanges`: the database holds changes no record does
   * (see Journal.checkpoint), so it must be exported from this database; otherwise the replica,
   * when there is one, exports (this thread only waits).
   */
  async #checkpointNow(carriesChanges = false): Promise<void> {
    if (!carriesChanges && this.#usableReplica()) {
      try {
        await this.#checkpointFromReplica((commit) => commit(), false);
        return;
      } catch (error) {
        // The replica failed (#usableReplica drops it and warns): this thread exports instead.
        if (this.#usableReplica() || this.#closed) throw error;
      }
    }
    const bytes = this.#conn.db.export();
    await this.#journal.checkpoint(bytes, carriesChanges);
    this.#scheduler.checkpointed();
    // The adapter keeps no reference to a checkpoint's bytes once it resolved: they can move.
    if (carriesChanges || !this.#checkpointReplica) this.#seedReplica(bytes, [], true);
  }

  /**
   * A checkpoint from the replica while writes go on: its export and the adapter's preparation
   * (writing the new snapshot) run outside the queue; only the commit (renames, a short log
   * rewrite) takes a turn. The records appended meanwhile stay in the log.
   */
  #checkpointInBackground(): Promise<void> {
    return this.#checkpointFromReplica((commit) => this.#queue.run(commit, 'a checkpoint from the replica'), true);
  }

  /**
   * Exports from the replica, prepares, then commits through `inTurn` (the queue, or now when
   * already in a turn: close() too, after it marked the store closed). A `background` one gives
   * up once the store closes.
   */
  async #checkpointFromReplica(inTurn: (commit: () => Promise<void>) => Promise<void>, background: boolean): Promise<void> {
    const replica = this.#checkpointReplica!;
    const generation = this.#journal.generation;
    const preparing = (async () => {
      const { snapshot, seq, chunkHashes } = await replica.snapshot(this.#adapter.chunkBase?.());
      // A checkpoint this replica's lineage does not hold (VACUUM, a schema change) landed meanwhile.
      if ((background && this.#closed) || this.#journal.generation !== generation) return null;
      return this.#journal.prepareCheckpoint(snapshot, seq, chunkHashes && { chunkHashes });
    })();
    this.#preparing = preparing;
    let prepared: Awaited<typeof preparing>;
    try {
      prepared = await preparing;
    } finally {
      if (this.#preparing === preparing) this.#preparing = null;
    }
    if (!prepared) return;
    const ready = prepared;
    await inTurn(async () => {
      if (background && this.#closed) {
        await ready.discard();
        return;
      }
      try {
        if (await ready.commit()) this.#scheduler.checkpointed();
      } catch (error) {
        await this.#reload();
        throw error;
      }
    });
  }

  /** The size from which this store keeps a replica (Infinity where it never does). */
  #replicaMinBytes(): number {
    const adapter = this.#adapter;
    return adapter.spawnReplica && adapter.prepareCheckpoint && !this.#readOnly ? this.#workerMinBytes : Number.POSITIVE_INFINITY;
  }

  /** The replica, unless it failed: then it is dropped (with a warning) and checkpoints export here again. */
  #usableReplica(): CheckpointReplica | null {
    const replica = this.#checkpointReplica;
    if (!replica?.failure) return replica;
    this.#warn(`${messageOf(replica.failure)}; checkpoints export on this thread again`);
    this.#checkpointReplica = null;
    void replica.close().catch(() => undefined);
    return null;
  }

  /**
   * Starts (or restarts) the replica from a durable state: `snapshot` and the records that extend
   * it, once the database is at least `workerMinBytes`. `free`: nothing else uses the snapshot's
   * buffer (the database was opened from a copy of it), so it moves to the worker uncopied.
   */
  #seedReplica(snapshot: Uint8Array | null, records: readonly Uint8Array[], free: boolean): void {
    const adapter = this.#adapter;
    if (!snapshot || !adapter.spawnReplica || !adapter.prepareCheckpoint || this.#readOnly) return;
    const replica = this.#usableReplica();
    if (replica) {
      replica.reset(snapshot, records, free);
      return;
    }
    if (snapshot.length < this.#workerMinBytes) return;
    try {
      this.#checkpointReplica = new CheckpointReplica(adapter.spawnReplica(), snapshot, records, free);
    } catch (error) {
      this.#warn(`checkpoints export on this thread: ${messageOf(error)}`);
    }
  }

  /**
   * Checkpoints; on failure, reloads the durable state. A failed checkpoint may still have
   * replaced the snapshot (and its generation): records appended after it under the old
   * generation would be ignored as stale on the next open, so the journal must re-read it.
   */
  async #checkpointOrReload(carriesChanges = false): Promise<void> {
    try {
      await this.#checkpointNow(carriesChanges);
    } catch (error) {
      await this.#reload();
      throw error;
    }
  }

  /** Rebuilds the database from what the adapter holds; if even that fails, the store closes. */
  async #reload(): Promise<void> {
    try {
      const recovered = await this.#journal.recover();
      const { conn, snapshotFree, replicaSnapshot } = await buildConnection(
        recovered,
        this.#migrations,
        this.#adapter.location,
        'always',
        openRoom(recovered.snapshot?.length ?? 0, this.#journal.logBytes),
        this.#replicaMinBytes(),
      );
      this.#conn.close();
      this.#conn = conn;
      this.#limit.forget();
      this.#capture = new ChangeCapture(conn);
      this.#installCapture();
      this.#seedReplica(replicaSnapshot ?? recovered.snapshot, recovered.raw, replicaSnapshot !== null || snapshotFree);
    } catch (error) {
      this.#markClosed();
      this.#conn.close();
      await this.#adapter.close().catch(() => undefined);
      throw new StoreError(
        'IO',
        `the store at ${this.#adapter.location} could not reload its durable state and closed: ${messageOf(error)}`,
        {
          cause: error,
        },
      );
    }
  }
}

/** Resolves after one turn of the event loop (timers, I/O callbacks and messages run meanwhile). */
function turnOfEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** The default of CheckpointPolicy.workerMinBytes. */
const WORKER_MIN_BYTES = 16 << 20;

function requireWorkerMinBytes(value: number | undefined): number {
  if (value === undefined) return WORKER_MIN_BYTES;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new StoreError(
      'INVALID_INPUT',
      `checkpoint.workerMinBytes must be a number of bytes, 0 or more (or Infinity), not ${String(value)}`,
    );
  }
  return value;
}

/** A log of at least this many records is checkpointed right after the open that replayed it. */
const LONG_REPLAY_RECORDS = 1000;

/** What one write of a shared commit came to: its value, or the error it rejects with. */
interface Outcome {
  readonly ok: boolean;
  readonly value: unknown;
}

/**
 * While a log is replayed, CHECK constraints are off: every row image in it passed them when it
 * was written, and json_valid() over each JSON column was a large share of a replayed row's cost.
 */
const REPLAY_SETTINGS = 'PRAGMA ignore_check_constraints = ON';
/** Set back after the replay. */
const NORMAL_SETTINGS = 'PRAGMA ignore_check_constraints = OFF';

/**
 * Opens the snapshot, replays the records on it, and migrates; a reader ('if-empty') migrates
 * only a store that does not exist yet, in memory, so its queries find the tables. `room`: how
 * many bytes the replay and the session's writes may add, made once (withRoom, openRoom) instead
 * of by sql.js's growth steps.
 */
async function buildConnection(
  recovered: Pick<RecoveredState, 'snapshot' | 'records'>,
  migrations: readonly Migration[],
  where: string,
  migration: 'always' | 'if-empty' = 'always',
  room = 0,
  replicaMinBytes = Number.POSITIVE_INFINITY,
): Promise<{ conn: Connection; migrated: boolean; snapshotFree: boolean; replicaSnapshot: Uint8Array | null }> {
  const SQL = await loadSqlEngine();
  let conn: Connection;
  const loaded = recovered.snapshot;
  const snapshot = loaded ? withRoom(loaded, room) : loaded;
  // sql.js copies what it is given, except bytes withRoom handed over: those it keeps as they are.
  // When withRoom made them in the loaded snapshot's own buffer, that buffer is the database's now.
  const snapshotFree = !loaded || snapshot === loaded || snapshot?.buffer !== loaded.buffer;
  // The replay below then writes into the loaded bytes themselves, and a replica (which replays
  // the same records on the snapshot) must start from a copy taken before it: without one it was
  // sent the replayed file cut to the snapshot's length, "malformed", and checkpoints went back to
  // this thread for the session.
  const replicaSnapshot =
    loaded && !snapshotFree && recovered.records.length > 0 && loaded.length >= replicaMinBytes
      ? copyWithRoom(loaded, Math.max(room, replicaRoom(loaded.length, 0)))
      : null;
  try {
    conn = new Connection(snapshot ? new SQL.Database(snapshot) : new SQL.Database());
    // EXCLUSIVE: the store is the only connection, and without it sql.js re-locks the file and
    // re-validates its page cache at every transaction (~20 µs a statement instead of ~1).
    // synchronous OFF: sql.js's own file is volatile; durability comes from the journal.
    // temp_store MEMORY: the temp schema (the change capture's triggers, created at every open)
    // and temp b-trees then live in SQLite's memory, not in files of sql.js's emulated file
    // system: installing the capture took ~4× longer there, a large part of a clean open.
    // cache_spill: a transaction's changed pages stay in SQLite's cache up to 64 MiB (at 4 KiB
    // pages) instead of being spilled to the emulated file mid-transaction, which sql.js's file
    // system makes costly (a 10,000-row transaction took up to 1.9× as long with the default 2 MB).
    conn.exec(
      'PRAGMA temp_store = MEMORY; PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; ' +
        'PRAGMA recursive_triggers = ON; PRAGMA foreign_keys = OFF; PRAGMA cache_spill = 16384',
    );
    conn.all('SELECT count(*) FROM sqlite_master');
  } catch (error) {
    throw new StoreError('CORRUPT', `the snapshot at ${where} cannot be opened: ${messageOf(error)}`, { cause: error });
  }
  try {
    refuseNewerSchema(conn, migrations, `the store at ${where}`);
    if (recovered.records.length > 0) {
      conn.exec(REPLAY_SETTINGS);
      conn.exec('BEGIN');
      try {
        replayRecords(conn, recovered.records);
        conn.exec('COMMIT');
      } catch (error) {
        rollback(conn);
        if (error instanceof StoreError && error.code === 'CORRUPT') throw error;
        throw new StoreError('CORRUPT', `the log at ${where} does not apply to its snapshot: ${messageOf(error)}`, { cause: error });
      } finally {
        conn.exec(NORMAL_SETTINGS);
      }
    }
    conn.exec('PRAGMA foreign_keys = ON');
    const empty = recovered.snapshot === null && recovered.records.length === 0;
    const migrated = (migration === 'always' || empty) && migrate(conn, migrations) > 0;
    conn.clearStatements();
    return { conn, migrated, snapshotFree, replicaSnapshot };
  } catch (error) {
    conn.close();
    throw error;
  }
}

function rollback(conn: Connection): void {
  try {
    conn.exec('ROLLBACK');
  } catch {
    // SQLite already rolled back (some errors end the transaction themselves).
  }
}
