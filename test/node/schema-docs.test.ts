import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import initSqlJs from 'sql.js';
import { describe, expect, it } from 'vitest';
import { schemaMigrations } from '../../src/index.js';

const docsSchema = readFileSync(new URL('../../docs/tasks/ARCH-001_schema.sql', import.meta.url), 'utf8');

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

  it("passes the seed's validation with the real sqlite3 CLI: .tables prints the five tables", () => {
    const out = execFileSync('sqlite3', [':memory:', '.read docs/tasks/ARCH-001_schema.sql', '.tables'], { encoding: 'utf8' });
    expect(out.split(/\s+/).filter(Boolean)).toEqual(['agent_memory', 'decisions', 'missions', 'playbook_runs', 'tool_calls']);
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
      const fk = execFileSync(
        'sqlite3',
        [':memory:', '.read docs/tasks/ARCH-001_schema.sql', `SELECT "table", "to", on_delete FROM pragma_foreign_key_list('${table}')`],
        {
          encoding: 'utf8',
        },
      );
      expect(fk.trim(), table).toBe('missions|id|CASCADE');
    }
    // Each column definition line carries a '--' comment.
    const body = docsSchema.split('\n').filter((l) => /^\s{4}[a-z_]+ (INTEGER|TEXT)/.test(l));
    expect(body.length).toBeGreaterThanOrEqual(35);
    for (const line of body) expect(line, line).toContain('--');
  });
});
