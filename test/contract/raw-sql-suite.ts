import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SQLiteStore, schemaMigrations } from '../../src/index.js';
import type { HarnessFactory } from './harness.js';
import { hostileStatement, ordinaryStatements } from './sql-variants.js';
import { dump, rejection, useStoreFixture } from './store-fixture.js';

/** What the store relies on, as raw SQL can read it; must never change. */
async function invariants(store: SQLiteStore): Promise<unknown> {
  return {
    settings: await store.query(
      'SELECT (SELECT * FROM pragma_recursive_triggers) AS recursive, (SELECT * FROM pragma_foreign_keys) AS fk, ' +
        "(SELECT * FROM pragma_locking_mode('main')) AS locking, (SELECT * FROM pragma_journal_mode('main')) AS journal, " +
        '(SELECT * FROM pragma_user_version) AS version, (SELECT * FROM pragma_writable_schema) AS writable, ' +
        '(SELECT * FROM pragma_query_only) AS query_only, (SELECT * FROM pragma_defer_foreign_keys) AS defer, ' +
        '(SELECT * FROM pragma_ignore_check_constraints) AS ignore_checks',
    ),
    // The app's own tables get capture triggers too; the store's tables' must stay, and nothing else may appear.
    temp: await store.query(
      "SELECT type, name, tbl_name FROM temp.sqlite_master WHERE tbl_name IN ('missions', 'tool_calls', 'decisions', 'playbook_runs', 'agent_memory') OR name NOT LIKE 'aos_capture_%' ORDER BY name",
    ),
    databases: await store.query('SELECT name FROM pragma_database_list ORDER BY name'),
  };
}

/**
 * Raw SQL cannot break the store: SQLite's own parser decides what a statement does, and no
 * statement can end, open or nest the transaction, attach, change user_version or a pragma the
 * store relies on, shadow a store table or touch the store's triggers, or make a rejected
 * write durable. Deferred foreign keys are checked before a record is made durable.
 */
export function rawSqlSuite(name: string, factory: HarnessFactory): void {
  describe(`raw SQL: ${name}`, () => {
    const f = useStoreFixture(factory);

    it("tx.query(';COMMIT') cannot make a rejected transaction durable", async () => {
      const store = await f.fresh();
      const m = await store.missions.create({ phase: 'P', uuid: 'm' });
      const before = await dump(store);
      const error = await rejection(
        store.transaction(async (tx) => {
          await tx.toolCalls.record({ mission: m.id, toolName: 'must-vanish', args: {}, success: true });
          await tx.query(';COMMIT');
        }),
      );
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toMatch(/transaction/);
      expect(await dump(store)).toEqual(before);
      const after = await f.crashAndReopen();
      expect(await dump(after)).toEqual(before);
    });

    it('user_version cannot be changed however the pragma is written, and the store reopens', async () => {
      const store = await f.fresh();
      await store.missions.create({ phase: 'P', uuid: 'm' });
      for (const sql of [
        'PRAGMA "user_version" = 0',
        'PRAGMA/**/user_version = 99',
        "PRAGMA 'user_version' = 3",
        'pragma main.USER_VERSION(0)',
        ' ; PRAGMA [user_version]=0',
      ]) {
        const error = await rejection(store.query(sql));
        expect(error.code, sql).toBe('INVALID_INPUT');
        expect(error.message, sql).toContain('user_version');
      }
      const reopened = await f.closeAndReopen(store);
      expect(await reopened.query('PRAGMA user_version')).toEqual([{ user_version: schemaMigrations.length }]);
      expect((await reopened.missions.get('m'))?.uuid).toBe('m');
    });

    it("the store's triggers cannot be dropped, and acknowledged writes survive a crash", async () => {
      const store = await f.fresh();
      const m = await store.missions.create({ phase: 'P' });
      for (const sql of [
        'DROP TRIGGER temp.aos_capture_tool_calls_ins',
        'drop trigger "temp"."aos_capture_tool_calls_ins"',
        'DROP TRIGGER aos_capture_missions_del',
      ]) {
        expect((await rejection(store.query(sql))).code, sql).toBe('INVALID_INPUT');
      }
      await store.toolCalls.record({ mission: m.id, toolName: 'kept', args: {}, success: true });
      const after = await f.crashAndReopen();
      expect(await after.query('SELECT tool_name FROM tool_calls')).toEqual([{ tool_name: 'kept' }]);
    });

    it('a temp object cannot shadow a store table', async () => {
      const store = await f.fresh();
      const m = await store.missions.create({ phase: 'P' });
      for (const sql of [
        'CREATE TEMP TABLE tool_calls AS SELECT * FROM main.tool_calls',
        'CREATE TEMPORARY VIEW missions AS SELECT 1 AS id',
        'CREATE TEMP TABLE scratch (x)',
      ]) {
        expect((await rejection(store.query(sql))).code, sql).toBe('INVALID_INPUT');
      }
      const call = await store.toolCalls.record({ mission: m.id, toolName: 'real', args: {}, success: true });
      expect(call.id).toBe(1);
      const reopened = await f.closeAndReopen(store);
      expect(await reopened.query('SELECT id, tool_name FROM tool_calls')).toEqual([{ id: 1, tool_name: 'real' }]);
    });

    it('ATTACH, SAVEPOINT and quoted, commented or schema-prefixed pragmas are refused, changing nothing', async () => {
      const store = await f.fresh();
      await store.missions.create({ phase: 'P' });
      const before = await invariants(store);
      for (const sql of [
        ";ATTACH ':memory:' AS x",
        ';SAVEPOINT x',
        'RELEASE x',
        'ROLLBACK TO x',
        ' -- c\n ; ; commit /* c */',
        'END TRANSACTION',
        'PRAGMA "recursive_triggers" = OFF',
        'PRAGMA main.locking_mode = NORMAL',
        'PRAGMA locking_mode = NORMAL',
        'PRAGMA [defer_foreign_keys] = ON',
        'PRAGMA ignore_check_constraints = 1',
        'PRAGMA writable_schema = ON',
        'PRAGMA query_only = 1',
        'PRAGMA journal_mode = DELETE',
        'PRAGMA application_id = 7',
        'PRAGMA schema_version = 3',
      ]) {
        expect((await rejection(store.query(sql))).code, sql).toBe('INVALID_INPUT');
        expect(await invariants(store), sql).toEqual(before);
      }
    });

    it('ordinary reads and writes keep working: SELECT, DML, CTEs, an app’s own tables, VACUUM outside a transaction', async () => {
      const store = await f.fresh();
      await store.missions.create({ phase: 'P' });
      const before = await invariants(store);
      for (const sql of ordinaryStatements) await store.query(sql);
      await store.transaction(async (tx) => {
        for (const sql of ordinaryStatements) await tx.query(sql);
      });
      await store.query('CREATE TABLE app_kept (id INTEGER PRIMARY KEY, v TEXT)');
      await store.query("INSERT INTO app_kept (v) VALUES ('x')");
      await store.query('VACUUM');
      expect((await rejection(store.transaction((tx) => tx.query('VACUUM')))).code).toBe('INVALID_INPUT');
      expect(await invariants(store)).toEqual(before);
      const after = await f.crashAndReopen();
      expect(await after.query('SELECT v FROM app_kept')).toEqual([{ v: 'x' }]);
    });

    it('a write that breaks a deferred foreign key is refused before it is durable', async () => {
      const store = await f.fresh();
      await store.query('CREATE TABLE parent (id INTEGER PRIMARY KEY)');
      await store.query(
        'CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)',
      );
      const error = await rejection(store.query('INSERT INTO child (parent_id) VALUES (42)'));
      expect(error.code).toBe('CONSTRAINT');
      expect(error.message).toContain('child');
      expect(await store.query('SELECT * FROM child')).toEqual([]);
      // Deferred means checked at the end: a transaction may insert the child first.
      await store.transaction(async (tx) => {
        await tx.query('INSERT INTO child (id, parent_id) VALUES (1, 7)');
        await tx.query('INSERT INTO parent (id) VALUES (7)');
      });
      // Deleting the parent breaks the key from the other side.
      expect((await rejection(store.query('DELETE FROM parent WHERE id = 7'))).code).toBe('CONSTRAINT');
      const after = await f.crashAndReopen();
      expect(await after.query('SELECT id, parent_id FROM child')).toEqual([{ id: 1, parent_id: 7 }]);
      expect(await after.query('SELECT id FROM parent')).toEqual([{ id: 7 }]);
      const reopened = await f.closeAndReopen(after);
      expect(await reopened.query('SELECT count(*) AS n FROM child')).toEqual([{ n: 1 }]);
    });

    it('query parameters and SQL text with a lone surrogate are refused, naming the parameter', async () => {
      const store = await f.fresh();
      const error = await rejection(store.query('SELECT ? AS v', ['x\ud800']));
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toContain('parameter 1');
      expect((await rejection(store.query("SELECT 'x\udc00' AS v"))).code).toBe('INVALID_INPUT');
      expect((await rejection(store.query('SELECT :v AS v', { ':v': '\udc01' }))).message).toContain(':v');
    });

    it('property: no variant of a hostile statement breaks the store or makes a rejected write durable', async () => {
      const store = await f.fresh();
      const m = await store.missions.create({ phase: 'P' });
      const baseline = await invariants(store);
      let acknowledged = 0;
      await fc.assert(
        fc.asyncProperty(hostileStatement, fc.boolean(), async (sql, inTransaction) => {
          if (inTransaction) {
            // The transaction writes, runs the statement, then throws: nothing of it may stay.
            await store
              .transaction(async (tx) => {
                await tx.toolCalls.record({ mission: m.id, toolName: 'rejected', args: {}, success: true });
                await tx.query(sql).catch(() => undefined);
                throw new Error('rolled back on purpose');
              })
              .catch(() => undefined);
          } else {
            await store.query(sql).catch((error: unknown) => {
              expect((error as { code?: string }).code, sql).toMatch(/^(INVALID_INPUT|SQL)$/);
            });
          }
          await store.toolCalls.record({ mission: m.id, toolName: 'acknowledged', args: {}, success: true });
          acknowledged++;
          expect(await invariants(store), sql).toEqual(baseline);
        }),
        { numRuns: 120 },
      );
      const after = await f.crashAndReopen();
      expect(await after.query("SELECT count(*) AS n FROM tool_calls WHERE tool_name = 'acknowledged'")).toEqual([{ n: acknowledged }]);
      expect(await after.query("SELECT count(*) AS n FROM tool_calls WHERE tool_name = 'rejected'")).toEqual([{ n: 0 }]);
      expect(await invariants(after)).toEqual(baseline);
    });
  });
}
