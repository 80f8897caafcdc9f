import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { MemoryVolume, memoryAdapter } from '../../adapters/memory.js';
import type { PersistenceAdapter } from '../../src/index.js';
import { type MissionStatus, openStore, type SQLiteStore, StoreError } from '../../src/index.js';
import { hostileStatement } from '../contract/sql-variants.js';

/** What both stores are driven with: the repositories and raw SQL, on a store or in a transaction. */
type Target = Pick<SQLiteStore, 'missions' | 'toolCalls' | 'decisions' | 'playbookRuns' | 'memory' | 'query'>;

type Ref = string | number;
type WriteOp =
  | { kind: 'createMission'; uuid: string; phase: string; metadata: unknown }
  | { kind: 'setStatus'; ref: Ref; status: MissionStatus }
  | { kind: 'setPhase'; ref: Ref; phase: string }
  | { kind: 'deleteMission'; ref: Ref }
  | { kind: 'toolCall'; ref: Ref; toolName: string; args: unknown; result: unknown; success: boolean; durationMs?: number }
  | { kind: 'decision'; ref: Ref; decisionType: string; rationale: string }
  | { kind: 'startRun'; ref: Ref; playbookName: string }
  | { kind: 'finishRun'; runId: number; success: boolean; metrics: unknown }
  | { kind: 'memSet'; ref: Ref; key: string; value: unknown; ttlSeconds?: number }
  | { kind: 'memDelete'; ref: Ref; key: string }
  | { kind: 'sweep' }
  | { kind: 'rawReplaceToolCall'; id: number; toolName: string }
  | { kind: 'rawReplaceMemory'; key: string }
  | { kind: 'rawDeleteAllToolCalls' }
  | { kind: 'rawUpdateReal'; value: number }
  | { kind: 'rawHostile'; sql: string };
type Op =
  | WriteOp
  | { kind: 'transaction'; ops: WriteOp[]; caught: WriteOp | null; throwAtEnd: boolean }
  | { kind: 'tick'; seconds: number }
  | { kind: 'checkpoint' }
  | { kind: 'checkpointFailsAfterSnapshot' }
  | { kind: 'crash' }
  | { kind: 'crashDuringCheckpoint' };

const TABLES = ['missions', 'tool_calls', 'decisions', 'playbook_runs', 'agent_memory'];

/**
 * Text as model output gives it: plain, cut in the middle of a character (lone surrogates),
 * with NUL, astral and combining characters, any code unit at all, or long.
 */
const text = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 12 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('x\ud800', 'x\ud801', 'k\udc00', 'k\udc01', 'a\u0000b', '\u0000', '😀', 'e\u0301', '\ud83d', '\ude00x'),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 200, maxLength: 2000 }) },
);
// Two uuids that differ only in a lone surrogate: they must never be merged into one.
const uuid = fc.constantFrom('m0', 'm1', 'm2', 'm3', 'x\ud800', 'x\ud801');
const ref: fc.Arbitrary<Ref> = fc.oneof(uuid, fc.integer({ min: 1, max: 5 }));
const json = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  text,
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.boolean(), { maxKeys: 2 }),
);
const key = fc.constantFrom('plan', 'notes', 'k', 'ünï', 'k\udc00', 'k\udc01', 'a\u0000b');

const writeOp: fc.Arbitrary<WriteOp> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('createMission' as const),
      uuid,
      phase: fc.oneof(fc.constantFrom('PLANNING', 'CODING'), text),
      metadata: json,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('setStatus' as const),
      ref,
      status: fc.constantFrom<MissionStatus>('pending', 'in_progress', 'completed', 'failed', 'cancelled'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('setPhase' as const), ref, phase: fc.constantFrom('REVIEW', 'DONE') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteMission' as const), ref }) },
  {
    weight: 5,
    arbitrary: fc.record(
      {
        kind: fc.constant('toolCall' as const),
        ref,
        toolName: fc.oneof(fc.constantFrom('read_file', 'grep', 'write_file'), text),
        args: json,
        result: json,
        success: fc.boolean(),
        durationMs: fc.integer({ min: 0, max: 5000 }),
      },
      { requiredKeys: ['kind', 'ref', 'toolName', 'args', 'result', 'success'] },
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('decision' as const),
      ref,
      decisionType: fc.constantFrom('plan', 'retry'),
      rationale: text,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('startRun' as const), ref, playbookName: fc.constantFrom('fix-bug', 'deploy') }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('finishRun' as const),
      runId: fc.integer({ min: 1, max: 6 }),
      success: fc.boolean(),
      metrics: json,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record(
      { kind: fc.constant('memSet' as const), ref, key, value: json, ttlSeconds: fc.integer({ min: 0, max: 300 }) },
      { requiredKeys: ['kind', 'ref', 'key', 'value'] },
    ),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('memDelete' as const), ref, key }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'sweep' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('rawReplaceToolCall' as const),
      id: fc.integer({ min: 1, max: 8 }),
      toolName: fc.constantFrom('raw_a', 'raw_b'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rawReplaceMemory' as const), key }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'rawDeleteAllToolCalls' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rawUpdateReal' as const), value: fc.constantFrom(0, 1, -0, 2.5, 1e21) }) },
  // Raw SQL the guard must refuse: in a transaction too, where it must not end or nest it.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rawHostile' as const), sql: hostileStatement }) },
);

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: writeOp },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('transaction' as const),
      ops: fc.array(writeOp, { minLength: 1, maxLength: 4 }),
      caught: fc.option(writeOp, { nil: null }),
      throwAtEnd: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), seconds: fc.integer({ min: 1, max: 200 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'checkpoint' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'checkpointFailsAfterSnapshot' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'crash' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'crashDuringCheckpoint' as const }) },
);

async function applyWrite(t: Target, o: WriteOp): Promise<unknown> {
  switch (o.kind) {
    case 'createMission':
      return t.missions.create({ uuid: o.uuid, phase: o.phase, metadata: o.metadata });
    case 'setStatus':
      return t.missions.setStatus(o.ref, o.status);
    case 'setPhase':
      return t.missions.setPhase(o.ref, o.phase);
    case 'deleteMission':
      return t.missions.delete(o.ref);
    case 'toolCall':
      return t.toolCalls.record({
        mission: o.ref,
        toolName: o.toolName,
        args: o.args,
        result: o.result,
        success: o.success,
        ...(o.durationMs === undefined ? {} : { durationMs: o.durationMs }),
      });
    case 'decision':
      return t.decisions.record({ mission: o.ref, decisionType: o.decisionType, rationale: o.rationale, agentName: 'planner' });
    case 'startRun':
      return t.playbookRuns.start({ mission: o.ref, playbookName: o.playbookName, phase: 'CODING' });
    case 'finishRun':
      return t.playbookRuns.finish(o.runId, { success: o.success, metrics: o.metrics });
    case 'memSet':
      return t.memory.set(o.ref, o.key, o.value, o.ttlSeconds === undefined ? {} : { ttlSeconds: o.ttlSeconds });
    case 'memDelete':
      return t.memory.delete(o.ref, o.key);
    case 'sweep':
      return t.memory.sweepExpired();
    case 'rawReplaceToolCall':
      // REPLACE deletes the row it collides with: no update hook fires for that delete.
      return t.query(
        "INSERT OR REPLACE INTO tool_calls (id, mission_id, tool_name, args, timestamp, success) SELECT ?, min(id), ?, '{}', '2030-01-01 00:00:00.000Z', 1 FROM missions HAVING count(*) > 0",
        [o.id, o.toolName],
      );
    case 'rawReplaceMemory':
      // Collides on the UNIQUE (mission_id, key) index with a row of another id.
      return t.query(
        "INSERT OR REPLACE INTO agent_memory (mission_id, key, value, timestamp) SELECT max(id), ?, '\"raw\"', '2030-01-01 00:00:00.000Z' FROM missions HAVING count(*) > 0",
        [o.key],
      );
    case 'rawDeleteAllToolCalls':
      // DELETE without WHERE: SQLite's truncate optimization skips the update hook.
      return t.query('DELETE FROM tool_calls');
    case 'rawUpdateReal':
      return t.query('UPDATE playbook_runs SET metrics = ?', [o.value]);
    case 'rawHostile':
      return t.query(o.sql);
  }
}

async function outcome(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await fn() };
  } catch (error) {
    return { error: error instanceof StoreError ? error.code : `${String(error)}` };
  }
}

async function applyOp(t: Target, s: SQLiteStore, o: Op): Promise<unknown> {
  if (o.kind !== 'transaction') return applyWrite(t, o as WriteOp);
  return s.transaction(async (tx) => {
    const results: unknown[] = [];
    for (const w of o.ops) results.push(await applyWrite(tx, w));
    if (o.caught) results.push(await outcome(() => applyWrite(tx, o.caught!)));
    if (o.throwAtEnd) throw new Error('rollback on purpose');
    return results;
  });
}

/** Every table's rows, with types, and the AUTOINCREMENT counters. */
async function dump(store: SQLiteStore): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const table of TABLES) {
    out[table] = await store.query(`SELECT *, typeof(${table === 'playbook_runs' ? 'metrics' : 'id'}) AS t FROM ${table} ORDER BY id`);
  }
  // seq 0 is left out: an INSERT ... SELECT that inserts nothing creates a (table, 0) row
  // that no record carries; for AUTOINCREMENT it means the same as no row at all.
  out.sqlite_sequence = await store.query('SELECT name, seq FROM sqlite_sequence WHERE seq > 0 ORDER BY name');
  return out;
}

interface Incarnation {
  dead: boolean;
  failCheckpointAfterSnapshot: boolean;
  tearCheckpoint: (() => void) | null;
}

/** A memory adapter that stops for good when its incarnation is dead, as a killed process does. */
function crashableAdapter(volume: MemoryVolume, life: Incarnation): PersistenceAdapter {
  const inner = memoryAdapter(volume);
  const never = () => new Promise<never>(() => undefined);
  return {
    location: 'crashable-memory',
    load: () => (life.dead ? never() : inner.load()),
    close: () => (life.dead ? never() : inner.close()),
    async append(record) {
      if (life.dead) return never();
      return inner.append(record);
    },
    async checkpoint(snapshot) {
      if (life.dead) return never();
      if (life.tearCheckpoint) {
        // Killed after the new snapshot reached the disk, before the old records were dropped.
        volume.snapshot = snapshot.slice();
        life.dead = true;
        life.tearCheckpoint();
        return never();
      }
      if (life.failCheckpointAfterSnapshot) {
        life.failCheckpointAfterSnapshot = false;
        volume.snapshot = snapshot.slice();
        throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
      }
      return inner.checkpoint(snapshot);
    },
  };
}

async function runScenario(ops: Op[]): Promise<void> {
  let now = Date.parse('2030-01-01T00:00:00Z');
  const clock = () => new Date(now);
  const volume = new MemoryVolume();
  const quiet = () => undefined;
  let life: Incarnation = { dead: false, failCheckpointAfterSnapshot: false, tearCheckpoint: null };
  const policy = { minLogBytes: 1500, maxLogBytes: 1500 };
  let real = await openStore({ adapter: crashableAdapter(volume, life), clock, checkpoint: policy, onWarning: quiet });
  const shadow = await openStore({ adapter: memoryAdapter(), clock, onWarning: quiet });
  const crash = async () => {
    life.dead = true;
    volume.breakLock();
    life = { dead: false, failCheckpointAfterSnapshot: false, tearCheckpoint: null };
    real = await openStore({ adapter: crashableAdapter(volume, life), clock, checkpoint: policy, onWarning: quiet });
    expect(await dump(real), 'after a crash and reopen').toEqual(await dump(shadow));
  };
  for (const [i, o] of ops.entries()) {
    switch (o.kind) {
      case 'tick':
        now += o.seconds * 1000;
        break;
      case 'checkpoint':
        await real.checkpoint();
        break;
      case 'checkpointFailsAfterSnapshot': {
        life.failCheckpointAfterSnapshot = true;
        const result = await outcome(() => real.checkpoint());
        expect(result).toEqual({ error: 'IO' });
        break;
      }
      case 'crash':
        await crash();
        break;
      case 'crashDuringCheckpoint': {
        const torn = new Promise<void>((resolve) => {
          life.tearCheckpoint = resolve;
        });
        void real.checkpoint();
        await torn;
        await crash();
        break;
      }
      default: {
        const a = await outcome(() => applyOp(real, real, o));
        const b = await outcome(() => applyOp(shadow, shadow, o));
        expect(a, `op ${i}: ${JSON.stringify(o)}`).toEqual(b);
      }
    }
  }
  expect(await dump(real), 'before the final crash').toEqual(await dump(shadow));
  await crash();
  await real.close();
  real = await openStore({ adapter: memoryAdapter(volume), clock, onWarning: quiet });
  expect(await dump(real), 'after close and reopen').toEqual(await dump(shadow));
  expect(await real.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
  expect(await real.query('PRAGMA foreign_key_check')).toEqual([]);
  await real.close();
  await shadow.close();
}

describe('replay is exact', () => {
  test('random writes, crashes and checkpoints give back exactly the acknowledged state', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 60 }), (ops) => runScenario(ops)),
      { numRuns: 150 },
    );
  });

  test('the comparison sees a lost write (the check can fail)', async () => {
    const volume = new MemoryVolume();
    const store = await openStore({ adapter: memoryAdapter(volume) });
    const shadow = await openStore({ adapter: memoryAdapter() });
    for (const s of [store, shadow]) await s.missions.create({ uuid: 'm0', phase: 'PLANNING' });
    await shadow.toolCalls.record({ mission: 'm0', toolName: 'x', args: {}, success: true });
    volume.breakLock();
    const reopened = await openStore({ adapter: memoryAdapter(volume) });
    expect(await dump(reopened)).not.toEqual(await dump(shadow));
  });

  test('a scenario with every kind of command, crash in the middle of a checkpoint included', async () => {
    await runScenario([
      { kind: 'createMission', uuid: 'm0', phase: 'PLANNING', metadata: { a: 1 } },
      { kind: 'createMission', uuid: 'm1', phase: 'PLANNING', metadata: null },
      { kind: 'setStatus', ref: 'm0', status: 'in_progress' },
      { kind: 'toolCall', ref: 'm0', toolName: 'grep', args: [1], result: null, success: true, durationMs: 3 },
      { kind: 'decision', ref: 1, decisionType: 'plan', rationale: 'because' },
      { kind: 'startRun', ref: 'm0', playbookName: 'deploy' },
      { kind: 'finishRun', runId: 1, success: true, metrics: { steps: 2 } },
      { kind: 'rawUpdateReal', value: 1 },
      { kind: 'memSet', ref: 'm0', key: 'plan', value: 'a', ttlSeconds: 10 },
      { kind: 'memSet', ref: 'm1', key: 'plan', value: 'b' },
      { kind: 'crashDuringCheckpoint' },
      { kind: 'tick', seconds: 20 },
      { kind: 'sweep' },
      { kind: 'rawReplaceMemory', key: 'plan' },
      { kind: 'rawReplaceToolCall', id: 1, toolName: 'raw_a' },
      { kind: 'checkpointFailsAfterSnapshot' },
      { kind: 'toolCall', ref: 'm1', toolName: 'read_file', args: {}, result: 1, success: false },
      {
        kind: 'transaction',
        ops: [
          { kind: 'toolCall', ref: 'm1', toolName: 'write_file', args: {}, result: null, success: true },
          { kind: 'memDelete', ref: 'm1', key: 'plan' },
        ],
        caught: { kind: 'createMission', uuid: 'm0', phase: 'PLANNING', metadata: null },
        throwAtEnd: false,
      },
      {
        kind: 'transaction',
        ops: [{ kind: 'deleteMission', ref: 'm1' }],
        caught: null,
        throwAtEnd: true,
      },
      { kind: 'crash' },
      { kind: 'rawDeleteAllToolCalls' },
      { kind: 'deleteMission', ref: 'm0' },
      { kind: 'crash' },
    ]);
  });
});
