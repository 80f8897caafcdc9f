import { AgentMemoryRepository } from './agent-memory.js';
import type { Connection, Row } from './connection.js';
import { DecisionRepository } from './decisions.js';
import { StoreError } from './errors.js';
import type { Executor } from './executor.js';
import { MissionRepository } from './missions.js';
import { PlaybookRunRepository } from './playbook-runs.js';
import { type QueryParams, type QueryRequest, queryRequest, type RunResult, runQuery, runStatement } from './raw-query.js';
import { type IterateOptions, RowIterator } from './row-iterator.js';
import { SerialQueue } from './serial-queue.js';
import { ToolCallRepository } from './tool-calls.js';
import { describe } from './validate.js';

/** The repositories a `store.transaction` callback works with, all inside one transaction. */
export interface StoreTransaction {
  readonly missions: MissionRepository;
  readonly toolCalls: ToolCallRepository;
  readonly decisions: DecisionRepository;
  readonly playbookRuns: PlaybookRunRepository;
  readonly memory: AgentMemoryRepository;
  /** Runs one SQL statement inside the transaction; its rows typed as `T`. */
  query<T = Row>(sql: string, params?: QueryParams): Promise<T[]>;
  /** Runs one SQL statement inside the transaction and says what it changed, as `store.run` does. */
  run(sql: string, params?: QueryParams): Promise<RunResult>;
  /**
   * Streams the rows of one read, as `store.iterate` does; no other caller's write can run
   * before the transaction ends, so the rows reflect one state (plus this transaction's own
   * writes made between batches). The statement is freed when the transaction ends.
   */
  iterate<T = Row>(sql: string, params?: QueryParams, options?: IterateOptions): AsyncIterableIterator<T>;
  /**
   * Runs `fn` as a nested transaction (a savepoint): its changes join this transaction when it
   * resolves, and only they are undone when it throws, which rethrows.
   *
   * @example
   * await tx.transaction(async (tx2) => { await tx2.memory.set(m.id, 'draft', text); });
   */
  transaction<T>(fn: (tx: StoreTransaction) => Promise<T> | T): Promise<T>;
}

/** A transaction callback, at any depth. */
export type TransactionCallback<T> = (tx: StoreTransaction) => Promise<T> | T;

/** How long a store call waits behind a transaction callback that makes no tx call before DEADLOCK. */
export const DEFAULT_DEADLOCK_TIMEOUT_MS = 5000;

// setTimeout's largest delay; a longer one fires at once.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The `deadlockTimeoutMs` option, checked: INVALID_INPUT unless a positive number of ms up to 2^31 - 1. */
export function requireDeadlockTimeout(value: unknown): number {
  if (value === undefined) return DEFAULT_DEADLOCK_TIMEOUT_MS;
  if (typeof value !== 'number' || !(value > 0) || value > MAX_TIMER_MS) {
    throw new StoreError(
      'INVALID_INPUT',
      `deadlockTimeoutMs must be a number of milliseconds from 1 to ${MAX_TIMER_MS}, got ${describe(value)}`,
    );
  }
  return value;
}

/**
 * Queues every store call, runs transactions, nests them as savepoints, and refuses the calls
 * that would wait forever for the transaction callback they were made from.
 *
 * A store call made inside `store.transaction(fn)` queues behind the transaction, which waits
 * for `fn`, which waits for the call. Two checks break that cycle, and only while a callback
 * is running (other calls pay nothing):
 * - on V8 (Node, Chromium) the call's async stack shows whether it runs inside the callback:
 *   then it is refused at once;
 * - otherwise a call queued while the callback runs is refused once the callback has made no
 *   tx call for `deadlockTimeoutMs`, as that callback may be waiting for it.
 *
 * @example
 * const runner = new TransactionRunner({ deadlockTimeoutMs: 5000, now: () => new Date() });
 * await runner.transaction(async (tx) => tx.missions.list(), (body) => write(body));
 */
export class TransactionRunner {
  readonly #gate: Gate;
  readonly #now: () => Date;
  #calls = 0;

  constructor(options: { readonly deadlockTimeoutMs: number; readonly now: () => Date }) {
    this.#gate = new Gate({ bound: options.deadlockTimeoutMs, caller: 'store', parent: null });
    this.#now = options.now;
  }

  /** Queues a store call behind every earlier one; `label` names it in a DEADLOCK message. */
  run<T>(task: () => Promise<T> | T, label?: string): Promise<T> {
    this.#calls++;
    return this.#gate.run(task, label);
  }

  /** How many calls were ever queued: two writes whose counts follow each other have nothing queued between them. */
  get calls(): number {
    return this.#calls;
  }

  /** True while a transaction callback runs: calls made now may be refused as deadlocks. */
  get held(): boolean {
    return this.#gate.held;
  }

  /** The repository as the store hands it out: each method call is named for the deadlock check. */
  expose<R extends object>(repository: R, name: string): R {
    return this.#gate.expose(repository, `store.${name}`);
  }

  /**
   * Runs `fn` with a tx inside the transaction that `begin` opens (the store's write path:
   * BEGIN, the body, the durable commit), through this runner's queue.
   */
  transaction<T>(fn: TransactionCallback<T>, begin: (body: (conn: Connection) => Promise<T>) => Promise<T>): Promise<T> {
    if (typeof fn !== 'function') return Promise.reject(new StoreError('INVALID_INPUT', 'transaction needs a function'));
    return this.#gate.naming('store', 'transaction', () =>
      begin(async (conn) => {
        const scope = new TransactionScope(conn, this.#gate, 1, this.#now);
        try {
          return await this.#gate.hold(fn, scope.tx);
        } finally {
          scope.end();
        }
      }),
    );
  }
}

/** A queued call; one that returns a promise calls `done` once it has ended. */
type GateTask<T> = (done: () => void) => Promise<T> | T;

/** A call waiting behind a running callback, refused if that callback goes idle too long. */
interface Waiter {
  readonly label: string | undefined;
  readonly since: number;
  refused: boolean;
  refuse(error: StoreError): void;
}

/** A transaction callback that is running and holds a gate: calls to that gate wait for it. */
interface Hold {
  /** The name of the method that runs the callback, which V8 shows in async stacks. */
  readonly marker: string;
  readonly invoker: Readonly<Record<string, (fn: TransactionCallback<unknown>, tx: StoreTransaction) => Promise<unknown>>>;
  lastActivity: number;
  readonly waiters: Set<Waiter>;
  timer: ReturnType<typeof setTimeout> | undefined;
}

let holds = 0;

/**
 * Where calls of one level queue: the store's own calls (level 0), or a tx's calls while a
 * nested `tx.transaction()` callback of that tx runs. A gate is held while such a callback
 * runs; it guards the calls that reach it meanwhile.
 */
class Gate {
  // The store's own queue; a tx gate queues with #tail instead.
  readonly #queue = new SerialQueue();
  readonly #bound: number;
  readonly #caller: 'store' | 'tx';
  readonly #parent: Gate | null;
  #hold: Hold | null = null;
  // A tx's calls run at once when nothing is queued, as they did before nesting existed, so a
  // tx call that is not awaited still runs inside its transaction.
  #pending = 0;
  // Settles when the last task of a tx gate has ended: the next one queues behind it.
  #tail: Promise<void> = Promise.resolve();
  // The call being made right now, named by `expose` or `naming`; already checked when set.
  #naming: string | undefined;

  constructor(options: { readonly bound: number; readonly caller: 'store' | 'tx'; readonly parent: Gate | null }) {
    this.#bound = options.bound;
    this.#caller = options.caller;
    this.#parent = options.parent;
  }

  /** True while a transaction callback holds this gate. */
  get held(): boolean {
    return this.#hold !== null;
  }

  /** A child gate for the calls of a tx whose parent's calls queue here. */
  child(): Gate {
    return new Gate({ bound: this.#bound, caller: 'tx', parent: this });
  }

  /** Runs `call` named `<prefix>.<method>()` for `run`; refuses it at once if it comes from the callback holding this gate. */
  naming<T>(prefix: string, method: string, call: () => Promise<T>): Promise<T> {
    const hold = this.#hold;
    if (!hold) return call();
    const label = `${prefix}.${method}()`;
    if (calledFrom(hold)) return Promise.reject(this.#deadlock(label, null));
    const outer = this.#naming;
    this.#naming = label;
    try {
      return call();
    } finally {
      this.#naming = outer;
    }
  }

  /** `repository` with each method named `<prefix>.<method>()` for the deadlock check. */
  expose<R extends object>(repository: R, prefix: string): R {
    const exposed = Object.create(exposedPrototype(Object.getPrototypeOf(repository))) as R & Exposed;
    exposed[EXPOSED] = { repository, gate: this, prefix };
    return exposed;
  }

  /** Queues `task` (a tx's call runs at once when nothing is queued); guarded while the gate is held. */
  run<T>(task: GateTask<T>, label?: string): Promise<T> {
    const hold = this.#hold;
    if (hold) {
      const named = label ?? this.#naming;
      if (this.#naming === undefined && calledFrom(hold)) return Promise.reject(this.#deadlock(named, null));
      return this.#wait(hold, task, named);
    }
    return this.#start(task);
  }

  /** Runs `fn(tx)` holding this gate: calls that reach it meanwhile wait, or are refused as deadlocks. */
  async hold<T>(fn: TransactionCallback<T>, tx: StoreTransaction): Promise<T> {
    // A name per callback, so that a stale async stack of an earlier callback never matches.
    const marker = `aosTransaction${++holds}Callback`;
    const hold: Hold = {
      marker,
      // An object-literal method: its name shows in V8's async stack frames and survives minifiers.
      invoker: {
        async [marker](callback: TransactionCallback<unknown>, scope: StoreTransaction): Promise<unknown> {
          return await callback(scope);
        },
      },
      lastActivity: performance.now(),
      waiters: new Set(),
      timer: undefined,
    };
    this.#hold = hold;
    try {
      return (await hold.invoker[marker]!(fn, tx)) as T;
    } finally {
      this.#hold = null;
      clearTimeout(hold.timer);
      // The callback has ended, so the transaction will: those still queued simply wait.
      hold.waiters.clear();
    }
  }

  /** Notes that a tx call started or finished, here and in every enclosing transaction. */
  touch(): void {
    if (this.#hold) this.#hold.lastActivity = performance.now();
    this.#parent?.touch();
  }

  #start<T>(task: GateTask<T>): Promise<T> {
    if (this.#parent === null) return this.#queue.run(() => task(() => undefined));
    // Nothing but the caller may react to the promise it gets: V8's async stack walk stops at
    // a promise with two reactions, and a store call inside a nested callback would then be
    // refused only after the bound. So the queue follows `done`, not the task's promise.
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    let ended = false;
    const done = () => {
      if (ended) return;
      ended = true;
      this.#pending--;
      finish();
    };
    const start = (): Promise<T> | T => {
      this.#parent?.touch();
      let value: Promise<T> | T;
      try {
        value = task(done);
      } catch (error) {
        done();
        throw error;
      }
      // A task that returns a promise (a nested transaction) calls done itself when it ends.
      if (!(value instanceof Promise)) done();
      return value;
    };
    const previous = this.#tail;
    this.#tail = finished;
    if (this.#pending++ > 0) return previous.then(start);
    try {
      return Promise.resolve(start());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #wait<T>(hold: Hold, task: GateTask<T>, label: string | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        label,
        since: performance.now(),
        refused: false,
        refuse(error) {
          waiter.refused = true;
          reject(error);
        },
      };
      hold.waiters.add(waiter);
      this.#arm(hold);
      // A refused call keeps its place in the queue but does nothing when its turn comes.
      this.#start((done) => (waiter.refused ? (undefined as T) : task(done))).then(resolve, reject);
    });
  }

  /** Sets the hold's timer for its earliest waiter's deadline. */
  #arm(hold: Hold): void {
    if (hold.timer !== undefined || hold.waiters.size === 0) return;
    let due = Number.POSITIVE_INFINITY;
    for (const waiter of hold.waiters) due = Math.min(due, Math.max(hold.lastActivity, waiter.since) + this.#bound);
    hold.timer = setTimeout(
      () => {
        hold.timer = undefined;
        this.#expire(hold);
      },
      Math.max(0, Math.ceil(due - performance.now())),
    );
  }

  /** Refuses the waiters whose callback has been idle for the bound since they queued. */
  #expire(hold: Hold): void {
    if (this.#hold !== hold) return;
    const now = performance.now();
    for (const waiter of hold.waiters) {
      if (now - Math.max(hold.lastActivity, waiter.since) < this.#bound) continue;
      hold.waiters.delete(waiter);
      waiter.refuse(this.#deadlock(waiter.label, this.#bound));
    }
    this.#arm(hold);
  }

  #deadlock(label: string | undefined, idleMs: number | null): StoreError {
    const holder = `${this.#caller}.transaction()`;
    const what = label ?? `a ${this.#caller} method`;
    const method = label?.slice(this.#caller.length + 1);
    let advice: string;
    if (this.#caller === 'store') {
      advice =
        label === 'store.close()' || label === 'store.checkpoint()'
          ? `call ${label} after the transaction ends`
          : `use ${method ? `tx.${method}` : 'tx'} inside a transaction`;
    } else {
      advice = `use the tx that ${holder} passes to its callback${method ? ` (its .${method})` : ''}`;
    }
    if (idleMs === null) return new StoreError('DEADLOCK', `${what} was called inside ${holder} and would wait for it forever: ${advice}`);
    return new StoreError(
      'DEADLOCK',
      `${what} waited ${idleMs} ms behind a ${holder} whose callback made no tx call meanwhile, so it may have been ` +
        `called inside that callback and would wait for it forever: ${advice} (deadlockTimeoutMs sets the wait)`,
    );
  }
}

const EXPOSED = Symbol('exposed');

/** What an exposed repository's methods need: the repository, and where its calls are checked. */
interface Exposed {
  [EXPOSED]: { readonly repository: object; readonly gate: Gate; readonly prefix: string };
}

// Built once per repository class, not per transaction: a transaction makes five repositories.
const exposedPrototypes = new WeakMap<object, object>();

/** A prototype whose methods name each call (`missions.create`) and pass it to the repository. */
function exposedPrototype(prototype: object): object {
  const cached = exposedPrototypes.get(prototype);
  if (cached) return cached;
  const exposed = Object.create(prototype) as object;
  for (const [key, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(prototype))) {
    const method: unknown = descriptor.value;
    if (key === 'constructor' || typeof method !== 'function') continue;
    // A method named like the original, so stacks still read `MissionRepository.create`.
    const named = {
      [key](this: Exposed, ...args: unknown[]): unknown {
        const { repository, gate, prefix } = this[EXPOSED];
        // Outside transactions, the check costs this one test.
        if (!gate.held) return method.apply(repository, args);
        return gate.naming(prefix, key, () => method.apply(repository, args));
      },
    };
    Object.defineProperty(exposed, key, { value: named[key], configurable: true, writable: true });
  }
  exposedPrototypes.set(prototype, exposed);
  return exposed;
}

/** True when the running code was called, through any chain of awaits, from the hold's callback. */
function calledFrom(hold: Hold): boolean {
  const E = Error as unknown as { stackTraceLimit?: number; prepareStackTrace?: unknown };
  // V8 keeps 10 frames by default, and a custom formatter (source maps) may drop names.
  const limit = E.stackTraceLimit;
  const prepare = E.prepareStackTrace;
  if (typeof limit === 'number') E.stackTraceLimit = Number.POSITIVE_INFINITY;
  if (prepare !== undefined) E.prepareStackTrace = undefined;
  try {
    return new Error().stack?.includes(hold.marker) ?? false;
  } finally {
    if (typeof limit === 'number') E.stackTraceLimit = limit;
    if (prepare !== undefined) E.prepareStackTrace = prepare;
  }
}

/**
 * The tx of one transaction level: its repositories run inside the open transaction, each call
 * in its own savepoint, and `tx.transaction()` opens the next level as a savepoint.
 */
class TransactionScope {
  readonly tx: StoreTransaction;
  readonly #conn: Connection;
  readonly #depth: number;
  readonly #now: () => Date;
  readonly #gate: Gate;
  #active = true;

  constructor(conn: Connection, parent: Gate, depth: number, now: () => Date) {
    this.#conn = conn;
    this.#depth = depth;
    this.#now = now;
    this.#gate = parent.child();
    const gate = this.#gate;
    const exec: Executor = {
      // A read changes nothing, so it needs no savepoint; nor does a write of one statement.
      read: (work) => gate.run(() => this.#inside(work, false)),
      write: (work, options) => gate.run(() => this.#inside(work, options?.oneStatement !== true)),
      now: () => this.#now(),
    };
    this.tx = {
      missions: gate.expose(new MissionRepository(exec), 'tx.missions'),
      toolCalls: gate.expose(new ToolCallRepository(exec), 'tx.toolCalls'),
      decisions: gate.expose(new DecisionRepository(exec), 'tx.decisions'),
      playbookRuns: gate.expose(new PlaybookRunRepository(exec), 'tx.playbookRuns'),
      memory: gate.expose(new AgentMemoryRepository(exec), 'tx.memory'),
      query: (sql, params) => {
        let request: QueryRequest;
        try {
          request = queryRequest(sql, params);
        } catch (error) {
          return Promise.reject(error);
        }
        // runQuery refuses VACUUM here: it cannot run inside a transaction.
        return gate.run(() => this.#inside((c) => runQuery(c, request)), 'tx.query()') as Promise<never[]>;
      },
      run: (sql, params) => {
        let request: QueryRequest;
        try {
          request = queryRequest(sql, params);
        } catch (error) {
          return Promise.reject(error);
        }
        return gate.run(() => this.#inside((c) => runStatement(c, request)), 'tx.run()');
      },
      iterate: (sql, params, options) =>
        new RowIterator(
          // Already inside the transaction: the opening turn needs no BEGIN of its own.
          { label: 'tx.iterate()', owner: this, read: (fn) => gate.run(() => this.#inside(fn), 'tx.iterate()') },
          sql,
          params,
          options,
        ),
      transaction: <T>(fn: TransactionCallback<T>) => {
        if (typeof fn !== 'function') return Promise.reject(new StoreError('INVALID_INPUT', 'transaction needs a function'));
        return gate.run((done) => this.#nested(fn, done), 'tx.transaction()');
      },
    };
  }

  /** Ends this level: a kept tx rejects with CLOSED from now on, and its iterators' statements are freed. */
  end(): void {
    this.#active = false;
    this.#conn.endHeld('its transaction ended', this);
  }

  #inside<R>(work: (conn: Connection) => R, savepoint = true): R {
    this.#ensureActive();
    if (!savepoint) return work(this.#conn);
    // A savepoint per call: a failed call inside the transaction leaves no partial change.
    this.#conn.run('SAVEPOINT aos_call');
    try {
      const result = work(this.#conn);
      this.#conn.run('RELEASE aos_call');
      return result;
    } catch (error) {
      this.#conn.rollbackTo('aos_call');
      throw error;
    }
  }

  async #nested<T>(fn: TransactionCallback<T>, done: () => void): Promise<T> {
    try {
      return await this.#savepoint(fn);
    } finally {
      done();
    }
  }

  async #savepoint<T>(fn: TransactionCallback<T>): Promise<T> {
    this.#ensureActive();
    // One name per depth: nested transactions of one tx run one at a time (the gate queues
    // them), so each level has at most one open savepoint.
    const savepoint = `aos_nested_${this.#depth}`;
    this.#conn.run(`SAVEPOINT ${savepoint}`);
    const scope = new TransactionScope(this.#conn, this.#gate, this.#depth + 1, this.#now);
    try {
      const result = await this.#gate.hold(fn, scope.tx);
      this.#conn.run(`RELEASE ${savepoint}`);
      return result;
    } catch (error) {
      this.#conn.rollbackTo(savepoint);
      throw error;
    } finally {
      scope.end();
      this.#gate.touch();
    }
  }

  #ensureActive(): void {
    if (this.#active) return;
    throw new StoreError(
      'CLOSED',
      this.#depth === 1
        ? 'this transaction has ended; use the store, not a kept tx'
        : 'this nested transaction has ended; use the tx of the transaction around it, not a kept tx',
    );
  }
}
