import { describe, expect, test } from 'vitest';
import { MemoryVolume, memoryAdapter } from '../../adapters/memory.js';
import { ChangeCapture } from '../../src/change-capture.js';
import { Connection } from '../../src/connection.js';
import type { Executor } from '../../src/executor.js';
import { openStore, type SQLiteStore } from '../../src/index.js';
import { migrate, schemaMigrations } from '../../src/migrations.js';
import { encodeRecord } from '../../src/record-codec.js';
import { loadSqlEngine } from '../../src/sql-engine.js';
import { type RecordToolCallInput, ToolCallRepository } from '../../src/tool-calls.js';

const CLOCK = new Date('2026-03-04T05:06:07.089Z');

/**
 * A connection set up as the store sets up its own, with the schema, one mission and change
 * capture; `images: false` makes capture read every row back, as it did before row images.
 */
async function captured(images: boolean) {
  const SQL = await loadSqlEngine();
  const conn = new Connection(new SQL.Database());
  conn.exec(
    'PRAGMA temp_store = MEMORY; PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; ' +
      'PRAGMA recursive_triggers = ON; PRAGMA foreign_keys = ON',
  );
  migrate(conn, schemaMigrations);
  conn.run("INSERT INTO missions (mission_uuid, phase, created_at) VALUES ('m-1', 'CODING', '2026-01-01T00:00:00.000Z')");
  const capture = new ChangeCapture(conn);
  capture.install();
  if (!images) conn.setRowImageSink(null);
  let rereads = 0;
  const rawRows = conn.rawRows.bind(conn);
  conn.rawRows = (sql, params) => {
    // The re-read of a row's image (see checkedRowSql in change-capture.ts).
    if (sql.includes('octet_length')) rereads++;
    return rawRows(sql, params);
  };
  const records: Uint8Array[] = [];
  const exec: Executor = {
    read: async (fn) => fn(conn),
    write: async (fn) => {
      conn.run('BEGIN');
      try {
        const result = fn(conn);
        const changes = capture.collect();
        if (changes) records.push(encodeRecord({ identity: '0123456789abcdef', generation: 1, seq: records.length, changes }));
        conn.run('COMMIT');
        return result;
      } catch (error) {
        conn.exec('ROLLBACK');
        capture.discard();
        throw error;
      }
    },
    now: () => CLOCK,
  };
  return { repo: new ToolCallRepository(exec), records, rereads: () => rereads };
}

/** Inputs that walk each column's type affinity and the text edge cases. */
const INPUTS: RecordToolCallInput[] = [
  {
    mission: 1,
    toolName: 'read_file',
    args: { path: 'src/a.ts', n: [1, 2.5, -0, null] },
    result: { ok: true },
    durationMs: 42,
    success: true,
  },
  {
    mission: 'm-1',
    toolName: 'ünïcødé ✓ 𝄞 漢字',
    args: 'text \ufffd kept',
    success: false,
    errorMessage: 'boom\ud83d\ude00',
    agentName: 'a',
  },
  { mission: 1, toolName: 't', args: [], durationMs: 0, success: true, toolCallId: 'call_1', timestamp: '2026-01-01T00:00:00Z' },
  { mission: 1, toolName: 't', args: {}, durationMs: -0, success: true },
  { mission: 1, toolName: 't', args: 1, durationMs: 2 ** 31 + 5, success: true },
  { mission: 1, toolName: 't', args: null, durationMs: 2 ** 40 + 0.4, success: true },
  { mission: 1, toolName: 't', args: true, durationMs: 1e300, success: true, result: '\u2028\u0000' },
  { mission: 1, toolName: 't', args: 'x', durationMs: 2 ** 53 + 2, success: true, errorMessage: '' },
  { mission: 1, toolName: 't\u0000u', args: {}, success: false, errorMessage: 'a\u0000b', agentName: '\ufffd' },
];

describe('row images: a repository insert is journaled from the values it bound', () => {
  test('each record is byte for byte the one that reading the row back gives', async () => {
    const imaged = await captured(true);
    const reread = await captured(false);
    for (const input of INPUTS) {
      expect(await imaged.repo.record(input)).toStrictEqual(await reread.repo.record(input));
    }
    expect(imaged.records).toHaveLength(INPUTS.length);
    for (const [i, bytes] of imaged.records.entries()) expect(bytes, `record of input ${i}`).toStrictEqual(reread.records[i]);
    // Only the durations beyond 2^53 and 1e300 (INTEGER affinity of an unsafe integer) are read back.
    expect(reread.rereads()).toBe(INPUTS.length);
    expect(imaged.rereads()).toBe(2);
  });
});

/** The store as reopened from its log alone, as after a crash: what the records say. */
async function replayed(volume: MemoryVolume, store: SQLiteStore, migrations = schemaMigrations): Promise<SQLiteStore> {
  volume.breakLock();
  const reopened = await openStore({ adapter: memoryAdapter(volume), migrations, checkpoint: NEVER });
  // The crashed store is dropped without close(), which would checkpoint.
  void store;
  return reopened;
}

const NEVER = { minLogBytes: 1e12, maxLogBytes: 1e12 } as const;
const ALL_CALLS = 'SELECT * FROM tool_calls ORDER BY id';

describe('row images: the log holds what the rows hold at commit', () => {
  test('a row changed or rolled back after its insert, in one transaction', async () => {
    const volume = new MemoryVolume();
    const store = await openStore({ adapter: memoryAdapter(volume), checkpoint: NEVER });
    const mission = await store.missions.create({ phase: 'CODING' });
    await store.transaction(async (tx) => {
      const kept = await tx.toolCalls.record({ mission: mission.id, toolName: 'kept', args: {}, success: true });
      await tx.run('UPDATE tool_calls SET tool_name = ? WHERE id = ?', ['changed after insert', kept.id]);
      await tx
        .transaction(async (tx2) => {
          await tx2.toolCalls.record({ mission: mission.id, toolName: 'rolled back', args: {}, success: true });
          throw new Error('undo the nested transaction');
        })
        .catch(() => undefined);
      await tx.toolCalls.record({ mission: mission.id, toolName: 'after the rollback', args: {}, success: true });
      const gone = await tx.toolCalls.record({ mission: mission.id, toolName: 'deleted', args: {}, success: true });
      await tx.run('DELETE FROM tool_calls WHERE id = ?', [gone.id]);
    });
    const before = await store.query(ALL_CALLS);
    expect(before.map((row) => row.tool_name)).toEqual(['changed after insert', 'after the rollback']);
    const reopened = await replayed(volume, store);
    expect(await reopened.query(ALL_CALLS)).toEqual(before);
    await reopened.close();
  });

  test("a trigger of the app's schema that changes the new row, and a column left to its DEFAULT", async () => {
    const migrations = [
      ...schemaMigrations,
      {
        version: schemaMigrations.length + 1,
        name: 'app',
        sql:
          "ALTER TABLE tool_calls ADD COLUMN note TEXT DEFAULT 'by default';" +
          "CREATE TRIGGER app_stamp AFTER INSERT ON tool_calls WHEN NEW.tool_name = 'stamped' BEGIN " +
          "UPDATE tool_calls SET agent_name = 'by trigger' WHERE id = NEW.id; END;",
      },
    ];
    const volume = new MemoryVolume();
    const store = await openStore({ adapter: memoryAdapter(volume), migrations, checkpoint: NEVER });
    const mission = await store.missions.create({ phase: 'CODING' });
    await store.toolCalls.record({ mission: mission.id, toolName: 'stamped', args: {}, success: true });
    await store.toolCalls.record({ mission: mission.id, toolName: 'plain', args: {}, success: true });
    const before = await store.query(ALL_CALLS);
    expect(before.map((row) => [row.agent_name, row.note])).toEqual([
      ['by trigger', 'by default'],
      [null, 'by default'],
    ]);
    const reopened = await replayed(volume, store, migrations);
    expect(await reopened.query(ALL_CALLS)).toEqual(before);
    await reopened.close();
  });

  test('group commit: writes rejected alone keep no row in the shared record', async () => {
    const volume = new MemoryVolume();
    const store = await openStore({ adapter: memoryAdapter(volume), checkpoint: NEVER });
    const mission = await store.missions.create({ phase: 'CODING' });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        store.toolCalls.record({ mission: i % 3 === 1 ? 999 : mission.id, toolName: `call ${i}`, args: { i }, success: true }),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual(Array.from({ length: 12 }, (_, i) => (i % 3 === 1 ? 'rejected' : 'fulfilled')));
    const before = await store.query(ALL_CALLS);
    expect(before).toHaveLength(8);
    const reopened = await replayed(volume, store);
    expect(await reopened.query(ALL_CALLS)).toEqual(before);
    await reopened.close();
  });
});
