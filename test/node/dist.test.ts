import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { schemaMigrations } from '../../src/index.js';
import { sqliteReader } from './sqlite-reader.js';

const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'aos-dist-'));
const db = join(dir, 'agent-ops.db');
const reader = sqliteReader();
const sqlite = (sql: string) => reader.run(db, sql);

describe('the built package, imported by name (dist/)', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is built', () => {
    expect(existsSync(join(root, 'dist/index.js')), 'run npm run build first (npm test does it in pretest)').toBe(true);
  });

  it(`runs the demo mission into a file an independent SQLite (${reader.kind}) opens, with integrity ok`, async () => {
    const out = execFileSync('npx', ['tsx', 'demo/run-mission.ts', db], { cwd: root, encoding: 'utf8' });
    expect(out).toContain('What tools did the planning phase use?');
    expect(out).toMatch(/read_file/);
    expect(await sqlite('PRAGMA integrity_check')).toBe('ok');
    expect(await sqlite('PRAGMA user_version')).toBe(String(schemaMigrations.length));
    expect(Number(await sqlite('SELECT count(*) FROM tool_calls'))).toBeGreaterThan(4);
  });

  it('reopens in a new process, cascades a delete, and throws StoreError from dist', async () => {
    const out = JSON.parse(execFileSync('node', [join(root, 'test/fixtures/dist-reopen.mjs'), db], { cwd: root, encoding: 'utf8' }));
    expect(out.before.missions).toBe(2);
    expect(out.after.missions).toBe(1);
    expect(out.after.toolCalls).toBeLessThan(out.before.toolCalls);
    expect(out.after.decisions).toBe(1);
    expect(out).toMatchObject({ errorIsStoreError: true, code: 'INVALID_INPUT' });
    expect(await sqlite('PRAGMA integrity_check')).toBe('ok');
    expect(await sqlite('SELECT count(*) FROM tool_calls WHERE mission_id NOT IN (SELECT id FROM missions)')).toBe('0');
  });
});
