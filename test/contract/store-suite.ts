import { afterEach, describe, expect, it } from 'vitest';
import { type Migration, openStore, type SQLiteStore, type StoreError, schemaMigrations } from '../../src/index.js';
import type { AdapterHarness, HarnessFactory } from './harness.js';
import { dump, rejection, TABLES } from './store-fixture.js';

/**
 * The store's behaviour, the same on every adapter and runtime:
 * `storeSuite('fs', () => fsHarness())`.
 */
export function storeSuite(name: string, factory: HarnessFactory): void {
  describe(`store: ${name}`, () => {
    let harness: AdapterHarness;
    let now: Date;
    const stores: SQLiteStore[] = [];
    const open = async (options: { migrations?: readonly Migration[] } = {}) => {
      const store = await openStore({ adapter: harness.open(), clock: () => now, onWarning: () => undefined, ...options });
      stores.push(store);
      return store;
    };
    /** A fresh store on new storage. */
    const fresh = async () => {
      harness = await factory();
      now = new Date('2026-11-28T12:00:00.000Z');
      return open();
    };
    /** Abandons `store` as a killed process would (no close), then opens the storage again. */
    const crashAndReopen = async (_store: SQLiteStore) => {
      await harness.crash();
      return open();
    };
    const closeAndReopen = async (store: SQLiteStore) => {
      await store.close();
      return open();
    };
    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close().catch(() => undefined);
      await harness?.destroy();
    });

    describe('missions', () => {
      it('creates, gets by id and by uuid, and lists with filters', async () => {
        const store = await fresh();
        const a = await store.missions.create({ phase: 'PLANNING', uuid: 'abc-123', metadata: { goal: 'ship', tags: ['x'] } });
        const b = await store.missions.create({ phase: 'CODING' });
        expect(a).toMatchObject({
          uuid: 'abc-123',
          phase: 'PLANNING',
          status: 'pending',
          completedAt: null,
          metadata: { goal: 'ship', tags: ['x'] },
        });
        expect(a.createdAt).toBe('2026-11-28 12:00:00.000Z');
        expect(b.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(await store.missions.get(a.id)).toEqual(a);
        expect(await store.missions.get('abc-123')).toEqual(a);
        expect(await store.missions.get('nope')).toBeUndefined();
        await store.missions.setStatus(b.id, 'in_progress');
        expect((await store.missions.list()).map((m) => m.id)).toEqual([a.id, b.id]);
        expect((await store.missions.list({ status: 'in_progress' })).map((m) => m.id)).toEqual([b.id]);
        expect((await store.missions.list({ phase: 'PLANNING' })).map((m) => m.id)).toEqual([a.id]);
        expect((await store.missions.list({ limit: 1, offset: 1 })).map((m) => m.id)).toEqual([b.id]);
      });

      it('refuses a uuid that is taken, with CONFLICT, and writes nothing', async () => {
        const store = await fresh();
        await store.missions.create({ phase: 'PLANNING', uuid: 'abc-123' });
        const before = await dump(store);
        const error = await rejection(store.missions.create({ phase: 'CODING', uuid: 'abc-123' }));
        expect(error.code).toBe('CONFLICT');
        expect(error.message).toContain('abc-123');
        expect(await dump(store)).toEqual(before);
      });

      it('follows the lifecycle and stamps completed_at on terminal states', async () => {
        const store = await fresh();
        const m = await store.missions.create({ phase: 'PLANNING' });
        now = new Date('2026-11-28T12:05:00.000Z');
        expect((await store.missions.setStatus(m.id, 'in_progress')).completedAt).toBeNull();
        now = new Date('2026-11-28T12:30:00.000Z');
        const done = await store.missions.setStatus(m.uuid, 'completed');
        expect(done).toMatchObject({ status: 'completed', completedAt: '2026-11-28 12:30:00.000Z' });
        const allowed: [string, string][] = [
          ['pending', 'cancelled'],
          ['in_progress', 'failed'],
          ['in_progress', 'cancelled'],
        ];
        for (const [from, to] of allowed) {
          const x = await store.missions.create({ phase: 'P' });
          if (from === 'in_progress') await store.missions.setStatus(x.id, 'in_progress');
          expect((await store.missions.setStatus(x.id, to as 'failed')).status).toBe(to);
        }
      });

      it('rejects every transition the lifecycle forbids with INVALID_TRANSITION, changing nothing', async () => {
        const store = await fresh();
        const pending = await store.missions.create({ phase: 'P', uuid: 'p' });
        const running = await store.missions.create({ phase: 'P', uuid: 'r' });
        await store.missions.setStatus(running.id, 'in_progress');
        const ended = await store.missions.create({ phase: 'P', uuid: 'e' });
        await store.missions.setStatus(ended.id, 'cancelled');
        const before = await dump(store);
        const forbidden: [string, string][] = [
          ['p', 'completed'],
          ['p', 'failed'],
          ['p', 'pending'],
          ['r', 'pending'],
          ['r', 'in_progress'],
          ['e', 'in_progress'],
          ['e', 'completed'],
          ['e', 'pending'],
        ];
        for (const [uuid, to] of forbidden) {
          const error = await rejection(store.missions.setStatus(uuid, to as 'pending'));
          expect(error.code, `${uuid} -> ${to}`).toBe('INVALID_TRANSITION');
          expect(error.message).toContain(to);
        }
        expect(await dump(store)).toEqual(before);
        expect(pending.status).toBe('pending');
      });

      it('sets the phase', async () => {
        const store = await fresh();
        const m = await store.missions.create({ phase: 'PLANNING' });
        expect((await store.missions.setPhase(m.id, 'CODING')).phase).toBe('CODING');
        expect((await store.missions.get(m.id))?.phase).toBe('CODING');
      });

      it('deletes a mission with every child row, and the cascade holds after checkpoint, reopen and crash', async () => {
        const store = await fresh();
        const fill = async (s: SQLiteStore, uuid: string) => {
          const m = await s.missions.create({ phase: 'PLANNING', uuid });
          await s.toolCalls.record({ mission: uuid, toolName: 'read_file', args: {}, success: true });
          await s.decisions.record({ mission: uuid, decisionType: 'plan', rationale: 'why', agentName: 'a' });
          await s.playbookRuns.start({ mission: uuid, playbookName: 'pb', phase: 'PLANNING' });
          await s.memory.set(uuid, 'k', 1);
          return m;
        };
        const counts = async (s: SQLiteStore) =>
          Promise.all(TABLES.map(async (t) => Number((await s.query(`SELECT count(*) AS n FROM ${t}`))[0]!.n)));
        await fill(store, 'keep');
        await fill(store, 'one');
        await store.missions.delete('one');
        expect(await counts(store)).toEqual([1, 1, 1, 1, 1]);
        await store.checkpoint();
        await fill(store, 'two');
        const reopened = await closeAndReopen(store);
        await reopened.missions.delete('two');
        expect(await counts(reopened)).toEqual([1, 1, 1, 1, 1]);
        await fill(reopened, 'three');
        const recovered = await crashAndReopen(reopened);
        expect(await counts(recovered)).toEqual([2, 2, 2, 2, 2]);
        await recovered.missions.delete('three');
        expect(await counts(recovered)).toEqual([1, 1, 1, 1, 1]);
        const error = await rejection(recovered.missions.delete('three'));
        expect(error.code).toBe('NOT_FOUND');
      });

      it('keeps foreign keys enforced after a reopen', async () => {
        const store = await fresh();
        await store.missions.create({ phase: 'P' });
        const reopened = await closeAndReopen(store);
        const error = await rejection(
          reopened.query("INSERT INTO tool_calls (mission_id, tool_name, args, timestamp, success) VALUES (999, 't', '{}', 'x', 1)"),
        );
        expect(error.code).toBe('CONSTRAINT');
        expect(error.message).toMatch(/FOREIGN KEY/);
      });
    });

    describe('tool calls', () => {
      it('records calls with defaults and given timestamps, normalised to UTC', async () => {
        const store = await fresh();
        await store.missions.create({ phase: 'P', uuid: 'm' });
        const a = await store.toolCalls.record({
          mission: 'm',
          toolName: 'read_file',
          args: { path: '/x' },
          result: 'text',
          durationMs: 12.4,
          success: true,
        });
        expect(a).toMatchObject({
          toolName: 'read_file',
          args: { path: '/x' },
          result: 'text',
          durationMs: 12,
          success: true,
          timestamp: '2026-11-28 12:00:00.000Z',
          errorMessage: null,
          toolCallId: null,
        });
        const b = await store.toolCalls.record({
          mission: 'm',
          toolName: 'x',
          args: [],
          success: false,
          errorMessage: 'boom',
          timestamp: '2026-11-28T14:30:00+02:00',
          agentName: 'coder',
          toolCallId: 'call_3f2a',
        });
        expect(b).toMatchObject({
          timestamp: '2026-11-28 12:30:00.000Z',
          success: false,
          errorMessage: 'boom',
          agentName: 'coder',
          result: null,
          toolCallId: 'call_3f2a',
        });
        const c = await store.toolCalls.record({
          mission: 'm',
          toolName: 'x',
          args: null,
          success: true,
          timestamp: new Date('2026-01-02T03:04:05.678Z'),
        });
        expect(c.timestamp).toBe('2026-01-02 03:04:05.678Z');
        expect((await store.toolCalls.list({ mission: 'm' })).map((t) => t.id)).toEqual([c.id, a.id, b.id]);
        // What record() returns is what list() reads back, the id included.
        expect(await store.toolCalls.list({ toolCallId: 'call_3f2a' })).toEqual([b]);
        expect(await store.toolCalls.list({ mission: 'm', toolCallId: 'nope' })).toEqual([]);
        expect(await store.query('SELECT tool_call_id FROM tool_calls ORDER BY id')).toEqual([
          { tool_call_id: null },
          { tool_call_id: 'call_3f2a' },
          { tool_call_id: null },
        ]);
        const plan = await store.query("EXPLAIN QUERY PLAN SELECT id FROM tool_calls WHERE tool_call_id = 'call_3f2a'");
        expect(JSON.stringify(plan)).toContain('idx_tool_calls_tool_call_id');
      });

      it('an unknown numeric mission is NOT_FOUND naming it, alone, in a shared commit and in a transaction', async () => {
        const store = await fresh();
        const m = await store.missions.create({ phase: 'P' });
        const unknown = m.id + 4242;
        const call = (mission: number) => ({ mission, toolName: 't', args: { a: 1 }, success: true });
        const alone = await rejection(store.toolCalls.record(call(unknown)));
        expect(alone.code).toBe('NOT_FOUND');
        expect(alone.message).toBe(`mission ${unknown} not found`);
        // Queued back to back: the unknown one rejects alone, its neighbours commit.
        const [before, missing, after] = await Promise.allSettled([
          store.toolCalls.record(call(m.id)),
          store.toolCalls.record(call(unknown)),
          store.toolCalls.record(call(m.id)),
        ]);
        expect(before.status).toBe('fulfilled');
        expect(after.status).toBe('fulfilled');
        expect(missing.status === 'rejected' && (missing.reason as StoreError).code).toBe('NOT_FOUND');
        const inTx = await store.transaction(async (tx) => {
          const error = await rejection(tx.toolCalls.record(call(unknown)));
          await tx.toolCalls.record(call(m.id));
          return error;
        });
        expect(inTx.code).toBe('NOT_FOUND');
        expect(inTx.message).toMatch(String(unknown));
        expect(await store.query('SELECT mission_id FROM tool_calls')).toEqual([
          { mission_id: m.id },
          { mission_id: m.id },
          { mission_id: m.id },
        ]);
      });

      it('returns JSON equal to what a later read gives, never the caller objects', async () => {
        const store = await fresh();
        const m = await store.missions.create({ phase: 'P' });
        const args = { when: new Date('2026-01-02T03:04:05.678Z'), zero: -0, gone: undefined, list: [1, { deep: 'x' }] };
        const result = { toJSON: () => ({ replaced: true }) };
        const recorded = await store.toolCalls.record({ mission: m.id, toolName: 't', args, result, success: true });
        const [listed] = await store.toolCalls.list({ mission: m.id });
        expect(recorded).toStrictEqual(listed);
        expect(JSON.parse(JSON.stringify(recorded))).toStrictEqual(JSON.parse(JSON.stringify(listed)));
        expect({ ...recorded }).toStrictEqual(listed);
        expect(recorded.args).toEqual({ when: '2026-01-02T03:04:05.678Z', zero: 0, list: [1, { deep: 'x' }] });
        expect(recorded.args).not.toBe(args);
        // Changing the caller's objects afterwards changes neither the row nor what was returned.
        args.list.push(2);
        expect(recorded.args).toEqual(listed!.args);
        // The returned object stays as writable as a plain one.
        const copy = recorded as { args: unknown };
        copy.args = 'mine';
        expect(copy.args).toBe('mine');
      });

      it('track times a function, records its result or its error, and returns or rethrows', async () => {
        const store = await fresh();
        const m = await store.missions.create({ phase: 'P' });
        const value = await store.toolCalls.track(m.id, 'add', { a: 1, b: 2 }, async () => {
          await new Promise((r) => setTimeout(r, 20));
          return 3;
        });
        expect(value).toBe(3);
        const failure = new Error('disk on fire');
        await expect(store.toolCalls.track(m.id, 'burn', {}, () => Promise.reject(failure), { toolCallId: 'c-2' })).rejects.toBe(failure);
        const [ok, bad] = await store.toolCalls.list({ mission: m.id });
        expect(ok).toMatchObject({ toolName: 'add', result: 3, success: true, toolCallId: null });
        expect(ok!.durationMs).toBeGreaterThanOrEqual(15);
        expect(bad).toMatchObject({ toolName: 'burn', success: false, errorMessage: 'disk on fire', result: null, toolCallId: 'c-2' });
      });

      it('stats gives calls, failures and nearest-rank p50/p95 per tool, filtered by mission and time', async () => {
        const store = await fresh();
        await store.missions.create({ phase: 'P', uuid: 'a' });
        await store.missions.create({ phase: 'P', uuid: 'b' });
        for (let i = 1; i <= 20; i++) {
          await store.toolCalls.record({
            mission: 'a',
            toolName: 'read',
            args: {},
            durationMs: i,
            success: i % 5 !== 0,
            timestamp: `2026-11-28T10:00:${String(i).padStart(2, '0')}Z`,
          });
        }
        await store.toolCalls.record({ mission: 'b', toolName: 'write', args: {}, success: true });
        await store.toolCalls.record({ mission: 'b', toolName: 'read', args: {}, durationMs: 1000, success: false });
        expect(await store.toolCalls.stats({ mission: 'a' })).toEqual([{ toolName: 'read', calls: 20, failures: 4, p50Ms: 10, p95Ms: 19 }]);
        expect(await store.toolCalls.stats()).toEqual([
          { toolName: 'read', calls: 21, failures: 5, p50Ms: 11, p95Ms: 20 },
          { toolName: 'write', calls: 1, failures: 0, p50Ms: null, p95Ms: null },
        ]);
        expect(await store.toolCalls.stats({ mission: 'a', since: '2026-11-28T10:00:16Z' })).toEqual([
          { toolName: 'read', calls: 5, failures: 1, p50Ms: 18, p95Ms: 20 },
        ]);
      });
    });

    describe('decisions and playbook runs', () => {
      it('history is oldest first even when recorded out of order', async () => {
        const store = await fresh();
        await store.missions.create({ phase: 'P', uuid: 'abc-123' });
        for (const [t, type] of [
          ['2026-11-28T12:03:00Z', 'third'],
          ['2026-11-28T12:01:00Z', 'first'],
          ['2026-11-28T12:02:00Z', 'second'],
        ]) {
          await store.decisions.record({
            mission: 'abc-123',
            decisionType: type!,
            rationale: `because ${type}`,
            agentName: 'planner',
            timestamp: t!,
          });
        }
        expect((await store.decisions.history('abc-123')).map((d) => d.decisionType)).toEqual(['first', 'second', 'third']);
      });

      it('starts and finishes runs; finishing twice is INVALID_TRANSITION, an unknown run NOT_FOUND', async () => {
        const store = await fresh();
        const m = await store.missions.create({ phase: 'CODING' });
        const run = await store.playbookRuns.start({ mission: m.id, playbookName: 'tdd', phase: 'CODING' });
        expect(run).toMatchObject({ completedAt: null, success: null });
        now = new Date('2026-11-28T12:10:00.000Z');
        const done = await store.playbookRuns.finish(run.id, { success: true, metrics: { steps: 4 } });
        expect(done).toMatchObject({ success: true, completedAt: '2026-11-28 12:10:00.000Z', metrics: { steps: 4 } });
        expect((await rejection(store.playbookRuns.finish(run.id, { success: false }))).code).toBe('INVALID_TRANSITION');
        expect((await rejection(store.playbookRuns.finish(9999, { success: false }))).code).toBe('NOT_FOUND');
        expect(await store.playbookRuns.list(m.id)).toEqual([done]);
      });
    });

    describe('memory', () => {
      it('keeps one live value per key, replaces on set, expires by the clock and sweeps', async () => {
        const store = await fresh();
        const m = await store.missions.create({ phase: 'P', uuid: 'm' });
        await store.memory.set('m', 'plan', { steps: ['a'] });
        await store.memory.set(m.id, 'plan', { steps: ['a', 'b'] });
        await store.memory.set('m', 'scratch', 'temp', { ttlSeconds: 60 });
        await store.memory.set('m', 'gone', 0, { ttlSeconds: 0 });
        expect(await store.memory.get('m', 'plan')).toEqual({ steps: ['a', 'b'] });
        expect(await store.memory.get('m', 'scratch')).toBe('temp');
        expect(await store.memory.get('m', 'gone')).toBeUndefined();
        expect(await store.memory.entries('m')).toEqual({ plan: { steps: ['a', 'b'] }, scratch: 'temp' });
        now = new Date(now.getTime() + 59_000);
        expect(await store.memory.get('m', 'scratch')).toBe('temp');
        now = new Date(now.getTime() + 1_000);
        expect(await store.memory.get('m', 'scratch')).toBeUndefined();
        expect(await store.query('SELECT count(*) AS n FROM agent_memory')).toEqual([{ n: 3 }]);
        expect(await store.memory.sweepExpired()).toBe(2);
        expect(await store.query('SELECT key FROM agent_memory')).toEqual([{ key: 'plan' }]);
        await store.memory.set('m', 'scratch', 'again');
        expect(await store.memory.get('m', 'scratch')).toBe('again');
        expect(await store.memory.delete('m', 'scratch')).toBe(true);
        expect(await store.memory.delete('m', 'scratch')).toBe(false);
        expect(await store.memory.get('m', 'never')).toBeUndefined();
      });
    });

    describe("the seed's debugging queries", () => {
      it('"What tools did the planning phase use?" counts only calls of PLANNING missions', async () => {
        const store = await fresh();
        await store.missions.create({ phase: 'PLANNING', uuid: 'plan' });
        await store.missions.create({ phase: 'CODING', uuid: 'code' });
        for (const tool of ['search', 'search', 'read_file'])
          await store.toolCalls.record({ mission: 'plan', toolName: tool, args: {}, success: true });
        for (const tool of ['search', 'write_file'])
          await store.toolCalls.record({ mission: 'code', toolName: tool, args: {}, success: true });
        const rows = await store.query(
          `SELECT tool_name, COUNT(*)
           FROM tool_calls
           JOIN missions ON tool_calls.mission_id = missions.id
           WHERE missions.phase = 'PLANNING'
           GROUP BY tool_name;`,
        );
        expect(rows).toEqual([
          { tool_name: 'read_file', 'COUNT(*)': 1 },
          { tool_name: 'search', 'COUNT(*)': 2 },
        ]);
      });

      it('"Why did the agent make decision X?" by mission uuid, in time order', async () => {
        const store = await fresh();
        await store.missions.create({ phase: 'PLANNING', uuid: 'abc-123' });
        await store.missions.create({ phase: 'PLANNING', uuid: 'other' });
        await store.decisions.record({
          mission: 'abc-123',
          decisionType: 'b',
          rationale: 'later',
          agentName: 'x',
          timestamp: '2026-11-28T12:00:02Z',
        });
        await store.decisions.record({
          mission: 'other',
          decisionType: 'z',
          rationale: 'not this one',
          agentName: 'x',
          timestamp: '2026-11-28T12:00:01Z',
        });
        await store.decisions.record({
          mission: 'abc-123',
          decisionType: 'a',
          rationale: 'earlier',
          agentName: 'x',
          timestamp: '2026-11-28T12:00:01Z',
        });
        const rows = await store.query(
          `SELECT decision_type, rationale, timestamp
           FROM decisions
           WHERE mission_id = (SELECT id FROM missions WHERE mission_uuid = ?)
           ORDER BY timestamp`,
          ['abc-123'],
        );
        expect(rows).toEqual([
          { decision_type: 'a', rationale: 'earlier', timestamp: '2026-11-28 12:00:01.000Z' },
          { decision_type: 'b', rationale: 'later', timestamp: '2026-11-28 12:00:02.000Z' },
        ]);
      });

      it('"Show me all failed tool calls in the last hour" keeps 59 minutes, drops 61', async () => {
        const store = await fresh();
        const m = await store.missions.create({ phase: 'P' });
        const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000);
        await store.toolCalls.record({ mission: m.id, toolName: 'recent_fail', args: {}, success: false, timestamp: ago(59) });
        await store.toolCalls.record({ mission: m.id, toolName: 'old_fail', args: {}, success: false, timestamp: ago(61) });
        await store.toolCalls.record({ mission: m.id, toolName: 'recent_ok', args: {}, success: true, timestamp: ago(1) });
        await store.toolCalls.record({ mission: m.id, toolName: 'just_now_fail', args: {}, success: false, timestamp: ago(0) });
        const rows = await store.query(`SELECT * FROM tool_calls
          WHERE success = 0
            AND timestamp > datetime('now', '-1 hour');`);
        expect(rows.map((r) => r.tool_name).sort()).toEqual(['just_now_fail', 'recent_fail']);
      });
    });

    describe('query and transaction', () => {
      it('binds parameters, refuses transaction control and several statements', async () => {
        const store = await fresh();
        await store.missions.create({ phase: 'P', uuid: "it's" });
        expect(await store.query('SELECT mission_uuid FROM missions WHERE mission_uuid = :u', { ':u': "it's" })).toEqual([
          { mission_uuid: "it's" },
        ]);
        for (const sql of [
          'BEGIN',
          'COMMIT',
          '  -- c\n rollback',
          'ATTACH DATABASE x AS y',
          'PRAGMA foreign_keys = OFF',
          'SELECT 1; DELETE FROM missions',
          '',
        ]) {
          expect((await rejection(store.query(sql))).code, sql).toBe('INVALID_INPUT');
        }
        expect((await rejection(store.query('SELECT * FROM nowhere'))).code).toBe('SQL');
        expect((await rejection(store.query('SELECT ?', [undefined as never]))).code).toBe('INVALID_INPUT');
        expect(await store.query('SELECT 1 AS one;')).toEqual([{ one: 1 }]);
        expect(await store.missions.list()).toHaveLength(1);
      });

      it('commits a transaction as one, rolls all of it back on a throw, and keeps it across a crash', async () => {
        const store = await fresh();
        await store.transaction(async (tx) => {
          const m = await tx.missions.create({ phase: 'P', uuid: 'tx' });
          await tx.toolCalls.record({ mission: m.id, toolName: 't', args: {}, success: true });
          await tx.memory.set(m.id, 'k', 'v');
        });
        const before = await dump(store);
        await expect(
          store.transaction(async (tx) => {
            await tx.toolCalls.record({ mission: 'tx', toolName: 'lost', args: {}, success: true });
            await tx.missions.delete('tx');
            throw new Error('changed my mind');
          }),
        ).rejects.toThrow('changed my mind');
        expect(await dump(store)).toEqual(before);
        let kept: Parameters<Parameters<SQLiteStore['transaction']>[0]>[0] | undefined;
        const inner = await store.transaction(async (tx) => {
          kept = tx;
          // A failed call inside a transaction undoes only itself.
          await expect(tx.missions.create({ phase: 'P', uuid: 'tx' })).rejects.toMatchObject({ code: 'CONFLICT' });
          return (await tx.query('SELECT count(*) AS n FROM missions'))[0]!.n;
        });
        expect(inner).toBe(1);
        await expect(kept!.missions.list()).rejects.toMatchObject({ code: 'CLOSED' });
        const recovered = await crashAndReopen(store);
        expect(await dump(recovered)).toEqual(before);
      });

      it('journals raw writes, including DELETE without WHERE and INSERT OR REPLACE', async () => {
        const store = await fresh();
        const m = await store.missions.create({ phase: 'P' });
        for (let i = 0; i < 3; i++) await store.toolCalls.record({ mission: m.id, toolName: `t${i}`, args: {}, success: true });
        await store.query(
          "INSERT OR REPLACE INTO tool_calls (id, mission_id, tool_name, args, timestamp, success) VALUES (2, ?, 'replaced', '[]', 'x', 1)",
          [m.id],
        );
        await store.query('DELETE FROM decisions');
        await store.query('DELETE FROM tool_calls WHERE id = 1');
        const before = await dump(store);
        await store.query('DELETE FROM tool_calls');
        const after = await dump(store);
        const recovered = await crashAndReopen(store);
        expect(await dump(recovered)).toEqual(after);
        expect(before.tool_calls).toHaveLength(2);
        expect(after.tool_calls).toHaveLength(0);
      });

      it('a transaction mixing a schema change with row writes keeps both, and later records stay small', async () => {
        const store = await fresh();
        await store.missions.create({ phase: 'P', uuid: 'm' });
        await store.transaction(async (tx) => {
          await tx.query(
            'CREATE TABLE labels (id INTEGER PRIMARY KEY, mission_id INTEGER REFERENCES missions(id) ON DELETE CASCADE, label TEXT)',
          );
          await tx.query("INSERT INTO labels (mission_id, label) VALUES (1, 'urgent')");
          await tx.toolCalls.record({ mission: 'm', toolName: 'in-ddl-tx', args: {}, success: true });
        });
        await store.query("INSERT INTO labels (mission_id, label) VALUES (1, 'later')");
        const recovered = await crashAndReopen(store);
        expect(await recovered.query('SELECT label FROM labels ORDER BY id')).toEqual([{ label: 'urgent' }, { label: 'later' }]);
        expect(await recovered.query('SELECT tool_name FROM tool_calls')).toEqual([{ tool_name: 'in-ddl-tx' }]);
        await recovered.missions.delete('m');
        expect(await recovered.query('SELECT count(*) AS n FROM labels')).toEqual([{ n: 0 }]);
      });

      it('replays rows whose rowids are beyond 2^53 exactly, and REAL stays apart from INTEGER', async () => {
        const store = await fresh();
        await store.query('CREATE TABLE big (id INTEGER PRIMARY KEY, v)');
        const huge = 2n ** 62n + 3n;
        await store.query('INSERT INTO big (id, v) VALUES (?, ?)', [huge, 1.5]);
        await store.query('INSERT INTO big (id, v) VALUES (?, CAST(? AS REAL))', [-huge, 2]);
        await store.query('UPDATE big SET v = ? WHERE id = ?', ['changed', huge]);
        const recovered = await crashAndReopen(store);
        const rows = await recovered.query('SELECT CAST(id AS TEXT) AS id, v, typeof(v) AS t FROM big ORDER BY id');
        expect(rows).toEqual([
          { id: String(-huge), v: 2, t: 'real' },
          { id: String(huge), v: 'changed', t: 'text' },
        ]);
      });

      it('a schema change through query checkpoints and survives a crash; WITHOUT ROWID is refused', async () => {
        const store = await fresh();
        await store.query('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)');
        await store.query("INSERT INTO notes (body) VALUES ('hello')");
        const error = await rejection(store.query('CREATE TABLE kv (k TEXT PRIMARY KEY, v) WITHOUT ROWID'));
        expect(error.code).toBe('INVALID_INPUT');
        expect(error.message).toContain('kv');
        await store.query('VACUUM');
        const recovered = await crashAndReopen(store);
        expect(await recovered.query('SELECT body FROM notes')).toEqual([{ body: 'hello' }]);
        expect(await recovered.query("SELECT name FROM sqlite_master WHERE name = 'kv'")).toEqual([]);
      });
    });

    describe('bad input gets a clear error and changes nothing', () => {
      it('rejects each bad call with its code, naming the problem, and leaves every row as it was', async () => {
        const store = await fresh();
        const m = await store.missions.create({ phase: 'PLANNING', uuid: 'abc-123' });
        await store.missions.setStatus(m.id, 'in_progress');
        await store.toolCalls.record({ mission: m.id, toolName: 'ok', args: {}, success: true });
        await store.memory.set(m.id, 'k', 'v');
        const cycle: Record<string, unknown> = {};
        cycle.self = cycle;
        const cases: [string, () => Promise<unknown>, string, RegExp][] = [
          [
            'unknown mission',
            () => store.toolCalls.record({ mission: 'nope', toolName: 't', args: {}, success: true }),
            'NOT_FOUND',
            /nope/,
          ],
          [
            'unknown mission id',
            () => store.decisions.record({ mission: 4242, decisionType: 'd', rationale: 'r', agentName: 'a' }),
            'NOT_FOUND',
            /4242/,
          ],
          [
            'empty tool name',
            () => store.toolCalls.record({ mission: m.id, toolName: '', args: {}, success: true }),
            'INVALID_INPUT',
            /toolName/,
          ],
          [
            'non-string tool name',
            () => store.toolCalls.record({ mission: m.id, toolName: 7 as never, args: {}, success: true }),
            'INVALID_INPUT',
            /toolName/,
          ],
          [
            'BigInt args',
            () => store.toolCalls.record({ mission: m.id, toolName: 't', args: { n: 1n }, success: true }),
            'INVALID_INPUT',
            /args.*BigInt/,
          ],
          [
            'function args',
            () => store.toolCalls.record({ mission: m.id, toolName: 't', args: { f: () => 1 }, success: true }),
            'INVALID_INPUT',
            /args.*function/,
          ],
          [
            'cyclic args',
            () => store.toolCalls.record({ mission: m.id, toolName: 't', args: cycle, success: true }),
            'INVALID_INPUT',
            /args.*cycle/,
          ],
          [
            'undefined args',
            () => store.toolCalls.record({ mission: m.id, toolName: 't', args: undefined, success: true }),
            'INVALID_INPUT',
            /args/,
          ],
          [
            'NaN in result',
            () => store.toolCalls.record({ mission: m.id, toolName: 't', args: {}, result: [Number.NaN], success: true }),
            'INVALID_INPUT',
            /result/,
          ],
          [
            'negative duration',
            () => store.toolCalls.record({ mission: m.id, toolName: 't', args: {}, durationMs: -1, success: true }),
            'INVALID_INPUT',
            /durationMs/,
          ],
          [
            'success not boolean',
            () => store.toolCalls.record({ mission: m.id, toolName: 't', args: {}, success: 1 as never }),
            'INVALID_INPUT',
            /success/,
          ],
          [
            'bad timestamp',
            () => store.toolCalls.record({ mission: m.id, toolName: 't', args: {}, success: true, timestamp: '2026-13-45' }),
            'INVALID_INPUT',
            /timestamp/,
          ],
          ['negative ttl', () => store.memory.set(m.id, 'k', 'w', { ttlSeconds: -5 }), 'INVALID_INPUT', /ttlSeconds/],
          ['memory value not JSON', () => store.memory.set(m.id, 'k', new Map()), 'INVALID_INPUT', /memory value 'k'/],
          ['empty key', () => store.memory.set(m.id, '', 1), 'INVALID_INPUT', /key/],
          ['unknown status', () => store.missions.setStatus(m.id, 'done' as never), 'INVALID_INPUT', /status.*done/],
          ['forbidden transition', () => store.missions.setStatus(m.id, 'pending'), 'INVALID_TRANSITION', /in_progress.*pending/],
          ['empty phase', () => store.missions.create({ phase: '' }), 'INVALID_INPUT', /phase/],
          [
            'metadata with undefined in an array',
            () => store.missions.create({ phase: 'P', metadata: [undefined] }),
            'INVALID_INPUT',
            /metadata/,
          ],
          ['bad mission ref', () => store.missions.get(-1), 'INVALID_INPUT', /mission/],
          [
            'empty decision type',
            () => store.decisions.record({ mission: m.id, decisionType: '', rationale: 'r', agentName: 'a' }),
            'INVALID_INPUT',
            /decisionType/,
          ],
          ['bad run id', () => store.playbookRuns.finish(0, { success: true }), 'INVALID_INPUT', /runId/],
          ['CHECK constraint in raw SQL', () => store.query('UPDATE tool_calls SET success = 7'), 'CONSTRAINT', /CHECK/],
        ];
        const before = await dump(store);
        for (const [label, call, code, message] of cases) {
          const error = await rejection(call());
          expect(error.code, label).toBe(code);
          expect(error.message, label).toMatch(message);
        }
        expect(await dump(store)).toEqual(before);
        const recovered = await crashAndReopen(store);
        expect(await dump(recovered)).toEqual(before);
      });

      it('a closed store rejects every call with CLOSED', async () => {
        const store = await fresh();
        const m = await store.missions.create({ phase: 'P' });
        await store.close();
        for (const call of [
          () => store.missions.get(m.id),
          () => store.missions.create({ phase: 'P' }),
          () => store.toolCalls.record({ mission: m.id, toolName: 't', args: {}, success: true }),
          () => store.memory.get(m.id, 'k'),
          () => store.query('SELECT 1'),
          () => store.transaction(() => 1),
          () => store.checkpoint(),
        ]) {
          const error = await rejection(call());
          expect(error.code).toBe('CLOSED');
        }
        await store.close();
        expect(store.closed).toBe(true);
      });
    });

    describe('durability and migrations', () => {
      it('every acknowledged write survives a crash without close, and the log is replayed exactly', async () => {
        const store = await fresh();
        const m = await store.missions.create({ phase: 'P', uuid: 'm', metadata: { n: 1.5, big: 2 ** 53 - 1, s: 'é😀' } });
        for (let i = 0; i < 50; i++)
          await store.toolCalls.record({ mission: 'm', toolName: `t${i % 3}`, args: { i }, durationMs: i, success: i % 7 !== 0 });
        await store.checkpoint();
        await store.memory.set('m', 'k', { deep: [1, { x: null }] }, { ttlSeconds: 10 });
        await store.missions.setStatus(m.id, 'in_progress');
        const before = await dump(store);
        const recovered = await crashAndReopen(store);
        expect(await dump(recovered)).toEqual(before);
        const next = await recovered.toolCalls.record({ mission: 'm', toolName: 'after', args: {}, success: true });
        expect(next.id).toBe(51);
      });

      it('keeps AUTOINCREMENT counters exact across a crash, even when an upsert only updated', async () => {
        const store = await fresh();
        await store.missions.create({ phase: 'P', uuid: 'm' });
        await store.memory.set('m', 'k', 1);
        // The second set takes the upsert's DO UPDATE path, which still advances the counter.
        await store.memory.set('m', 'k', 2);
        const before = await store.query('SELECT name, seq FROM sqlite_sequence ORDER BY name');
        const recovered = await crashAndReopen(store);
        expect(await recovered.query('SELECT name, seq FROM sqlite_sequence ORDER BY name')).toEqual(before);
        await recovered.memory.set('m', 'other', 3);
        const ids = await recovered.query('SELECT key, id FROM agent_memory ORDER BY id');
        expect(ids).toEqual([
          { key: 'k', id: 1 },
          { key: 'other', id: 3 },
        ]);
      });

      it('applies a later migration to a store holding data, once', async () => {
        const store = await fresh();
        await store.missions.create({ phase: 'P', uuid: 'm' });
        await store.toolCalls.record({ mission: 'm', toolName: 't', args: {}, success: true });
        await store.close();
        const next = schemaMigrations.length + 1;
        const v2: Migration = {
          version: next,
          name: 'app_tool_call_cost',
          sql: 'ALTER TABLE tool_calls ADD COLUMN cost_usd REAL; UPDATE tool_calls SET cost_usd = 0.5;',
        };
        const migrated = await open({ migrations: [...schemaMigrations, v2] });
        expect(await migrated.query('PRAGMA user_version')).toEqual([{ user_version: next }]);
        expect(await migrated.query('SELECT tool_name, cost_usd FROM tool_calls')).toEqual([{ tool_name: 't', cost_usd: 0.5 }]);
        await migrated.toolCalls.record({ mission: 'm', toolName: 'u', args: {}, success: true });
        await harness.crash();
        const again = await open({ migrations: [...schemaMigrations, v2] });
        expect(await again.query('SELECT tool_name, cost_usd FROM tool_calls ORDER BY id')).toEqual([
          { tool_name: 't', cost_usd: 0.5 },
          { tool_name: 'u', cost_usd: null },
        ]);
      });

      it('refuses a store written by a newer schema with SCHEMA_TOO_NEW and leaves its bytes alone', async () => {
        const store = await fresh();
        await store.missions.create({ phase: 'P' });
        await store.close();
        const next = schemaMigrations.length + 1;
        const v2: Migration = { version: next, name: 'app_more', sql: 'CREATE TABLE extra (id INTEGER PRIMARY KEY)' };
        const newer = await open({ migrations: [...schemaMigrations, v2] });
        await newer.missions.create({ phase: 'Q' });
        await harness.crash();
        const read = async () => {
          const adapter = harness.open();
          const state = await adapter.load();
          await adapter.close();
          return { snapshot: Array.from(state.snapshot ?? []), records: state.records.map((r) => Array.from(r)) };
        };
        const bytesBefore = await read();
        const error = await rejection(open());
        expect(error.code).toBe('SCHEMA_TOO_NEW');
        expect(error.message).toMatch(new RegExp(`version ${next}, newer than ${schemaMigrations.length}`));
        expect(await read()).toEqual(bytesBefore);
      });

      it('migrates a version-1 store holding tool calls to the current schema once (0002_tool_call_id to 0004_seed_query_indexes), keeping its rows, across a crash', async () => {
        harness = await factory();
        now = new Date('2026-11-28T12:00:00.000Z');
        const v1 = await open({ migrations: schemaMigrations.slice(0, 1) });
        await v1.missions.create({ phase: 'P', uuid: 'm' });
        // record() names tool_call_id, which version 1 lacks: rows as that release wrote them, by SQL.
        for (const [tool, result, success, error] of [
          ['read_file', '{"toolCallId":"call-1","output":"text"}', 1, null],
          ['search', null, 0, 'timed out'],
        ] as const) {
          await v1.run(
            "INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp, duration_ms, success, error_message, agent_name) VALUES (1, ?, '{}', ?, '2026-11-28 11:00:00.000Z', 5, ?, ?, 'coder')",
            [tool, result, success, error],
          );
        }
        expect(await v1.query('PRAGMA user_version')).toEqual([{ user_version: 1 }]);
        await harness.crash();

        const migrated = await open();
        expect(await migrated.query('PRAGMA user_version')).toEqual([{ user_version: schemaMigrations.length }]);
        const old = await migrated.toolCalls.list({ mission: 'm' });
        // Kept as they were: the id a former integration put in result stays there, the column is NULL.
        expect(old.map((c) => [c.id, c.toolName, c.result, c.success, c.errorMessage, c.agentName, c.toolCallId])).toEqual([
          [1, 'read_file', { toolCallId: 'call-1', output: 'text' }, true, null, 'coder', null],
          [2, 'search', null, false, 'timed out', 'coder', null],
        ]);
        const added = await migrated.toolCalls.record({ mission: 'm', toolName: 'write', args: {}, success: true, toolCallId: 'call-3' });
        expect(added).toMatchObject({ id: 3, toolCallId: 'call-3' });
        await harness.crash();

        // Reopened after a crash: nothing to migrate again, every acknowledged row there.
        const again = await open();
        expect(await again.query('PRAGMA user_version')).toEqual([{ user_version: schemaMigrations.length }]);
        expect(await again.toolCalls.list({ mission: 'm' })).toEqual([...old, added]);
        expect(await again.toolCalls.list({ toolCallId: 'call-3' })).toEqual([added]);
        expect(await again.query("SELECT name FROM sqlite_master WHERE name = 'idx_tool_calls_tool_call_id'")).toEqual([
          { name: 'idx_tool_calls_tool_call_id' },
        ]);
      });
    });
  });
}
