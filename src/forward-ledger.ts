import { StoreError } from './errors.js';
import type { QueryParams, RunResult } from './raw-query.js';
import type { ForwardedCall } from './tab-follower.js';
import type { StoreTransaction } from './transaction-runner.js';

/** The table where the leading tab notes each forwarded write it applied, in that write's own commit. */
export const LEDGER_TABLE = 'aos_forwarded_writes';

/** Forwarded writes remembered; a retry comes within seconds of its first try, far fewer writes later. */
const KEPT = 1000;

/** The repositories a forwarded call may name. */
const REPOSITORIES = new Set(['missions', 'toolCalls', 'decisions', 'playbookRuns', 'memory']);

/** What the ledger needs from the leading store. */
export interface LedgerStore {
  query<T = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<T[]>;
  run(sql: string, params?: QueryParams): Promise<RunResult>;
  transaction<T>(fn: (tx: StoreTransaction) => Promise<T> | T): Promise<T>;
}

/**
 * Applies forwarded writes at most once. Each runs in one transaction with a row naming its id
 * and its result: a write retried after a takeover (the old leader may have committed it and died
 * before answering) finds its row, in the snapshot or the log the new leader loaded, and gets the
 * original result back without being applied again. A write that failed left no row and changed
 * nothing, so its retry simply runs again.
 *
 * @example
 * const ledger = new ForwardLedger(store);
 * const mission = await ledger.apply({ id, target: 'missions', method: 'create', args: [{ phase: 'PLANNING' }] });
 */
export class ForwardLedger {
  readonly #store: LedgerStore;
  #ready = false;

  constructor(store: LedgerStore) {
    this.#store = store;
  }

  /** Runs `call` once per id; a repeated id resolves with the first run's result (as JSON, bigints kept). */
  async apply(call: ForwardedCall): Promise<unknown> {
    const perform = operation(call);
    if (!this.#ready) {
      // Made by the first forwarded write, so a store no tab shares never has the table. Looked up
      // first: the statement guard refuses CREATE TABLE IF NOT EXISTS of a table that exists.
      const exists = await this.#store.query(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`, [LEDGER_TABLE]);
      if (exists.length === 0) await this.#store.run(`CREATE TABLE ${LEDGER_TABLE} (id TEXT PRIMARY KEY, outcome TEXT NOT NULL)`);
      this.#ready = true;
    }
    return this.#store.transaction(async (tx) => {
      const seen = await tx.query<{ outcome: string }>(`SELECT outcome FROM ${LEDGER_TABLE} WHERE id = ?`, [call.id]);
      if (seen[0]) return decodeOutcome(seen[0].outcome);
      const value = await perform(tx);
      await tx.run(`INSERT INTO ${LEDGER_TABLE} (id, outcome) VALUES (?, ?)`, [call.id, encodeOutcome(value)]);
      await tx.run(`DELETE FROM ${LEDGER_TABLE} WHERE rowid <= (SELECT max(rowid) FROM ${LEDGER_TABLE}) - ?`, [KEPT]);
      return value;
    });
  }
}

/** The forwarded call as something to run on a tx; INVALID_INPUT when it names no such method. */
function operation(call: ForwardedCall): (tx: StoreTransaction) => Promise<unknown> {
  const args = Array.isArray(call.args) ? call.args : [];
  if (call.target === 'store' && (call.method === 'query' || call.method === 'run')) {
    const method = call.method;
    return (tx) => tx[method](args[0] as string, args[1] as QueryParams | undefined);
  }
  if (REPOSITORIES.has(call.target)) {
    return (tx) => {
      const repository = tx[call.target as keyof StoreTransaction] as unknown as Record<string, unknown>;
      const method = repository[call.method];
      if (typeof method !== 'function' || call.method === 'constructor' || call.method in Object.prototype) {
        throw new StoreError('INVALID_INPUT', `a forwarded call names ${call.target}.${call.method}, which is not a method`);
      }
      return Promise.resolve(method.apply(repository, args));
    };
  }
  throw new StoreError('INVALID_INPUT', `a forwarded call names ${call.target}.${call.method}, which cannot be forwarded`);
}

function encodeOutcome(value: unknown): string {
  return JSON.stringify({ value }, (_key, v: unknown) => (typeof v === 'bigint' ? { $bigint: v.toString() } : v));
}

function decodeOutcome(text: string): unknown {
  return (
    JSON.parse(text, (_key, v: unknown) =>
      v !== null && typeof v === 'object' && typeof (v as { $bigint?: unknown }).$bigint === 'string'
        ? BigInt((v as { $bigint: string }).$bigint)
        : v,
    ) as { value?: unknown }
  ).value;
}
