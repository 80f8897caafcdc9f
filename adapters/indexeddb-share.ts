import { messageOf, StoreError } from '../src/errors.js';
import type { LoadedState, ShareEvents, StoreShare } from '../src/persistence-adapter.js';

/** What a `TabShare` needs from its adapter: the lock and a read of the storage. */
export interface TabShareHost {
  /** Names the storage in messages, and the channel. */
  readonly location: string;
  /** How long a follower with calls waits without hearing from the leader before it takes the lock from it. */
  readonly leaderTimeoutMs: number;
  /** Takes the lock if it is free now; true when it did. */
  tryLock(): Promise<boolean>;
  /** Waits for the lock until `signal` aborts (then rejects). */
  waitLock(signal: AbortSignal): Promise<void>;
  /** Takes the lock from whoever holds it (Web Locks `steal`): the holder's later writes fail with LOCKED. */
  stealLock(): Promise<void>;
  /** The storage's state, read without the lock. */
  read(): Promise<LoadedState>;
}

/** What tabs post on the store's channel. */
type Message =
  | { readonly kind: 'record'; readonly bytes: Uint8Array }
  | { readonly kind: 'checkpoint' }
  | { readonly kind: 'leader' }
  | { readonly kind: 'ping' }
  | { readonly kind: 'pong' }
  | { readonly kind: 'call'; readonly id: string; readonly from: string; readonly call: unknown }
  | { readonly kind: 'reply'; readonly id: string; readonly to: string; readonly reply: unknown };

interface Pending {
  readonly call: unknown;
  resolve(reply: unknown): void;
  reject(error: unknown): void;
}

/**
 * The tabs of an origin sharing one IndexedDB store: a BroadcastChannel named after the store
 * carries the leader's durable records and checkpoints to followers, and followers' calls to the
 * leader and its replies back; the Web Lock of the store decides who leads. A follower queues
 * for the lock at once, so when the leader's tab closes, crashes or is discarded, the browser
 * hands the lock to the follower that asked first. A leader that is frozen (or hung) keeps its
 * lock: a follower whose calls go unanswered, and whose pings too, for `leaderTimeoutMs` takes
 * the lock from it (the adapter's epoch keeps the old leader from writing after that).
 *
 * @example
 * const share = new TabShare(host);
 * if (!(await share.tryLead())) share.listen({ record, checkpoint, leader });
 */
export class TabShare implements StoreShare {
  readonly #host: TabShareHost;
  readonly #channel: BroadcastChannel;
  readonly #self = randomId();
  readonly #pending = new Map<string, Pending>();
  /** Aborted to stop queueing for the lock: on close, or to take the lock from a silent leader instead. */
  readonly #waiting = new AbortController();
  /** When this tab last heard the leader (any message it sends), or began waiting on it. */
  #lastHeard = 0;
  #watchdog: ReturnType<typeof setInterval> | null = null;
  #events: ShareEvents | null = null;
  #handler: ((call: unknown) => Promise<unknown>) | null = null;
  #closed = false;

  constructor(host: TabShareHost) {
    this.#host = host;
    this.#channel = new BroadcastChannel(host.location);
    this.#channel.onmessage = (event: MessageEvent<Message>) => this.#receive(event.data);
  }

  tryLead(): Promise<boolean> {
    return this.#host.tryLock();
  }

  async lead(): Promise<void> {
    try {
      await this.#host.waitLock(this.#waiting.signal);
    } catch (error) {
      // Stopped queueing because the leader went silent (not because this tab closed): take the lock.
      if (this.#closed || !this.#waiting.signal.aborted) throw error;
      await this.#host.stealLock();
    }
  }

  read(): Promise<LoadedState> {
    return this.#host.read();
  }

  listen(events: ShareEvents): void {
    this.#events = events;
  }

  serve(handler: (call: unknown) => Promise<unknown>): void {
    this.#events = null;
    this.#handler = handler;
    this.#stopWatchdog();
    // Calls this tab forwarded to a leader that died: this tab answers them now.
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      handler(pending.call).then(pending.resolve, pending.reject);
    }
    this.#post({ kind: 'leader' });
  }

  forward(call: unknown): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (this.#handler) return this.#handler(call);
    const id = randomId();
    return new Promise((resolve, reject) => {
      try {
        this.#post({ kind: 'call', id, from: this.#self, call });
      } catch (error) {
        reject(new StoreError('INVALID_INPUT', `a call to another tab must be structured-clonable: ${messageOf(error)}`, { cause: error }));
        return;
      }
      this.#pending.set(id, { call, resolve, reject });
      this.#startWatchdog();
    });
  }

  /** The lock was taken from this leader: it answers and announces nothing more (followers resend to the new one). */
  deposed(): void {
    this.#handler = null;
  }

  /** Tells followers of a record the leader's append just made durable. */
  published(bytes: Uint8Array): void {
    if (this.#handler) this.#post({ kind: 'record', bytes });
  }

  /** Tells followers the leader replaced the snapshot. */
  checkpointed(): void {
    if (this.#handler) this.#post({ kind: 'checkpoint' });
  }

  /** Leaves the channel, stops queueing for the lock, and fails calls still unanswered with CLOSED. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopWatchdog();
    this.#waiting.abort();
    this.#channel.close();
    for (const pending of this.#pending.values()) pending.reject(this.#closedError());
    this.#pending.clear();
  }

  #receive(message: Message): void {
    if (this.#closed) return;
    if (message.kind !== 'call' && message.kind !== 'ping') this.#lastHeard = Date.now();
    switch (message.kind) {
      case 'ping':
        if (this.#handler) this.#post({ kind: 'pong' });
        break;
      case 'pong':
        break;
      case 'record':
        this.#events?.record(message.bytes);
        break;
      case 'checkpoint':
        this.#events?.checkpoint();
        break;
      case 'leader':
        this.#events?.leader();
        // The old leader may have taken calls it never answered: the new one gets them again.
        for (const [id, pending] of this.#pending) this.#post({ kind: 'call', id, from: this.#self, call: pending.call });
        break;
      case 'call': {
        const handler = this.#handler;
        if (!handler) break;
        // Deposed meanwhile: the outcome may be a LOCKED this leader cannot vouch for; the caller resends to the new leader.
        const reply = (value: unknown) => {
          if (this.#handler === handler) this.#post({ kind: 'reply', id: message.id, to: message.from, reply: value });
        };
        // The store's handler turns every failure into reply data; a rejection here is a bug to surface.
        handler(message.call).then(reply, (error: unknown) => reply({ ok: false, error: { code: 'IO', message: String(error) } }));
        break;
      }
      case 'reply': {
        if (message.to !== this.#self) break;
        const pending = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        pending?.resolve(message.reply);
        break;
      }
    }
  }

  /** While this tab follows and waits on calls: pings the leader, and takes the lock once it stays silent for leaderTimeoutMs. */
  #startWatchdog(): void {
    if (this.#watchdog !== null || this.#handler) return;
    // Waiting starts now: an old silence (no writes for a while) is not the leader's fault.
    this.#lastHeard = Date.now();
    this.#watchdog = setInterval(() => this.#checkLeader(), Math.max(25, this.#host.leaderTimeoutMs / 4));
    this.#post({ kind: 'ping' });
  }

  #checkLeader(): void {
    if (this.#closed || this.#handler || this.#pending.size === 0) {
      this.#stopWatchdog();
      return;
    }
    if (Date.now() - this.#lastHeard < this.#host.leaderTimeoutMs) {
      this.#post({ kind: 'ping' });
      return;
    }
    // Frozen or hung: stop queueing behind it, which makes lead() take the lock (see lead()).
    this.#stopWatchdog();
    this.#waiting.abort();
  }

  #stopWatchdog(): void {
    if (this.#watchdog !== null) clearInterval(this.#watchdog);
    this.#watchdog = null;
  }

  #post(message: Message): void {
    if (!this.#closed) this.#channel.postMessage(message);
  }

  #closedError(): StoreError {
    return new StoreError('CLOSED', `the store at ${this.#host.location} is closed in this tab`);
  }
}

function randomId(): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
