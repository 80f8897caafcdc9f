import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsAdapter } from '../../adapters/fs.js';
import { openStore } from '../../src/index.js';
import { hasSqliteCli, type SqliteReaderKind, sqliteReader } from './sqlite-reader.js';

// The other tests use the CLI where it is installed; this file runs the wasm reader every time,
// so the path a machine without the CLI takes cannot rot unnoticed, and checks both agree.
const kinds: SqliteReaderKind[] = hasSqliteCli ? ['wasm', 'cli'] : ['wasm'];
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aos-reader-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A closed store file with two missions, each with a tool call and a decision. */
async function storeFile(name: string): Promise<string> {
  const path = join(dir, name);
  const store = await openStore({ adapter: fsAdapter(path) });
  for (const uuid of ['keep', 'drop']) {
    const m = await store.missions.create({ phase: 'PLANNING', uuid, metadata: { note: null } });
    await store.toolCalls.record({ mission: m.id, toolName: 'read_file', args: { uuid }, success: true });
    await store.decisions.record({ mission: m.id, decisionType: 'plan', rationale: uuid, agentName: 'a' });
  }
  await store.close();
  return path;
}

describe.each(kinds)('the %s SQLite reader', (kind) => {
  const sqlite = sqliteReader(kind);

  it('is the one asked for', () => {
    expect(sqlite.kind).toBe(kind);
  });

  it("lists the seed schema's tables and reads its foreign keys, as .read and .tables do", async () => {
    const read = 'docs/tasks/ARCH-001_schema.sql';
    expect(await sqlite.tables(':memory:', { read })).toEqual(['agent_memory', 'decisions', 'missions', 'playbook_runs', 'tool_calls']);
    expect(await sqlite.run(':memory:', `SELECT "table", "to", on_delete FROM pragma_foreign_key_list('decisions')`, { read })).toBe(
      'missions|id|CASCADE',
    );
  });

  it('reads a store file in list mode, and a cascading delete it runs lands in the file', async () => {
    const path = await storeFile(`${kind}.db`);
    expect(await sqlite.run(path, 'PRAGMA integrity_check')).toBe('ok');
    expect(await sqlite.run(path, "SELECT mission_uuid, NULL, 1.5, phase FROM missions WHERE mission_uuid = 'keep'")).toBe(
      'keep||1.5|PLANNING',
    );
    expect(await sqlite.run(path, 'SELECT mission_uuid FROM missions ORDER BY id')).toBe('keep\ndrop');
    expect(await sqlite.run(path, 'SELECT 1 WHERE 0')).toBe('');
    await sqlite.run(path, "PRAGMA foreign_keys = ON; DELETE FROM missions WHERE mission_uuid = 'drop';");
    expect(await sqlite.run(path, 'SELECT count(*) FROM decisions')).toBe('1');
    const again = await openStore({ adapter: fsAdapter(path) });
    expect((await again.missions.list()).map((m) => m.uuid)).toEqual(['keep']);
    expect(await again.query('SELECT count(*) AS n FROM tool_calls')).toEqual([{ n: 1 }]);
    await again.close();
  });
});

describe.runIf(hasSqliteCli)('the wasm reader against the CLI', () => {
  it('prints the same as the CLI for the same queries on the same file', async () => {
    const path = await storeFile('both.db');
    const queries = [
      'PRAGMA user_version',
      'SELECT id, mission_uuid, status, metadata FROM missions ORDER BY id',
      'SELECT tool_name, success, duration_ms FROM tool_calls ORDER BY id',
      'PRAGMA foreign_key_check',
    ];
    for (const sql of queries) expect(await sqliteReader('wasm').run(path, sql), sql).toBe(await sqliteReader('cli').run(path, sql));
    expect(await sqliteReader('wasm').tables(path)).toEqual(await sqliteReader('cli').tables(path));
  });
});
