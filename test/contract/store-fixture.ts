import { afterEach, expect } from 'vitest';
import { type Migration, type OpenStoreOptions, openStore, type SQLiteStore, StoreError } from '../../src/index.js';
import type { AdapterHarness, HarnessFactory } from './harness.js';

/** The tables of the built-in schema. */
export const TABLES = ['missions', 'tool_calls', 'decisions', 'playbook_runs', 'agent_memory'] as const;

/** Every row of every table, to show that a rejected call changed nothing. */
export async function dump(store: SQLiteStore): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of TABLES) out[table] = await store.query(`SELECT * FROM ${table} ORDER BY id`);
  out.sqlite_sequence = await store.query('SELECT * FROM sqlite_sequence ORDER BY name');
  return out;
}

/** The StoreError `promise` rejects with; fails the test if it resolves or rejects otherwise. */
export async function rejection(promise: Promise<unknown>): Promise<StoreError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof StoreError)) throw new Error(`expected a StoreError, got ${String(error)}`);
  return error;
}

/** Extra options a test may pass when it opens a store. */
export type FixtureOpenOptions = Partial<Omit<OpenStoreOptions, 'adapter'>> & { migrations?: readonly Migration[] };

/** Stores on one storage location per test, closed and destroyed after each test. */
export interface StoreFixture {
  /** A fresh store on new storage, with the clock at 2026-11-28T12:00:00Z. */
  fresh(options?: FixtureOpenOptions): Promise<SQLiteStore>;
  /** Another store on the current storage (the previous one must be closed or crashed). */
  open(options?: FixtureOpenOptions): Promise<SQLiteStore>;
  /** Abandons the store as a killed process would (no close), then opens the storage again. */
  crashAndReopen(options?: FixtureOpenOptions): Promise<SQLiteStore>;
  /** Closes `store` and opens the storage again. */
  closeAndReopen(store: SQLiteStore, options?: FixtureOpenOptions): Promise<SQLiteStore>;
  /** The current storage location. */
  readonly harness: AdapterHarness;
  /** Sets the clock the stores read. */
  setNow(date: Date): void;
  /** Warnings the stores reported since the last fresh(). */
  readonly warnings: string[];
}

/** Registers afterEach clean-up and returns the fixture; call inside a describe. */
export function useStoreFixture(factory: HarnessFactory): StoreFixture {
  let harness: AdapterHarness | undefined;
  let now = new Date('2026-11-28T12:00:00.000Z');
  const stores: SQLiteStore[] = [];
  const warnings: string[] = [];
  const open = async (options: FixtureOpenOptions = {}) => {
    const store = await openStore({
      adapter: harness!.open(),
      clock: () => now,
      onWarning: (message) => warnings.push(message),
      ...options,
    });
    stores.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close().catch(() => undefined);
    await harness?.destroy();
    harness = undefined;
  });
  return {
    async fresh(options) {
      harness = await factory();
      now = new Date('2026-11-28T12:00:00.000Z');
      warnings.length = 0;
      return open(options);
    },
    open,
    async crashAndReopen(options) {
      await harness!.crash();
      return open(options);
    },
    async closeAndReopen(store, options) {
      await store.close();
      return open(options);
    },
    get harness() {
      expect(harness, 'call fresh() first').toBeDefined();
      return harness!;
    },
    setNow(date) {
      now = date;
    },
    warnings,
  };
}
