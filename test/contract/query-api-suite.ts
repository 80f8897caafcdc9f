import { describe, expect, it } from 'vitest';
import type { Row, SQLiteStore } from '../../src/index.js';
import type { HarnessFactory } from './harness.js';
import { dump, rejection, useStoreFixture } from './store-fixture.js';

/** A table of `n` numbered rows, made through store.run. */
async function numbers(store: SQLiteStore, n: number): Promise<void> {
  await store.run('CREATE TABLE nums (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)');
  await store.run(
    'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) INSERT INTO nums (id, v) SELECT i, i FROM n',
    [n],
  );
}

/** Every value the iterator gives, as numbers from column `id`. */
async function ids(rows: AsyncIterable<Row>): Promise<number[]> {
  const out: number[] = [];
  for await (const row of rows) out.push(Number(row.id));
  return out;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * The query API: `query<T>`, `run`, `iterate` (on the store and on tx), paging of every list
 * method, and `track()` options: `queryApiSuite('memory (Node)', memoryHarness)`.
 */
export function queryApiSuite(name: string, factory: HarnessFactory): void {
  describe(`query API: ${name}`, () => {
    const f = useStoreFixture(factory);

    it('query<T> and tx.query<T> type their rows', async () => {
      const store = await f.fresh();
      await store.missions.create({ phase: 'P', uuid: 'm' });
      const rows: { uuid: string; n: number }[] = await store.query<{ uuid: string; n: number }>(
        'SELECT mission_uuid AS uuid, 1 AS n FROM missions',
      );
      expect(rows).toEqual([{ uuid: 'm', n: 1 }]);
      const inTx = await store.transaction((tx) => tx.query<{ phase: string }>('SELECT phase FROM missions'));
      expect(inTx[0]!.phase).toBe('P');
    });

    it('run gives changes and lastInsertRowid, journals the write, and a crash keeps it', async () => {
      const store = await f.fresh();
      expect(await store.run('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)')).toEqual({ changes: 0, lastInsertRowid: 0 });
      expect(await store.run('INSERT INTO notes (text) VALUES (?), (?)', ['a', 'b'])).toEqual({ changes: 2, lastInsertRowid: 2 });
      expect(await store.run('UPDATE notes SET text = upper(text)')).toEqual({ changes: 2, lastInsertRowid: 2 });
      // A statement that changes nothing reports 0, not the count of the UPDATE before it.
      expect((await store.run('SELECT * FROM notes')).changes).toBe(0);
      expect((await store.run('UPDATE notes SET text = ? WHERE id = 99', ['x'])).changes).toBe(0);
      const m = await store.missions.create({ phase: 'P' });
      expect(await store.run('DELETE FROM missions WHERE id = ?', [m.id])).toMatchObject({ changes: 1 });
      // A number while exact; a bigint beyond 2^53 - 1.
      const big = 2n ** 60n + 1n;
      expect(await store.run('INSERT INTO notes (id, text) VALUES (?, ?)', [big, 'big'])).toEqual({ changes: 1, lastInsertRowid: big });
      const safe = await store.run('INSERT INTO notes (id, text) VALUES (?, ?)', [Number.MAX_SAFE_INTEGER, 'max']);
      expect(safe.lastInsertRowid).toBe(Number.MAX_SAFE_INTEGER);
      expect(await store.run('VACUUM')).toMatchObject({ changes: 0 });
      const after = await f.crashAndReopen();
      expect(await after.query('SELECT text FROM notes ORDER BY id')).toEqual([
        { text: 'A' },
        { text: 'B' },
        { text: 'max' },
        { text: 'big' },
      ]);
      expect(await after.missions.get(m.id)).toBeUndefined();
    });

    it('run goes through the SQL guard, and tx.run joins its transaction', async () => {
      const store = await f.fresh();
      const before = await dump(store);
      for (const sql of ['BEGIN', 'PRAGMA user_version = 7', "ATTACH ':memory:' AS x", 'CREATE TEMP TABLE t (x)']) {
        expect((await rejection(store.run(sql))).code, sql).toBe('INVALID_INPUT');
      }
      expect(await dump(store)).toEqual(before);
      const error = await rejection(
        store.transaction(async (tx) => {
          const m = await tx.missions.create({ phase: 'P', uuid: 'gone' });
          expect(await tx.run('UPDATE missions SET phase = ? WHERE id = ?', ['Q', m.id])).toEqual({ changes: 1, lastInsertRowid: m.id });
          await tx.run('VACUUM');
        }),
      );
      expect(error.code).toBe('INVALID_INPUT');
      expect(await dump(store)).toEqual(before);
    });

    it('iterate streams every row in batches, and other calls run between batches', async () => {
      const store = await f.fresh();
      await numbers(store, 1000);
      const seen: number[] = [];
      for await (const row of store.iterate<{ id: number; v: number }>('SELECT id, v FROM nums WHERE v > ?', [0])) {
        seen.push(row.id);
        // The store is not held while the loop body runs: a write here would otherwise wait forever.
        if (row.id === 300) await store.missions.create({ phase: 'P', uuid: 'between' });
      }
      expect(seen).toEqual(range(1, 1000));
      expect((await store.missions.get('between'))?.uuid).toBe('between');
      expect(await ids(store.iterate('SELECT id FROM nums WHERE id <= 7', [], { batchSize: 2 }))).toEqual(range(1, 7));
      expect(await ids(store.iterate('SELECT id FROM nums WHERE id > 5000'))).toEqual([]);
    });

    it('iterate: each batch is consistent; writes between batches are seen ahead of the scan, never behind it', async () => {
      const store = await f.fresh();
      await numbers(store, 10);
      const it = store.iterate<{ id: number }>('SELECT id FROM nums', [], { batchSize: 3 });
      const seen: number[] = [];
      for (let i = 0; i < 3; i++) seen.push((await it.next()).value!.id);
      // Behind the scan: a new row 0 and a moved row 2 are not seen again; ahead: 5 is gone, 20 comes.
      await store.run('INSERT INTO nums (id, v) VALUES (0, 0), (20, 20)');
      await store.run('DELETE FROM nums WHERE id = 5');
      await store.run('UPDATE nums SET v = -1 WHERE id = 2');
      for await (const row of it) seen.push(row.id);
      expect(seen).toEqual([1, 2, 3, 4, 6, 7, 8, 9, 10, 20]);
    });

    it('iterate: breaking out early frees the statement and leaves the store free', async () => {
      const store = await f.fresh();
      await numbers(store, 600);
      const it = store.iterate<{ id: number }>('SELECT id FROM nums');
      for await (const row of it) if (row.id === 10) break;
      expect(await it.next()).toEqual({ done: true, value: undefined });
      // An abandoned (not broken) iterator is ended by a schema change instead, and says so.
      const paused = store.iterate<{ id: number }>('SELECT id FROM nums');
      expect((await paused.next()).value).toEqual({ id: 1 });
      await store.run('DROP TABLE nums');
      expect(await dump(store)).toBeTruthy();
      // Its batch of 256 is in hand; the next one reports the end.
      let error: unknown;
      try {
        for await (const _ of paused);
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'CLOSED', message: expect.stringMatching(/schema change/) });
      await store.close();
    });

    it('iterate: an error mid-way rejects, frees the statement, and the store goes on', async () => {
      const store = await f.fresh();
      const sql =
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) SELECT i AS id, CASE WHEN i < 300 THEN i ELSE json('{') END AS v FROM n";
      const it = store.iterate(sql);
      const seen: number[] = [];
      const error = await rejection(
        (async () => {
          for await (const row of it) seen.push(Number(row.id));
        })(),
      );
      expect(error.code).toBe('SQL');
      expect(error.message).toMatch(/json/i);
      expect(seen).toEqual(range(1, 256));
      expect(await it.next()).toEqual({ done: true, value: undefined });
      expect(await store.query('SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    });

    it('iterate refuses a statement that writes, with INVALID_INPUT, and bad options', async () => {
      const store = await f.fresh();
      await store.missions.create({ phase: 'P', uuid: 'm' });
      const before = await dump(store);
      for (const sql of [
        "INSERT INTO missions (mission_uuid, phase, status, created_at) VALUES ('x', 'P', 'pending', '2026')",
        'DELETE FROM missions',
        "UPDATE missions SET phase = 'Q' RETURNING id",
        'CREATE TABLE t (x)',
        'VACUUM',
        'BEGIN',
      ]) {
        const error = await rejection(store.iterate(sql).next());
        expect(error.code, sql).toBe('INVALID_INPUT');
      }
      expect((await rejection(store.iterate('DELETE FROM missions').next())).message).toMatch(/reads only/);
      expect(await dump(store)).toEqual(before);
      expect((await rejection(store.iterate('SELECT 1', [], { batchSize: 0 }).next())).message).toMatch(/batchSize/);
      expect((await rejection(store.iterate('').next())).code).toBe('INVALID_INPUT');
    });

    it('tx.iterate sees one state with the transaction’s own writes, and ends with it; store.iterate inside is DEADLOCK', async () => {
      const store = await f.fresh();
      await numbers(store, 5);
      let kept: AsyncIterableIterator<Row> | undefined;
      const seen = await store.transaction(async (tx) => {
        await tx.run('INSERT INTO nums (id, v) VALUES (6, 6)');
        const out = await ids(tx.iterate('SELECT id FROM nums', [], { batchSize: 2 }));
        kept = tx.iterate('SELECT id FROM nums', [], { batchSize: 2 });
        await kept.next();
        expect((await rejection(store.iterate('SELECT 1').next())).code).toBe('DEADLOCK');
        return out;
      });
      expect(seen).toEqual(range(1, 6));
      await kept!.next();
      expect((await rejection(kept!.next())).code).toBe('CLOSED');
    });

    it('iterate on a store that closes meanwhile rejects with CLOSED', async () => {
      const store = await f.fresh();
      await numbers(store, 10);
      const it = store.iterate('SELECT id FROM nums', [], { batchSize: 2 });
      await it.next();
      await it.next();
      await store.close();
      expect((await rejection(it.next())).code).toBe('CLOSED');
    });

    it('every list method pages with limit and offset in a stable order', async () => {
      const store = await f.fresh();
      const m = await store.missions.create({ phase: 'P', uuid: 'm' });
      // One clock reading for all: ties are broken by id.
      for (let i = 0; i < 5; i++) {
        await store.toolCalls.record({ mission: m.id, toolName: `t${i}`, args: {}, success: true });
        await store.decisions.record({ mission: m.id, decisionType: `d${i}`, rationale: '', agentName: 'a' });
        await store.playbookRuns.start({ mission: m.id, playbookName: `p${i}`, phase: 'P' });
        await store.memory.set(m.id, `k${i}`, i);
      }
      expect((await store.toolCalls.list({ mission: 'm', limit: 2, offset: 1 })).map((c) => c.toolName)).toEqual(['t1', 't2']);
      expect((await store.toolCalls.list({ offset: 4 })).map((c) => c.toolName)).toEqual(['t4']);
      expect((await store.decisions.history('m', { limit: 2, offset: 3 })).map((d) => d.decisionType)).toEqual(['d3', 'd4']);
      expect((await store.playbookRuns.list(m.id, { limit: 1 })).map((r) => r.playbookName)).toEqual(['p0']);
      expect(await store.memory.entries('m', { limit: 2, offset: 2 })).toEqual({ k2: 2, k3: 3 });
      expect(await store.memory.entries('m', { limit: 0 })).toEqual({});
      // The forms without options are unchanged.
      expect(await store.decisions.history('m')).toHaveLength(5);
      expect(await store.playbookRuns.list('m')).toHaveLength(5);
      expect(Object.keys(await store.memory.entries('m'))).toHaveLength(5);
      for (const [call, field] of [
        [() => store.toolCalls.list({ limit: -1 }), 'limit'],
        [() => store.decisions.history('m', { offset: 1.5 }), 'offset'],
        [() => store.playbookRuns.list('m', { limit: '2' as unknown as number }), 'limit'],
        [() => store.memory.entries('m', { offset: Number.NaN }), 'offset'],
        [() => store.missions.list({ limit: Number.POSITIVE_INFINITY }), 'limit'],
      ] as const) {
        const error = await rejection(call());
        expect(error.code).toBe('INVALID_INPUT');
        expect(error.message.startsWith(field)).toBe(true);
      }
      expect((await rejection(store.memory.entries('m', null as never))).code).toBe('INVALID_INPUT');
    });

    it('track takes { agentName, timestamp } last, checks them before the tool runs, and keeps the positional form', async () => {
      const store = await f.fresh();
      const m = await store.missions.create({ phase: 'P' });
      expect(await store.toolCalls.track(m.id, 'plain', {}, () => 1)).toBe(1);
      await store.toolCalls.track(m.id, 'named', {}, () => 2, { agentName: 'coder', timestamp: '2026-01-02T03:04:05Z' });
      await rejection(
        store.toolCalls.track(
          m.id,
          'fails',
          {},
          () => {
            throw new Error('boom');
          },
          { agentName: 'coder' },
        ),
      ).catch(() => undefined);
      const calls = await store.toolCalls.list({ mission: m.id });
      expect(calls.map((c) => [c.toolName, c.agentName, c.timestamp])).toEqual([
        ['named', 'coder', '2026-01-02 03:04:05.000Z'],
        ['plain', null, '2026-11-28 12:00:00.000Z'],
        ['fails', 'coder', '2026-11-28 12:00:00.000Z'],
      ]);
      let ran = false;
      const tool = () => {
        ran = true;
      };
      for (const [options, field] of [
        [{ agentName: '' }, 'agentName'],
        [{ timestamp: 'yesterday' }, 'timestamp'],
        ['coder', 'options'],
      ] as const) {
        const error = await rejection(store.toolCalls.track(m.id, 'x', {}, tool, options as never));
        expect(error.code).toBe('INVALID_INPUT');
        expect(error.message).toContain(field);
      }
      expect(ran).toBe(false);
    });
  });
}
