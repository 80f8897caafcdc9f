import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MemoryVolume, memoryAdapter } from '../../adapters/memory.js';
import { openStore, type SQLiteStore, schemaMigrations } from '../../src/index.js';

// The three queries exactly as the README shows them: the plans proven here are those of the
// documented text, not of a rewrite.
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf("## The seed's debugging queries"));
const block = section.slice(section.indexOf('```sql') + 6, section.indexOf('```', section.indexOf('```sql') + 6));
const queries = block
  .split(/^-- /m)
  .filter((part) => part.trim().length > 0)
  .map((part) => {
    const [title, ...sql] = part.split('\n');
    return { title: title!.trim(), sql: sql.join('\n').trim() };
  });

const SEED_TABLES = ['tool_calls', 'decisions', 'missions'];

/** The plan's detail lines, as EXPLAIN QUERY PLAN prints them. */
async function plan(store: SQLiteStore, sql: string): Promise<string[]> {
  const rows = await store.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`);
  return rows.map((row) => row.detail);
}

/** Why a plan is not "an index and no full scan" for the seed's tables, or null when it is. */
function fault(details: readonly string[]): string | null {
  for (const table of SEED_TABLES) {
    const scan = details.find((d) => new RegExp(`^SCAN ${table}\\b`).test(d));
    if (scan) return `full scan: ${scan}`;
    const reads = details.filter((d) => new RegExp(`^SEARCH ${table}\\b`).test(d));
    const unindexed = reads.find((d) => !/ USING (COVERING )?INDEX | USING INTEGER PRIMARY KEY /.test(d));
    if (unindexed) return `search without an index: ${unindexed}`;
  }
  return null;
}

async function storeWithCalls(migrations = schemaMigrations): Promise<SQLiteStore> {
  const store = await openStore({ adapter: memoryAdapter(new MemoryVolume()), migrations });
  await store.transaction(async (tx) => {
    for (const [uuid, phase] of [
      ['abc-123', 'PLANNING'],
      ['m2', 'CODING'],
      ['m3', 'REVIEW'],
    ] as const) {
      await tx.missions.create({ uuid, phase });
      for (let i = 0; i < 20; i++) {
        await tx.run(
          'INSERT INTO tool_calls (mission_id, tool_name, args, timestamp, success) VALUES ((SELECT id FROM missions WHERE mission_uuid = ?), ?, ?, ?, ?)',
          [uuid, `tool_${i % 4}`, '{}', new Date(Date.now() - i * 600_000).toISOString().replace('T', ' '), i % 3 === 0 ? 0 : 1],
        );
      }
      await tx.decisions.record({ mission: uuid, decisionType: 'plan', rationale: 'why', agentName: 'a' });
    }
  });
  return store;
}

describe("the seed's queries, as the README shows them, under EXPLAIN QUERY PLAN", () => {
  it('the README shows the three queries', () => {
    expect(queries.map((q) => q.title)).toEqual([
      '"What tools did the planning phase use?"',
      '"Why did the agent make decision X?"  (missions are keyed by integer id; ask by uuid)',
      '"Show me all failed tool calls in the last hour"',
    ]);
  });

  it('each uses an index and no full scan of tool_calls, decisions or missions', async () => {
    const store = await storeWithCalls();
    const [planning, decision, failed] = await Promise.all(queries.map((q) => plan(store, q.sql)));
    for (const [i, details] of [planning!, decision!, failed!].entries())
      expect(fault(details), `${queries[i]!.title}: ${details.join(' | ')}`).toBeNull();
    // The indexes each query is meant to use (schema/0004_seed_query_indexes.sql, and 0001's for decisions).
    expect(planning).toEqual(
      expect.arrayContaining([
        'SEARCH missions USING COVERING INDEX idx_missions_phase (phase=?)',
        'SEARCH tool_calls USING COVERING INDEX idx_tool_calls_mission_tool (mission_id=?)',
      ]),
    );
    expect(failed).toEqual(['SEARCH tool_calls USING INDEX idx_tool_calls_failed_time (success=? AND timestamp>?)']);
    expect(decision).toContain('SEARCH decisions USING INDEX idx_decisions_mission_time (mission_id=?)');
    // The index gives the decisions in time order: no sort.
    expect(decision!.some((d) => /TEMP B-TREE/.test(d))).toBe(false);
    await store.close();
  });

  it('the same plans after a reopen from the snapshot and the log', async () => {
    const volume = new MemoryVolume();
    const first = await openStore({ adapter: memoryAdapter(volume) });
    await first.missions.create({ uuid: 'abc-123', phase: 'PLANNING' });
    await first.toolCalls.record({ mission: 'abc-123', toolName: 'search', args: {}, success: false });
    volume.breakLock();
    const again = await openStore({ adapter: memoryAdapter(volume) });
    for (const q of queries) expect(fault(await plan(again, q.sql)), q.title).toBeNull();
    await again.close();
  });

  it("the planning query keeps 0004's plan, sort and all, under a 1M-call store's statistics", async () => {
    // A store that ran ANALYZE (sqlite3's or `store.run('ANALYZE')`) plans from sqlite_stat1. These
    // are the rows ANALYZE wrote on the bench's 1M-call store (bench/node-scale.ts: 10,000 missions of
    // five phases, 100 calls each). With statistics SQLite may also weigh reading the calls first and
    // checking each one's mission through a Bloom filter: every call read, which measured slower than
    // 0004's plan at every share of calls in PLANNING missions (docs/benchmarks.md, "Scale").
    // Empty: ANALYZE then writes no statistics of its own, so only the rows below are in effect.
    const store = await openStore({ adapter: memoryAdapter(new MemoryVolume()) });
    await store.run('ANALYZE');
    for (const [tbl, idx, stat] of [
      ['tool_calls', 'idx_tool_calls_failed_time', '20000 20000 1'],
      ['tool_calls', 'idx_tool_calls_mission_tool', '1000000 100 13'],
      ['tool_calls', 'idx_tool_calls_success', '1000000 500000'],
      ['tool_calls', 'idx_tool_calls_mission_time', '1000000 100 1'],
      ['decisions', 'idx_decisions_mission_time', '20000 2 1'],
      ['missions', 'idx_missions_phase', '10000 2000'],
      ['missions', 'idx_missions_status', '10000 5000'],
      ['missions', 'sqlite_autoindex_missions_1', '10000 1'],
    ] as const)
      await store.run('INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)', [tbl, idx, stat]);
    // Loads the statistics just written into the planner.
    await store.run('ANALYZE sqlite_schema');
    const planning = queries[0]!.sql;
    // The control: the statistics are in effect, since SQLite plans a Bloom filter only from them.
    const callsFirst = await plan(store, planning.replace('JOIN missions', 'CROSS JOIN missions'));
    expect(callsFirst.some((d) => d.startsWith('BLOOM FILTER ON missions'))).toBe(true);
    expect(await plan(store, planning)).toEqual([
      'SEARCH missions USING COVERING INDEX idx_missions_phase (phase=?)',
      'SEARCH tool_calls USING COVERING INDEX idx_tool_calls_mission_tool (mission_id=?)',
      'USE TEMP B-TREE FOR GROUP BY',
    ]);
    await store.close();
  });

  it('the check sees the full scans of a store without migration 0004', async () => {
    const store = await storeWithCalls(schemaMigrations.slice(0, 3));
    const [planning, , failed] = await Promise.all(queries.map((q) => plan(store, q.sql)));
    expect(fault(planning!)).toBe('full scan: SCAN tool_calls');
    // Without 0004 the failed-calls query searches idx_tool_calls_success: indexed, but it then reads every failure.
    expect(failed).toEqual(['SEARCH tool_calls USING INDEX idx_tool_calls_success (success=?)']);
    await store.close();
  });
});
