import { readFileSync } from 'node:fs';
import initSqlJs from 'sql.js';
import { describe, expect, it } from 'vitest';
import { schemaMigrations } from '../../src/index.js';
import { sqliteReader } from './sqlite-reader.js';

const docsSchemaPath = 'docs/tasks/ARCH-001_schema.sql';
const docsSchema = readFileSync(new URL(`../../${docsSchemaPath}`, import.meta.url), 'utf8');
const sqlite = sqliteReader();

/** Every schema object with its SQL text, as SQLite stores it. */
async function objects(ddl: string): Promise<unknown[][]> {
  const SQL = await initSqlJs();
  const db = new SQL.Database();
  db.exec(ddl);
  const rows = db.exec("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")[0]!.values;
  db.close();
  return rows;
}

describe('docs/tasks/ARCH-001_schema.sql', () => {
  it('holds exactly the DDL the store applies (schema/0001_init.sql)', async () => {
    expect(await objects(docsSchema)).toEqual(await objects(schemaMigrations[0]!.sql));
  });

  it(`passes the seed's validation in an independent SQLite (${sqlite.kind}): .tables prints the five tables`, async () => {
    expect(await sqlite.tables(':memory:', { read: docsSchemaPath })).toEqual([
      'agent_memory',
      'decisions',
      'missions',
      'playbook_runs',
      'tool_calls',
    ]);
  });

  it("has the seed's indexes, foreign keys with cascade, and a comment on every column", async () => {
    const names = (await objects(docsSchema)).filter((o) => o[0] === 'index').map((o) => o[1]);
    expect(names).toEqual(
      expect.arrayContaining([
        'idx_missions_status',
        'idx_tool_calls_mission_time',
        'idx_tool_calls_success',
        'idx_decisions_mission_time',
        'idx_agent_memory_mission_key',
      ]),
    );
    for (const table of ['tool_calls', 'decisions', 'playbook_runs', 'agent_memory']) {
      const fk = await sqlite.run(':memory:', `SELECT "table", "to", on_delete FROM pragma_foreign_key_list('${table}')`, {
        read: docsSchemaPath,
      });
      expect(fk, table).toBe('missions|id|CASCADE');
    }
    // Each column definition line carries a '--' comment.
    const body = docsSchema.split('\n').filter((l) => /^\s{4}[a-z_]+ (INTEGER|TEXT)/.test(l));
    expect(body.length).toBeGreaterThanOrEqual(35);
    for (const line of body) expect(line, line).toContain('--');
  });
});
