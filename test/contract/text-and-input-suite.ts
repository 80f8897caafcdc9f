import { describe, expect, it } from 'vitest';
import { formatTimestamp, type SQLiteStore, StoreError, TrackError } from '../../src/index.js';
import type { HarnessFactory } from './harness.js';
import { dump, rejection, useStoreFixture } from './store-fixture.js';

/** A JSON array nested `depth` levels deep, built without recursion. */
function nestedArray(depth: number): unknown {
  let value: unknown = [];
  for (let i = 1; i < depth; i++) value = [value];
  return value;
}

/** A JSON object nested `depth` levels deep. */
function nestedObject(depth: number): unknown {
  let value: unknown = {};
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

async function expectInvalid(promise: Promise<unknown>, message: RegExp, label?: string): Promise<void> {
  const error = await rejection(promise);
  expect(error.code, label).toBe('INVALID_INPUT');
  expect(error.message, label).toMatch(message);
}

/**
 * Hostile text, extreme times, odd inputs and track()'s outcome: what a read returns, what
 * the log holds and what replay rebuilds stay the same, and bad input gets INVALID_INPUT.
 */
export function textAndInputSuite(name: string, factory: HarnessFactory): void {
  describe(`text and input edges: ${name}`, () => {
    const fixture = useStoreFixture(factory);

    /** Crashes, reopens, and checks that the rebuilt store holds exactly what `store` held. */
    async function survivesCrash(store: SQLiteStore): Promise<SQLiteStore> {
      const before = await dump(store);
      const reopened = await fixture.crashAndReopen();
      expect(await reopened.query('PRAGMA foreign_key_check')).toEqual([]);
      expect(await dump(reopened)).toEqual(before);
      return reopened;
    }

    describe('text', () => {
      it('refuses lone surrogates, so nothing is merged or orphaned after a crash', async () => {
        const store = await fixture.fresh();
        await expectInvalid(store.missions.create({ phase: 'P', uuid: 'x\ud800' }), /uuid.*well-formed/);
        await expectInvalid(store.missions.create({ phase: 'P', uuid: 'x\ud801' }), /uuid/);
        const m = await store.missions.create({ phase: 'P', uuid: 'x' });
        await expectInvalid(store.memory.set(m.id, 'k\udc00', 1), /key/);
        await expectInvalid(store.memory.set(m.id, 'k\udc01', 2), /key/);
        await store.memory.set(m.id, 'k\ud83d\ude00', 3);
        await store.toolCalls.record({ mission: 'x', toolName: 'read_file', args: { s: 'cut \ud83d' }, success: true });
        const reopened = await survivesCrash(store);
        expect(await reopened.memory.entries('x')).toEqual({ 'k\ud83d\ude00': 3 });
        expect((await reopened.toolCalls.list({ mission: 'x' }))[0]?.args).toEqual({ s: 'cut \ud83d' });
      });

      it('names the field for every text column given text that is not well-formed', async () => {
        const store = await fixture.fresh();
        const m = await store.missions.create({ phase: 'P', uuid: 'm' });
        const run = await store.playbookRuns.start({ mission: m.id, playbookName: 'pb', phase: 'P' });
        const bad = 'a\udfff';
        const before = await dump(store);
        const cases: [string, () => Promise<unknown>, RegExp][] = [
          ['phase', () => store.missions.create({ phase: bad }), /phase/],
          ['setPhase', () => store.missions.setPhase(m.id, bad), /phase/],
          ['mission ref', () => store.missions.get(bad), /mission/],
          ['toolName', () => store.toolCalls.record({ mission: m.id, toolName: bad, args: {}, success: true }), /toolName/],
          [
            'errorMessage',
            () => store.toolCalls.record({ mission: m.id, toolName: 't', args: {}, success: false, errorMessage: bad }),
            /errorMessage/,
          ],
          [
            'agentName',
            () => store.toolCalls.record({ mission: m.id, toolName: 't', args: {}, success: true, agentName: bad }),
            /agentName/,
          ],
          [
            'toolCallId',
            () => store.toolCalls.record({ mission: m.id, toolName: 't', args: {}, success: true, toolCallId: bad }),
            /toolCallId/,
          ],
          ['track toolCallId', () => store.toolCalls.track(m.id, 't', {}, () => 1, { toolCallId: bad }), /toolCallId/],
          ['list toolCallId', () => store.toolCalls.list({ toolCallId: bad }), /toolCallId/],
          [
            'decisionType',
            () => store.decisions.record({ mission: m.id, decisionType: bad, rationale: 'r', agentName: 'a' }),
            /decisionType/,
          ],
          ['rationale', () => store.decisions.record({ mission: m.id, decisionType: 'd', rationale: bad, agentName: 'a' }), /rationale/],
          ['playbookName', () => store.playbookRuns.start({ mission: m.id, playbookName: bad, phase: 'P' }), /playbookName/],
          ['finish errorMessage', () => store.playbookRuns.finish(run.id, { success: false, errorMessage: bad }), /errorMessage/],
          ['key', () => store.memory.set(m.id, bad, 1), /key/],
          // sql.js drops a leading U+FEFF when it reads text back: refused like a lone surrogate.
          ['leading BOM', () => store.missions.create({ phase: 'P', uuid: '\ufeffm' }), /uuid/],
        ];
        for (const [label, call, message] of cases) await expectInvalid(call(), message, label);
        expect(await dump(store)).toEqual(before);
      });

      it('keeps text with NUL characters exact through reads, crashes and checkpoints', async () => {
        const store = await fixture.fresh();
        const long = `${'L'.repeat(100)}\u0000z`;
        await store.missions.create({ phase: 'a\u0000b', uuid: 'u\u0000v' });
        await store.missions.create({ phase: long, uuid: 'u\u0000w' });
        await store.memory.set('u\u0000v', 'k\u0000', { v: 'a\u0000b' });
        await store.memory.set('u\u0000v', 'k\u0000\u0000', 2);
        await store.toolCalls.record({ mission: 'u\u0000v', toolName: 't\u0000', args: '\u0000', success: false, errorMessage: long });
        await store.decisions.record({ mission: 'u\u0000w', decisionType: 'd\u0000', rationale: '\u0000', agentName: 'a\u0000' });
        const check = async (s: SQLiteStore) => {
          expect((await s.missions.get('u\u0000v'))?.phase).toBe('a\u0000b');
          expect((await s.missions.get('u\u0000w'))?.phase).toBe(long);
          expect(await s.memory.entries('u\u0000v')).toEqual({ 'k\u0000': { v: 'a\u0000b' }, 'k\u0000\u0000': 2 });
          expect(await s.toolCalls.list()).toMatchObject([{ toolName: 't\u0000', args: '\u0000', errorMessage: long }]);
          expect(await s.decisions.history('u\u0000w')).toMatchObject([
            { decisionType: 'd\u0000', rationale: '\u0000', agentName: 'a\u0000' },
          ]);
        };
        await check(store);
        const crashed = await survivesCrash(store);
        await check(crashed);
        await check(await fixture.closeAndReopen(crashed));
      });

      it('keeps JSON values exact, lone surrogates, NUL and BOM included, after replay', async () => {
        const store = await fixture.fresh();
        const odd = { '\ud800key': ['\udc00', 'a\u0000b', '\ufeffstart', 'end\ud83d', '\ud83d\ude00'], '\ufeff': '\ufffd' };
        const m = await store.missions.create({ phase: 'P', metadata: odd });
        await store.memory.set(m.id, 'k', odd);
        await store.memory.set(m.id, 'top', '\ud800');
        await store.toolCalls.record({ mission: m.id, toolName: 't', args: odd, result: ['\udbff'], success: true });
        const run = await store.playbookRuns.start({ mission: m.id, playbookName: 'pb', phase: 'P' });
        await store.playbookRuns.finish(run.id, { success: true, metrics: odd });
        const reopened = await survivesCrash(store);
        expect((await reopened.missions.get(m.id))?.metadata).toEqual(odd);
        expect(await reopened.memory.entries(m.id)).toEqual({ k: odd, top: '\ud800' });
        expect(await reopened.toolCalls.list()).toMatchObject([{ args: odd, result: ['\udbff'] }]);
        expect((await reopened.playbookRuns.list(m.id))[0]?.metrics).toEqual(odd);
      });

      it('rolls back raw SQL that writes text SQLite cannot give back as it stored it', async () => {
        const store = await fixture.fresh();
        const m = await store.missions.create({ phase: 'P', uuid: 'm' });
        await store.query('CREATE TABLE notes (body)');
        const before = await dump(store);
        const insert = (expr: string) =>
          store.query(
            `INSERT INTO decisions (mission_id, decision_type, rationale, timestamp, agent_name) VALUES (?, 'd', ${expr}, 'x', 'a')`,
            [m.id],
          );
        for (const expr of [
          'char(55296)',
          "CAST(x'ff' AS TEXT)",
          "CAST(x'efbbbf41' AS TEXT)",
          "CAST(x'f09f98' AS TEXT)",
          "'ok' || CAST(x'c3' AS TEXT)",
        ]) {
          await expectInvalid(insert(expr), /decisions.*rationale.*not valid UTF-8/, expr);
        }
        await expectInvalid(store.query('INSERT INTO notes (body) VALUES (char(56320))'), /notes.*body/);
        await expectInvalid(store.query('UPDATE missions SET phase = char(55296) WHERE id = ?', [m.id]), /missions.*phase/);
        await expectInvalid(
          store.transaction(async (tx) => {
            await tx.memory.set(m.id, 'fine', 1);
            await tx.query("INSERT INTO notes (body) VALUES (CAST(x'80' AS TEXT))");
          }),
          /notes.*body/,
        );
        expect(await dump(store)).toEqual(before);
        expect(await store.query('SELECT * FROM notes')).toEqual([]);
        // Text that merely holds U+FFFD, or NUL, is exact and accepted.
        await store.query('INSERT INTO notes (body) VALUES (?), (char(65533)), (char(0)), (?)', ['a\ufffdb', `${'\ufffd'.repeat(40)}x`]);
        const reopened = await survivesCrash(store);
        expect((await reopened.query('SELECT body FROM notes ORDER BY rowid')).map((r) => r.body)).toEqual([
          'a\ufffdb',
          '\ufffd',
          '\u0000',
          `${'\ufffd'.repeat(40)}x`,
        ]);
      });
    });

    describe('times', () => {
      it('accepts years 0000 to 0099 and refuses anything past 9999 in UTC, naming the field', async () => {
        const store = await fixture.fresh();
        const m = await store.missions.create({ phase: 'P' });
        const early = new Date(0);
        early.setUTCFullYear(45, 2, 15);
        const record = (timestamp: Date | string) =>
          store.toolCalls.record({ mission: m.id, toolName: 't', args: {}, success: true, timestamp });
        expect((await record('0001-01-01T00:00:00Z')).timestamp).toBe('0001-01-01 00:00:00.000Z');
        expect((await record('0099-12-31 23:59:59.5')).timestamp).toBe('0099-12-31 23:59:59.500Z');
        expect((await record('0000-03-01T00:00:00Z')).timestamp).toBe('0000-03-01 00:00:00.000Z');
        expect((await record('0010-01-01T01:00:00+02:00')).timestamp).toBe('0009-12-31 23:00:00.000Z');
        expect((await record(early)).timestamp).toBe('0045-03-15 00:00:00.000Z');
        expect((await record('9999-12-31T23:59:59.999Z')).timestamp).toBe('9999-12-31 23:59:59.999Z');
        const before = await dump(store);
        await expectInvalid(record('9999-12-31T23:59:59-01:00'), /timestamp/);
        await expectInvalid(record('0000-01-01T00:30:00+01:00'), /timestamp/);
        await expectInvalid(record(new Date(8.64e15)), /timestamp/);
        await expectInvalid(record(new Date(Date.UTC(-1, 0, 1))), /timestamp/);
        await expectInvalid(record(new Date(Number.NaN)), /timestamp/);
        await expectInvalid(
          store.decisions.record({ mission: m.id, decisionType: 'd', rationale: 'r', agentName: 'a', timestamp: new Date(8.64e15) }),
          /timestamp/,
        );
        await expectInvalid(store.toolCalls.list({ since: new Date(-8.64e15) }), /since/);
        await expectInvalid(store.toolCalls.stats({ since: new Date(2e14 * 1000) }), /since/);
        expect(await dump(store)).toEqual(before);
        // Every stored time sorts as text against datetime('now'): the early ones before it, none after.
        const [row] = await store.query("SELECT sum(timestamp < datetime('now')) AS before_now, count(*) AS n FROM tool_calls");
        expect(row).toEqual({ before_now: 5, n: 6 });
      });

      it('clamps an expiry past year 9999 to the maximum, so a huge ttl means never', async () => {
        const store = await fixture.fresh();
        // Real time, so that datetime('now') and the store's clock agree.
        const now = new Date();
        fixture.setNow(now);
        const m = await store.missions.create({ phase: 'P' });
        await store.memory.set(m.id, 'a', 1, { ttlSeconds: 1e12 });
        await store.memory.set(m.id, 'b', 2, { ttlSeconds: Number.MAX_VALUE });
        await store.memory.set(m.id, 'c', 3, { ttlSeconds: 60 });
        expect(await store.query('SELECT key, expires_at FROM agent_memory ORDER BY key')).toEqual([
          { key: 'a', expires_at: '9999-12-31 23:59:59.999Z' },
          { key: 'b', expires_at: '9999-12-31 23:59:59.999Z' },
          { key: 'c', expires_at: formatTimestamp(new Date(now.getTime() + 60_000)) },
        ]);
        expect(await store.query("SELECT key FROM agent_memory WHERE expires_at > datetime('now') ORDER BY key")).toEqual([
          { key: 'a' },
          { key: 'b' },
          { key: 'c' },
        ]);
        fixture.setNow(new Date('9999-12-31T23:00:00Z'));
        expect(await store.memory.sweepExpired()).toBe(1);
        expect(await store.memory.entries(m.id)).toEqual({ a: 1, b: 2 });
        await survivesCrash(store);
      });

      it('gives INVALID_INPUT when the clock returns something that is not a usable Date', async () => {
        for (const bad of ['2026-11-28T12:00:00Z', 1_800_000_000_000, undefined, new Date(Number.NaN), new Date(8.64e15)]) {
          const store = await fixture.fresh({ clock: () => bad as unknown as Date });
          await expectInvalid(store.missions.create({ phase: 'P' }), /clock must return a valid Date/, String(bad));
          await expectInvalid(
            store.transaction((tx) => tx.missions.create({ phase: 'P' })),
            /clock must return a valid Date/,
            String(bad),
          );
          expect(await store.query('SELECT count(*) AS n FROM missions')).toEqual([{ n: 0 }]);
          await store.close();
        }
      });
    });

    describe('odd inputs', () => {
      it('refuses JSON nested deeper than SQLite accepts, however deep, with INVALID_INPUT', async () => {
        const store = await fixture.fresh();
        const m = await store.missions.create({ phase: 'P' });
        await store.memory.set(m.id, 'deepest', nestedArray(1000));
        await store.memory.set(m.id, 'deepest-object', nestedObject(1000));
        const before = await dump(store);
        for (const depth of [1001, 2000, 10_000, 100_000]) {
          await expectInvalid(store.memory.set(m.id, 'k', nestedArray(depth)), /memory value 'k'.*1000/, `array ${depth}`);
          await expectInvalid(
            store.toolCalls.record({ mission: m.id, toolName: 't', args: nestedObject(depth), success: true }),
            /args.*1000/,
            `object ${depth}`,
          );
        }
        const viaToJson = { toJSON: () => nestedArray(1001) };
        await expectInvalid(store.missions.create({ phase: 'P', metadata: [viaToJson] }), /metadata.*1000/);
        const selfJson = {
          toJSON() {
            return selfJson;
          },
        };
        await expectInvalid(store.missions.create({ phase: 'P', metadata: selfJson }), /metadata/);
        expect(await dump(store)).toEqual(before);
        const reopened = await survivesCrash(store);
        expect(await reopened.memory.get(m.id, 'deepest')).toEqual(nestedArray(1000));
      });

      it('gives INVALID_INPUT naming the argument when an input or options object is null or not an object', async () => {
        const store = await fixture.fresh();
        const m = await store.missions.create({ phase: 'P' });
        const run = await store.playbookRuns.start({ mission: m.id, playbookName: 'pb', phase: 'P' });
        const before = await dump(store);
        const cases: [string, () => Promise<unknown>, RegExp][] = [
          ['memory.set options null', () => store.memory.set(m.id, 'k', 1, null as never), /options/],
          ['memory.set options number', () => store.memory.set(m.id, 'k', 1, 5 as never), /options/],
          ['missions.create null', () => store.missions.create(null as never), /input/],
          ['missions.list null', () => store.missions.list(null as never), /options/],
          ['missions.list string', () => store.missions.list('pending' as never), /options/],
          ['toolCalls.list null', () => store.toolCalls.list(null as never), /filter/],
          ['toolCalls.stats null', () => store.toolCalls.stats(null as never), /filter/],
          ['toolCalls.record null', () => store.toolCalls.record(null as never), /input/],
          ['toolCalls.record array', () => store.toolCalls.record([] as never), /input/],
          ['decisions.record null', () => store.decisions.record(null as never), /input/],
          ['playbookRuns.start null', () => store.playbookRuns.start(null as never), /input/],
          ['playbookRuns.finish number', () => store.playbookRuns.finish(run.id, 1 as never), /input/],
          ['playbookRuns.finish null', () => store.playbookRuns.finish(run.id, null as never), /input/],
          [
            'errorMessage object',
            () => store.toolCalls.record({ mission: m.id, toolName: 't', args: {}, success: false, errorMessage: { a: 1 } as never }),
            /errorMessage/,
          ],
          [
            'finish errorMessage number',
            () => store.playbookRuns.finish(run.id, { success: false, errorMessage: 7 as never }),
            /errorMessage/,
          ],
          [
            'rationale number',
            () => store.decisions.record({ mission: m.id, decisionType: 'd', rationale: 1 as never, agentName: 'a' }),
            /rationale/,
          ],
          ['track fn not a function', () => store.toolCalls.track(m.id, 't', {}, 'nope' as never), /fn/],
          [
            'toolCallId empty',
            () => store.toolCalls.record({ mission: m.id, toolName: 't', args: {}, success: true, toolCallId: '' }),
            /toolCallId/,
          ],
          [
            'toolCallId number',
            () => store.toolCalls.record({ mission: m.id, toolName: 't', args: {}, success: true, toolCallId: 7 as never }),
            /toolCallId/,
          ],
        ];
        for (const [label, call, message] of cases) await expectInvalid(call(), message, label);
        expect(await dump(store)).toEqual(before);
        const empty = await store.toolCalls.record({ mission: m.id, toolName: 't', args: {}, success: false, errorMessage: '' });
        expect(empty.errorMessage).toBe('');
      });
    });

    describe('track', () => {
      it('fails with NOT_FOUND before running the tool when the mission is unknown', async () => {
        const store = await fixture.fresh();
        let ran = false;
        const error = await rejection(
          store.toolCalls.track('nope', 't', {}, () => {
            ran = true;
          }),
        );
        expect(error.code).toBe('NOT_FOUND');
        expect(error).not.toBeInstanceOf(TrackError);
        expect(ran).toBe(false);
      });

      it('hands back the result of a tool that succeeded when recording it failed', async () => {
        const store = await fixture.fresh();
        const m = await store.missions.create({ phase: 'P' });
        const deleted = await rejection(
          store.toolCalls.track(m.id, 'write_file', {}, async () => {
            await store.missions.delete(m.id);
            return { written: 42 };
          }),
        );
        expect(deleted).toBeInstanceOf(TrackError);
        const failed = deleted as TrackError;
        expect(failed).toMatchObject({ code: 'NOT_FOUND', toolSucceeded: true, result: { written: 42 }, toolError: undefined });
        expect(failed.recordingError).toBeInstanceOf(StoreError);
        expect(failed.recordingError.code).toBe('NOT_FOUND');
        expect(failed.message).toMatch(/write_file.*succeeded/);

        const other = await store.missions.create({ phase: 'P' });
        const closed = await rejection(
          store.toolCalls.track(other.id, 'send', {}, async () => {
            await store.close();
            return 'sent';
          }),
        );
        expect(closed).toMatchObject({ code: 'CLOSED', toolSucceeded: true, result: 'sent' });
      });

      it('attaches the tool error as cause when the tool threw and recording failed', async () => {
        const store = await fixture.fresh();
        const m = await store.missions.create({ phase: 'P' });
        const boom = new Error('disk on fire \ud800');
        const error = await rejection(
          store.toolCalls.track(m.id, 'burn', {}, async () => {
            await store.missions.delete(m.id);
            throw boom;
          }),
        );
        expect(error).toBeInstanceOf(TrackError);
        expect(error).toMatchObject({ code: 'NOT_FOUND', toolSucceeded: false, toolError: boom, result: undefined });
        expect(error.cause).toBe(boom);
        expect((error as TrackError).recordingError.code).toBe('NOT_FOUND');
        // A tool error whose message is not well-formed is still recorded, made well-formed.
        const kept = await store.missions.create({ phase: 'P' });
        await expect(store.toolCalls.track(kept.id, 'burn', {}, () => Promise.reject(boom))).rejects.toBe(boom);
        expect((await store.toolCalls.list({ mission: kept.id }))[0]?.errorMessage).toBe('disk on fire \ufffd');
      });
    });
  });
}
