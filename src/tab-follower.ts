import { StoreError, type StoreErrorCode } from './errors.js';
import type { Follower } from './follower.js';
import type { StoreShare } from './persistence-adapter.js';

/**
 * A write a following tab sends to the leading one: a repository method (`missions.create`) or a
 * store method (`store.query`, `store.run`, `store.checkpoint`) with its arguments, which must be
 * structured-clonable. `id` names the write across retries, so it is never applied twice.
 */
export interface ForwardedCall {
  readonly id: string;
  readonly target: string;
  readonly method: string;
  readonly args: readonly unknown[];
}

/** The leader's answer: the call's result and the commit that made it durable, or its error as data. */
export type ForwardedReply =
  | { readonly ok: true; readonly value: unknown; readonly seq: number }
  | { readonly ok: false; readonly error: { readonly code?: string; readonly name?: string; readonly message: string } };

/** Thrown inside a following store where a write would start, so the call is sent to the leader instead. */
export class MustForward extends Error {
  constructor() {
    super('this tab follows: the write goes to the leading tab');
    this.name = 'MustForward';
  }
}

/** What a `TabFollower` needs from its store. */
export interface TabFollowerHost {
  /** Names the storage in messages. */
  readonly location: string;
  readonly share: StoreShare;
  /** Keeps the store's replica; applies the records the leader broadcasts. */
  readonly follower: Follower;
  /** Runs `task` after the store's pending calls, never alongside one. */
  enqueue<T>(task: () => Promise<T> | T, label: string): Promise<T>;
  /** Where failures of catch-ups nobody awaited are reported. */
  readonly warn: (message: string) => void;
}

/**
 * The following side of tabs that share one store: applies the commits the leading tab
 * broadcasts to this tab's replica (re-reading the storage on a gap, a checkpoint or a new
 * leader), and sends this tab's writes to the leader, resolving them once the replica holds
 * them, with the leader's result or its StoreError rebuilt.
 *
 * @example
 * const tab = new TabFollower(host);
 * tab.attach();
 * const mission = await tab.forward({ id, target: 'missions', method: 'create', args: [{ phase: 'PLANNING' }] });
 */
export class TabFollower {
  readonly #host: TabFollowerHost;
  #attached = false;
  /** Something arrived before the store could apply it: catch up from the storage on attach. */
  #missed = false;
  #failing = false;
  /** Set once this tab leads: its database is no longer a replica. */
  #stopped = false;

  constructor(host: TabFollowerHost) {
    this.#host = host;
    // Listening starts before the first read, so no commit falls between the two.
    host.share.listen({
      record: (bytes) => this.#onRecord(bytes),
      checkpoint: () => this.#onResync(),
      leader: () => this.#onResync(),
    });
  }

  /** Starts applying what the leader broadcasts, after the store's first load. */
  attach(): void {
    this.#attached = true;
    if (this.#missed) this.#onResync();
  }

  /** Stops applying the leader's commits: this tab leads now, or closed. */
  stop(): void {
    this.#stopped = true;
  }

  /** Reads the storage now and applies what the replica lacks; resolves with how many commits it moved forward. */
  refresh(): Promise<number> {
    return this.#host.enqueue(() => this.#resync(), 'store.refresh()');
  }

  /** Sends `call` to the leader; resolves with its result once this tab's replica holds the commit, or rejects with its error. */
  async forward(call: ForwardedCall): Promise<unknown> {
    const reply = (await this.#host.share.forward(call)) as ForwardedReply;
    if (!reply.ok) throw rebuildError(reply.error);
    // The record usually came before the reply (one channel, in order); after a takeover it may not have.
    await this.#host.enqueue(async () => {
      if (!this.#stopped && this.#host.follower.seq < reply.seq) await this.#resync();
    }, `${call.target}.${call.method}()`);
    return reply.value;
  }

  #onRecord(bytes: Uint8Array): void {
    if (!this.#attached) {
      this.#missed = true;
      return;
    }
    this.#background(async () => {
      if (!this.#stopped && this.#host.follower.apply([bytes]) === 'behind') await this.#resync();
    });
  }

  #onResync(): void {
    if (!this.#attached) {
      this.#missed = true;
      return;
    }
    this.#background(() => this.#resync());
  }

  async #resync(): Promise<number> {
    if (this.#stopped) return 0;
    return this.#host.follower.resync(await this.#host.share.read());
  }

  #background(task: () => Promise<unknown>): void {
    this.#host
      .enqueue(task, 'a catch-up with the leading tab')
      .then(() => {
        this.#failing = false;
      })
      .catch((error: unknown) => {
        // A closed store stops catching up; a failure is told once per streak, the next commit retries.
        if (error instanceof StoreError && error.code === 'CLOSED') return;
        if (this.#failing) return;
        this.#failing = true;
        this.#host.warn(`the tab following ${this.#host.location} could not catch up (it retries at the next commit): ${String(error)}`);
      });
  }
}

/** An error as data, for the reply to a forwarded call. */
export function errorData(error: unknown): Extract<ForwardedReply, { ok: false }>['error'] {
  if (error instanceof StoreError) return { code: error.code, name: error.name, message: error.message };
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { message: String(error) };
}

/** The error a forwarded call failed with, rebuilt in the tab that made the call: a StoreError with its code when it was one. */
export function rebuildError(data: Extract<ForwardedReply, { ok: false }>['error']): Error {
  if (data.code) return new StoreError(data.code as StoreErrorCode, data.message);
  const error = new Error(data.message);
  if (data.name) error.name = data.name;
  return error;
}

/**
 * `repository` as a following tab hands it out: a method runs here (reads are served by the
 * replica, and arguments are checked here, with the same errors) until it would write; then the
 * whole call goes to the leader through `forward`.
 */
export function forwardingRepository<R extends object>(
  repository: R,
  target: string,
  forward: (target: string, method: string, args: unknown[]) => Promise<unknown>,
): R {
  return new Proxy(repository, {
    get(object, key, receiver) {
      const value: unknown = Reflect.get(object, key, receiver);
      if (typeof key !== 'string' || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const retry = (error: unknown) => (error instanceof MustForward ? forward(target, key, args) : Promise.reject(error));
        try {
          const result: unknown = value.apply(object, args);
          return result instanceof Promise ? result.catch(retry) : result;
        } catch (error) {
          return retry(error);
        }
      };
    },
  });
}
