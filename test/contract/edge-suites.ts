import { exportSuite } from './export-suite.js';
import { groupCommitSuite } from './group-commit-suite.js';
import type { HarnessFactory } from './harness.js';
import { identitySuite } from './identity-suite.js';
import { queryApiSuite } from './query-api-suite.js';
import { rawSqlSuite } from './raw-sql-suite.js';
import { readerSuite } from './reader-suite.js';
import { sizeLimitSuite } from './size-limit-suite.js';
import { textAndInputSuite } from './text-and-input-suite.js';
import { transactionSuite } from './transaction-suite.js';

/**
 * The edge cases of "nothing acknowledged is ever lost": hostile text, raw SQL, foreign logs,
 * nested transactions, extreme times, odd inputs, the size limit. Each topic is its own suite file; every
 * adapter runner calls this once, so each runs on every adapter in every runtime. `readers`:
 * whether the adapter opens readers (`openReader`); IndexedDB tabs share a store instead.
 */
export function edgeSuites(name: string, factory: HarnessFactory, capabilities: { readonly readers: boolean } = { readers: true }): void {
  rawSqlSuite(name, factory);
  textAndInputSuite(name, factory);
  identitySuite(name, factory);
  transactionSuite(name, factory);
  queryApiSuite(name, factory);
  exportSuite(name, factory);
  readerSuite(name, factory, capabilities);
  groupCommitSuite(name, factory);
  sizeLimitSuite(name, factory);
}
