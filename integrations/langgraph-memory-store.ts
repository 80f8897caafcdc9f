import {
  BaseStore,
  type GetOperation,
  type Item,
  type ListNamespacesOperation,
  type MatchCondition,
  type Operation,
  type OperationResults,
  type PutOperation,
  type SearchItem,
  type SearchOperation,
} from '@langchain/langgraph-checkpoint';
import { formatTimestamp, MAX_TIMESTAMP, type SQLiteStore, StoreError, type StoreTransaction } from 'agent-ops-store';
import { sameValue } from './langgraph-checkpoint-saver.js';

/** How long items live, in the spirit of LangGraph Platform's store TTL. */
export interface AgentOpsMemoryStoreOptions {
  /** Minutes an item lives after it is put; forever when omitted. */
  readonly defaultTtl?: number;
  /** Whether reading an item (get, search) starts its time to live again. Default: true. */
  readonly refreshOnRead?: boolean;
}

interface ItemRow {
  readonly namespace: string;
  readonly key: string;
  readonly value: string;
  readonly created_at: string;
  readonly updated_at: string;
  readonly ttl_minutes: number | null;
}

const COLUMNS = 'namespace, key, value, created_at, updated_at, ttl_minutes';

/**
 * A LangGraph `BaseStore` (long-term memory) on agent-ops-store: items live in the store's file
 * beside the audit trail. Each `batch` (and so each `get`, `put`, `search`, `delete`) is one
 * transaction, one durable write when it changes anything. With `defaultTtl`, items expire by
 * the store's clock (`openStore({ clock })`) and are invisible from then on; `sweepExpired()`
 * deletes them. Search filters compare top-level fields (equality, or `$eq`, `$ne`, `$gt`,
 * `$gte`, `$lt`, `$lte`, `$in`, `$nin`); a semantic `query` is not supported.
 *
 * @example
 * const memory = new AgentOpsMemoryStore(store, { defaultTtl: 60 * 24 });
 * await memory.put(['users', 'u1'], 'prefs', { theme: 'dark' });
 * await memory.search(['users'], { filter: { theme: 'dark' } });
 * const graph = builder.compile({ checkpointer, store: memory });
 */
export class AgentOpsMemoryStore extends BaseStore {
  readonly #store: SQLiteStore;
  readonly #ttl: number | null;
  readonly #refreshOnRead: boolean;

  constructor(store: SQLiteStore, options: AgentOpsMemoryStoreOptions = {}) {
    super();
    if (!store || typeof store.transaction !== 'function' || typeof store.now !== 'function') {
      throw new StoreError('INVALID_INPUT', 'AgentOpsMemoryStore needs an open store from openStore()');
    }
    const { defaultTtl, refreshOnRead = true } = options ?? {};
    if (defaultTtl !== undefined && !(typeof defaultTtl === 'number' && Number.isFinite(defaultTtl) && defaultTtl > 0)) {
      throw new StoreError(
        'INVALID_INPUT',
        `AgentOpsMemoryStore: defaultTtl must be a positive number of minutes, got ${String(defaultTtl)}`,
      );
    }
    this.#store = store;
    this.#ttl = defaultTtl ?? null;
    this.#refreshOnRead = refreshOnRead === true;
  }

  /** Runs the operations in order, in one transaction: a later one sees an earlier one's put. */
  async batch<Op extends Operation[]>(operations: Op): Promise<OperationResults<Op>> {
    if (!Array.isArray(operations)) throw new StoreError('INVALID_INPUT', 'batch takes an array of operations');
    return this.#store.transaction(async (tx) => {
      const now = this.#store.now();
      const results: unknown[] = [];
      for (const op of operations) results.push(await this.#run(tx, op, now));
      return results as OperationResults<Op>;
    });
  }

  /** Deletes every expired item now; resolves to how many. */
  async sweepExpired(): Promise<number> {
    const { changes } = await this.#store.run('DELETE FROM langgraph_store_items WHERE expires_at IS NOT NULL AND expires_at <= ?', [
      formatTimestamp(this.#store.now()),
    ]);
    return changes;
  }

  async #run(tx: StoreTransaction, op: Operation, now: Date): Promise<unknown> {
    if (op === null || typeof op !== 'object') throw new StoreError('INVALID_INPUT', 'a batch operation must be an object');
    if ('namespacePrefix' in op) return this.#search(tx, op, now);
    if ('matchConditions' in op || ('limit' in op && !('namespace' in op)))
      return this.#listNamespaces(tx, op as ListNamespacesOperation, now);
    if ('value' in op) return this.#put(tx, op as PutOperation, now);
    if ('namespace' in op && 'key' in op) return this.#get(tx, op, now);
    throw new StoreError('INVALID_INPUT', `unknown batch operation with fields ${Object.keys(op).join(', ')}`);
  }

  async #get(tx: StoreTransaction, op: GetOperation, now: Date): Promise<Item | null> {
    const namespace = namespaceText(op.namespace, 'get');
    const [row] = await tx.query<ItemRow>(`SELECT ${COLUMNS} FROM langgraph_store_items WHERE namespace = ? AND key = ? AND ${LIVE}`, [
      namespace,
      keyText(op.key, 'get'),
      formatTimestamp(now),
    ]);
    if (!row) return null;
    await this.#refresh(tx, [row], now);
    return item(row);
  }

  async #put(tx: StoreTransaction, op: PutOperation, now: Date): Promise<void> {
    const namespace = namespaceText(op.namespace, 'put');
    const key = keyText(op.key, 'put');
    if (op.value === null) {
      await tx.run('DELETE FROM langgraph_store_items WHERE namespace = ? AND key = ?', [namespace, key]);
      return;
    }
    if (typeof op.value !== 'object' || Array.isArray(op.value)) {
      throw new StoreError('INVALID_INPUT', `put: the value of '${key}' must be an object (or null to delete it)`);
    }
    let value: string;
    try {
      value = JSON.stringify(op.value);
    } catch (error) {
      throw new StoreError(
        'INVALID_INPUT',
        `put: the value of '${key}' is not JSON: ${error instanceof Error ? error.message : String(error)}`,
        {
          cause: error,
        },
      );
    }
    const at = formatTimestamp(now);
    // An expired item put again starts over: its creation time is the new put's.
    await tx.run(
      `INSERT INTO langgraph_store_items (namespace, key, value, created_at, updated_at, ttl_minutes, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
         created_at = CASE WHEN expires_at IS NOT NULL AND expires_at <= excluded.updated_at THEN excluded.created_at ELSE created_at END,
         ttl_minutes = excluded.ttl_minutes, expires_at = excluded.expires_at`,
      [namespace, key, value, at, at, this.#ttl, expiry(now, this.#ttl)],
    );
  }

  async #search(tx: StoreTransaction, op: SearchOperation, now: Date): Promise<SearchItem[]> {
    const prefix = labels(op.namespacePrefix, 'search', true);
    const limit = count(op.limit ?? 10, 'limit');
    const offset = count(op.offset ?? 0, 'offset');
    const filters = op.filter ? Object.entries(op.filter) : [];
    const params: (string | number)[] = [formatTimestamp(now)];
    let where = LIVE;
    if (prefix.length > 0) {
      // The stored JSON of a namespace under ["a","b"] is '["a","b"]' itself or starts with '["a","b",'.
      const exact = JSON.stringify(prefix);
      const stem = `${exact.slice(0, -1)},`;
      where += ' AND (namespace = ? OR substr(namespace, 1, length(?)) = ?)';
      params.push(exact, stem, stem);
    }
    let sql = `SELECT ${COLUMNS} FROM langgraph_store_items WHERE ${where} ORDER BY namespace, key`;
    // Without a filter the page is cut in SQL; a filter is judged on the parsed value, so the page is cut after it.
    if (filters.length === 0) {
      sql += ' LIMIT ? OFFSET ?';
      params.push(limit, offset);
    }
    let rows = await tx.query<ItemRow>(sql, params);
    if (filters.length > 0) {
      rows = rows
        .filter((row) => {
          const value = JSON.parse(row.value) as Record<string, unknown>;
          return filters.every(([field, wanted]) => matches(value[field], wanted));
        })
        .slice(offset, offset + limit);
    }
    await this.#refresh(tx, rows, now);
    return rows.map(item);
  }

  async #listNamespaces(tx: StoreTransaction, op: ListNamespacesOperation, now: Date): Promise<string[][]> {
    const limit = count(op.limit ?? 100, 'limit');
    const offset = count(op.offset ?? 0, 'offset');
    const conditions = op.matchConditions ?? [];
    const maxDepth = op.maxDepth === undefined ? undefined : count(op.maxDepth, 'maxDepth');
    const rows = await tx.query<{ namespace: string }>(`SELECT DISTINCT namespace FROM langgraph_store_items WHERE ${LIVE}`, [
      formatTimestamp(now),
    ]);
    const seen = new Map<string, string[]>();
    for (const { namespace } of rows) {
      const parsed = JSON.parse(namespace) as string[];
      if (!conditions.every((condition) => matchesCondition(condition, parsed))) continue;
      const shown = maxDepth === undefined ? parsed : parsed.slice(0, maxDepth);
      seen.set(JSON.stringify(shown), shown);
    }
    return [...seen.values()].sort((a, b) => compareLabels(a.join(':'), b.join(':'))).slice(offset, offset + limit);
  }

  /** Starts the time to live of items just read again, when the store refreshes on read. */
  async #refresh(tx: StoreTransaction, rows: readonly ItemRow[], now: Date): Promise<void> {
    if (!this.#refreshOnRead) return;
    for (const row of rows) {
      if (row.ttl_minutes === null) continue;
      await tx.run('UPDATE langgraph_store_items SET expires_at = ? WHERE namespace = ? AND key = ?', [
        expiry(now, row.ttl_minutes),
        row.namespace,
        row.key,
      ]);
    }
  }
}

/** The condition on expiry every read adds; its one parameter is now. */
const LIVE = '(expires_at IS NULL OR expires_at > ?)';

function item(row: ItemRow): Item {
  return {
    namespace: JSON.parse(row.namespace) as string[],
    key: row.key,
    value: JSON.parse(row.value) as Record<string, unknown>,
    createdAt: new Date(row.created_at.replace(' ', 'T')),
    updatedAt: new Date(row.updated_at.replace(' ', 'T')),
  };
}

/** When an item put (or refreshed) now with `ttl` minutes expires; past the latest time the store writes, it is clamped there. */
function expiry(now: Date, ttl: number | null): string | null {
  if (ttl === null) return null;
  const at = now.getTime() + ttl * 60_000;
  return at >= Date.parse(MAX_TIMESTAMP.replace(' ', 'T')) ? MAX_TIMESTAMP : formatTimestamp(new Date(at));
}

function labels(namespace: unknown, method: string, allowEmpty = false): string[] {
  if (!Array.isArray(namespace) || (!allowEmpty && namespace.length === 0)) {
    throw new StoreError('INVALID_INPUT', `${method}: a namespace must be a non-empty array of labels`);
  }
  for (const label of namespace) {
    if (typeof label !== 'string' || label === '') {
      throw new StoreError(
        'INVALID_INPUT',
        `${method}: namespace labels must be non-empty strings, got ${JSON.stringify(label) ?? typeof label}`,
      );
    }
  }
  return namespace as string[];
}

function namespaceText(namespace: unknown, method: string): string {
  return JSON.stringify(labels(namespace, method));
}

function keyText(key: unknown, method: string): string {
  if (typeof key !== 'string' || key === '') throw new StoreError('INVALID_INPUT', `${method}: key must be a non-empty string`);
  return key;
}

function count(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new StoreError('INVALID_INPUT', `${field} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

/** Namespaces in code point order of their joined labels, so the order is the same in every runtime and locale. */
function compareLabels(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function matchesCondition(condition: MatchCondition, namespace: readonly string[]): boolean {
  const { matchType, path } = condition;
  if (path.length > namespace.length) return false;
  const start = matchType === 'suffix' ? namespace.length - path.length : 0;
  if (matchType !== 'prefix' && matchType !== 'suffix')
    throw new StoreError('INVALID_INPUT', `unknown namespace match type '${String(matchType)}'`);
  return path.every((label, i) => label === '*' || label === namespace[start + i]);
}

const OPERATORS = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin']);

/** Whether a field's value meets a filter's condition: a value to equal, or an object of operators. */
function matches(actual: unknown, wanted: unknown): boolean {
  const ops = wanted !== null && typeof wanted === 'object' && !Array.isArray(wanted) ? Object.entries(wanted) : [];
  if (ops.length === 0 || !ops.every(([op]) => OPERATORS.has(op))) return sameValue(actual, wanted);
  return ops.every(([op, operand]) => {
    switch (op) {
      case '$eq':
        return sameValue(actual, operand);
      case '$ne':
        return !sameValue(actual, operand);
      case '$gt':
        return Number(actual) > Number(operand);
      case '$gte':
        return Number(actual) >= Number(operand);
      case '$lt':
        return Number(actual) < Number(operand);
      case '$lte':
        return Number(actual) <= Number(operand);
      case '$in':
        return Array.isArray(operand) && operand.some((candidate) => sameValue(actual, candidate));
      default:
        return !Array.isArray(operand) || !operand.some((candidate) => sameValue(actual, candidate));
    }
  });
}
