import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fsAdapter } from '../../adapters/fs.js';
import { ENGINE_MAX_BYTES, importLegacyJson, openStore, type SQLiteStore, schemaMigrations } from '../../src/index.js';
import { legacyMission, portableRows } from '../contract/legacy-archive-suite.js';
import { dump, TABLES } from '../contract/store-fixture.js';
import { cliPath, oneLineError, requireBuiltCli, runCli } from './cli-harness.js';

let root: string;
let n = 0;
/** A new empty folder for one test. */
const folder = async () => {
  const dir = join(root, `t${++n}`);
  await mkdir(dir, { recursive: true });
  return dir;
};

beforeAll(async () => {
  requireBuiltCli();
  root = await mkdtemp(join(tmpdir(), 'aos-cli-'));
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** Opens the store at `path` in this process, runs `fn`, closes it. */
async function withStore<T>(path: string, fn: (store: SQLiteStore) => Promise<T>, readOnly = false): Promise<T> {
  const store = await openStore({ adapter: fsAdapter(path), readOnly, onWarning: () => undefined });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Writes legacy files into `<dir>/missions/`. */
async function legacyFolder(dir: string, files: Record<string, unknown>): Promise<string> {
  await mkdir(join(dir, 'missions'), { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    await writeFile(join(dir, 'missions', name), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
  return dir;
}

describe('import-json', () => {
  test('imports a folder: a malformed file and a clashing uuid are refused alone (exit 65), and a second run imports nothing new', async () => {
    const dir = await folder();
    const badField = legacyMission('m-bad');
    (badField.tool_calls as Record<string, unknown>[])[0]!.ok = 'yes';
    const state = await legacyFolder(join(dir, '.agent-state'), {
      'm-1.json': legacyMission('m-1'),
      'm-2.json': legacyMission('m-2', { status: 'running', completed_at: null }),
      // Saved with a byte order mark, as some Windows editors do.
      'm-3.json': `\uFEFF${JSON.stringify(legacyMission('m-3'))}`,
      'broken.json': '{ "mission_id": "m-x", ',
      'm-bad.json': badField,
      // The same uuid as m-1.json with other content: sorted after it, so it is the one refused.
      'm-9-clash.json': legacyMission('m-1', { phase: 'REVIEW' }),
      'notes.txt': 'not a mission file',
    });
    const db = join(dir, 'agent-ops.db');
    const first = await runCli(['import-json', db, state]);
    expect(first.code).toBe(65);
    const messages = first.stderr.split('\n').filter(Boolean);
    expect(messages).toContainEqual(expect.stringMatching(/^agent-ops: .*broken\.json: not JSON: /));
    expect(messages).toContain(`agent-ops: ${join(state, 'missions', 'm-bad.json')}: tool_calls[0].ok must be true or false, got 'yes'`);
    expect(messages).toContainEqual(
      expect.stringMatching(/^agent-ops: .*m-9-clash\.json: mission 'm-1' already exists with other content \(first difference: phase\)$/),
    );
    expect(messages.at(-1)).toBe('imported 3, already present 0, refused 3 (of 6 files)');
    const before = await withStore(db, dump, true);
    expect((before.missions as { mission_uuid: string }[]).map((m) => m.mission_uuid)).toEqual(['m-1', 'm-2', 'm-3']);
    expect(before.tool_calls).toHaveLength(6);
    expect((before.missions as { phase: string }[])[0]!.phase).toBe('CODING');

    const second = await runCli(['import-json', db, state]);
    expect(second.code).toBe(65);
    expect(second.stderr.split('\n').filter(Boolean).at(-1)).toBe('imported 0, already present 3, refused 3 (of 6 files)');
    expect(await withStore(db, dump, true)).toEqual(before);

    // Only the good files: exit 0. A single file works as well as a folder.
    const clean = await runCli([
      'import-json',
      join(dir, 'other.db'),
      join(state, 'missions', 'm-1.json'),
      join(state, 'missions', 'm-3.json'),
    ]);
    expect(clean).toMatchObject({ code: 0, stdout: '' });
    expect(clean.stderr).toBe('imported 2, already present 0, refused 0 (of 2 files)\n');
  });

  test('a missing input is exit 66', async () => {
    const dir = await folder();
    const run = await runCli(['import-json', join(dir, 'a.db'), join(dir, 'nowhere')]);
    expect(run.code).toBe(66);
    expect(oneLineError(run)).toBe(`agent-ops: no file or folder at ${join(dir, 'nowhere')}`);
  });
});

describe('query and export', () => {
  test('query prints a table, JSON, NDJSON or CSV; export-json then import-json into a fresh store gives the same rows in every table', async () => {
    const dir = await folder();
    const db = join(dir, 'a.db');
    await withStore(db, async (store) => {
      await importLegacyJson(store, [
        { source: 'a', document: legacyMission('m-a') },
        { source: 'b', document: legacyMission('m-b', { status: 'failed', metadata: null, memory: {} }) },
      ]);
      const m = await store.missions.create({ phase: 'PLANNING', uuid: 'm/slash', metadata: { n: 1 } });
      await store.toolCalls.record({ mission: m.id, toolName: 'search', args: { q: 'a,"b"\nc' }, success: true, toolCallId: 'call_9' });
    });

    const table = await runCli(['query', db, 'SELECT mission_uuid, status FROM missions ORDER BY id']);
    expect(table.code).toBe(0);
    expect(table.stdout).toBe(
      [
        'mission_uuid  status',
        '------------  ---------',
        'm-a           completed',
        'm-b           failed',
        'm/slash       pending',
        '(3 rows)',
        '',
      ].join('\n'),
    );
    expect(table.stderr).toBe('');
    const json = await runCli(['query', db, 'SELECT tool_name, args FROM tool_calls ORDER BY id', '--json']);
    expect(JSON.parse(json.stdout).at(-1)).toEqual({ tool_name: 'search', args: '{"q":"a,\\"b\\"\\nc"}' });
    const ndjson = await runCli(['query', db, 'SELECT id FROM missions ORDER BY id', '--ndjson']);
    expect(ndjson.stdout).toBe('{"id":1}\n{"id":2}\n{"id":3}\n');
    const csv = await runCli([
      'query',
      db,
      "SELECT args, NULL AS empty, x'00ff' AS bytes FROM tool_calls WHERE tool_name = 'search'",
      '--csv',
    ]);
    expect(csv.stdout).toBe('args,empty,bytes\r\n"{""q"":""a,\\""b\\""\\nc""}",,AP8=\r\n');
    const two = await runCli(['query', db, 'SELECT 1', '--json', '--csv']);
    expect(two.code).toBe(64);

    const out = join(dir, 'exported');
    const exported = await runCli(['export-json', db, out]);
    expect(exported).toMatchObject({ code: 0, stdout: '' });
    expect((await readdir(join(out, 'missions'))).sort()).toEqual(['m%2Fslash.json', 'm-a.json', 'm-b.json']);
    const legacy = JSON.parse(await readFile(join(out, 'missions', 'm-a.json'), 'utf8'));
    expect(legacy).toMatchObject({
      mission_id: 'm-a',
      tool_calls: [
        { tool: 'read_file', ok: true },
        { tool: 'run_tests', ok: false },
      ],
    });

    const copy = join(dir, 'copy.db');
    const imported = await runCli(['import-json', copy, out]);
    expect(imported.code).toBe(0);
    const original = await withStore(db, portableRows, true);
    expect(await withStore(copy, portableRows, true)).toEqual(original);
    for (const table of TABLES) expect(original[table]!.length, table).toBeGreaterThan(0);

    const one = join(dir, 'one');
    expect((await runCli(['export-json', db, one, '--mission', 'm-b'])).code).toBe(0);
    expect(await readdir(join(one, 'missions'))).toEqual(['m-b.json']);
    const unknown = await runCli(['export-json', db, one, '--mission', 'nope']);
    expect(unknown.code).toBe(65);
    expect(oneLineError(unknown)).toBe("agent-ops: mission 'nope' not found");
  });

  test('export --ndjson streams every row with its table; --since keeps rows written from then on', async () => {
    const dir = await folder();
    const db = join(dir, 'a.db');
    await withStore(db, (store) =>
      importLegacyJson(store, [
        { source: 'a', document: legacyMission('m-a') },
        {
          source: 'b',
          document: legacyMission('m-b', { created_at: '2026-10-20T00:00:00Z', tool_calls: [], decisions: [], playbook_runs: [] }),
        },
      ]),
    );
    const all = await runCli(['export', db, '--ndjson']);
    expect(all.code).toBe(0);
    const records = all.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { table: string; row: Record<string, unknown> });
    const counts: Record<string, number> = {};
    for (const { table } of records) counts[table] = (counts[table] ?? 0) + 1;
    expect(counts).toEqual({ missions: 2, tool_calls: 2, decisions: 1, playbook_runs: 2, agent_memory: 4 });
    expect(records[0]).toEqual({ table: 'missions', row: expect.objectContaining({ id: 1, mission_uuid: 'm-a' }) });
    const since = await runCli(['export', db, '--ndjson', '--since', '2026-10-10']);
    expect(
      since.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).row.mission_uuid),
    ).toEqual(['m-b']);
    expect((await runCli(['export', db])).code).toBe(64);
    const badSince = await runCli(['export', db, '--ndjson', '--since', 'last tuesday']);
    expect(badSince.code).toBe(64);
    expect(oneLineError(badSince)).toContain('--since');
  });
});

describe('archive', () => {
  /** A store with old finished missions (big enough that deleting them frees pages) and some to keep. */
  async function archiveFixture(dir: string): Promise<string> {
    const db = join(dir, 'a.db');
    const pad = 'x'.repeat(2000);
    const calls = Array.from({ length: 40 }, (_, i) => ({ tool: 'read_file', args: { i, pad }, ts: '2026-09-01T12:00:00Z', ok: true }));
    await withStore(db, (store) =>
      importLegacyJson(store, [
        ...['old-1', 'old-2', 'old-3'].map((uuid) => ({
          source: uuid,
          document: legacyMission(uuid, { completed_at: '2026-09-02T00:00:00Z', tool_calls: calls }),
        })),
        { source: 'running', document: legacyMission('running', { status: 'in_progress', completed_at: null, tool_calls: calls }) },
        { source: 'recent', document: legacyMission('recent', { completed_at: '2026-11-01T00:00:00Z' }) },
      ]),
    );
    return db;
  }

  const size = async (db: string) => (await stat(db)).size + ((await stat(`${db}.aos-log`).catch(() => null))?.size ?? 0);
  /** Rows of `before` that belong to missions 1-3 (the old finished ones), per table. */
  const moved = (before: Record<string, unknown[]>, table: string) =>
    before[table]!.filter((row) => {
      const r = row as { id: number; mission_id: number };
      return (table === 'missions' ? r.id : r.mission_id) <= 3;
    });

  test('--to file.sqlite holds exactly the removed rows, the store keeps the rest and shrinks on disk; --dry-run changes nothing', async () => {
    const dir = await folder();
    const db = await archiveFixture(dir);
    const before = await withStore(db, dump, true);
    const sizeBefore = await size(db);
    const archivePath = join(dir, 'archive.sqlite');

    const dry = await runCli(['archive', db, '--older-than', '2026-10-15', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('old-1');
    expect(dry.stdout).not.toContain('running');
    expect(dry.stderr).toMatch(/^would move 3 missions \(\d+ rows\) finished before 2026-10-15 00:00:00.000Z\n$/);
    expect(await withStore(db, dump, true)).toEqual(before);

    const run = await runCli(['archive', db, '--older-than', '2026-10-15', '--to', archivePath]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(
      /^moved 3 missions \(\d+ rows\) finished before 2026-10-15 00:00:00.000Z to .*archive\.sqlite; store \d+ -> \d+ bytes on disk\n$/,
    );
    const archived = await withStore(archivePath, dump, true);
    const after = await withStore(db, dump, true);
    for (const table of TABLES) {
      expect(archived[table], table).toEqual(moved(before, table));
      expect(after[table], table).toEqual(before[table]!.filter((row) => !moved(before, table).includes(row)));
    }
    expect(await size(db)).toBeLessThan(sizeBefore);
    expect((await runCli(['check', db])).code).toBe(0);
  });

  test('an .ndjson archive left by a run that stopped before deleting is taken up by the next run', async () => {
    const dir = await folder();
    const db = await archiveFixture(dir);
    const before = await withStore(db, dump, true);
    const archivePath = join(dir, 'archive.ndjson');
    // What the stopped run appended: the old missions' rows, as export --ndjson writes them.
    const exported = (await runCli(['export', db, '--ndjson'])).stdout.split('\n').filter((line) => {
      if (line === '') return false;
      const { table, row } = JSON.parse(line) as { table: string; row: { id: number; mission_id: number } };
      return (TABLES as readonly string[]).includes(table) && (table === 'missions' ? row.id : row.mission_id) <= 3;
    });
    await writeFile(archivePath, `${exported.join('\n')}\n`);
    const run = await runCli(['archive', db, '--older-than', '2026-10-15', '--to', archivePath]);
    expect(run).toMatchObject({ code: 0, stdout: '' });
    const after = await withStore(db, dump, true);
    expect((after.missions as { mission_uuid: string }[]).map((m) => m.mission_uuid)).toEqual(['running', 'recent']);
    const unique = [...new Set((await readFile(archivePath, 'utf8')).split('\n').filter(Boolean))].map(
      (line) => JSON.parse(line) as { table: string; row: { id: number } },
    );
    for (const table of TABLES) {
      expect(
        unique
          .filter((l) => l.table === table)
          .map((l) => l.row)
          .sort((a, b) => a.id - b.id),
        table,
      ).toEqual(moved(before, table));
    }
  });

  test('--to file.ndjson holds exactly the removed rows, one line each', async () => {
    const dir = await folder();
    const db = await archiveFixture(dir);
    const before = await withStore(db, dump, true);
    const sizeBefore = await size(db);
    const archivePath = join(dir, 'archive.ndjson');
    const run = await runCli(['archive', db, '--older-than', '2026-10-15T00:00:00Z', '--to', archivePath]);
    expect(run.code).toBe(0);
    const lines = (await readFile(archivePath, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { table: string; row: unknown });
    const byId = (a: unknown, b: unknown) => (a as { id: number }).id - (b as { id: number }).id;
    for (const table of TABLES) {
      expect(
        lines
          .filter((l) => l.table === table)
          .map((l) => l.row)
          .sort(byId),
        table,
      ).toEqual(moved(before, table));
    }
    expect(lines.every((l) => (TABLES as readonly string[]).includes(l.table))).toBe(true);
    expect(await size(db)).toBeLessThan(sizeBefore);
    expect((await runCli(['archive', db, '--older-than', '30d', '--to', join(dir, 'a.txt')])).code).toBe(64);
    expect((await runCli(['archive', db, '--older-than', 'soon', '--to', archivePath])).code).toBe(64);
    expect((await runCli(['archive', db, '--to', archivePath])).code).toBe(64);
  });
});

/**
 * Runs the CLI on a pseudo-terminal (util-linux `script`), so stdout and stderr are TTYs; returns
 * what the terminal showed. Fails, rather than skips, where `script` is missing.
 */
function onTerminal(args: readonly string[], env: Record<string, string> = {}): Promise<string> {
  const quoted = [process.execPath, cliPath, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  return new Promise((resolve, reject) => {
    execFile('script', ['-qec', quoted, '/dev/null'], { env: { ...process.env, NO_COLOR: '', ...env } }, (error, stdout) => {
      if (error && (error as { code?: unknown }).code === 'ENOENT')
        reject(new Error('the terminal tests need util-linux `script` on the PATH'));
      else resolve(stdout);
    });
  });
}

describe('on a terminal', () => {
  test('table headers are bold on a terminal, and plain with NO_COLOR or when stdout is not a terminal', async () => {
    const dir = await folder();
    const db = join(dir, 'a.db');
    await withStore(db, async () => undefined);
    expect(await onTerminal(['query', db, 'SELECT 1 AS one'])).toContain('\x1b[1mone\x1b[0m');
    expect(await onTerminal(['query', db, 'SELECT 1 AS one'], { NO_COLOR: '1' })).not.toContain('\x1b');
    expect((await runCli(['query', db, 'SELECT 1 AS one'])).stdout).toBe('one\n---\n1\n(1 row)\n');
  });

  test('a large import draws a progress bar on a terminal, and none when stderr is not one', async () => {
    const dir = await folder();
    const files: Record<string, unknown> = {};
    for (let i = 0; i < 120; i++) files[`m-${i}.json`] = legacyMission(`m-${i}`, { tool_calls: [], memory: {} });
    const state = await legacyFolder(join(dir, 'state'), files);
    const shown = await onTerminal(['import-json', join(dir, 'a.db'), state]);
    expect(shown).toContain('[####################] 120/120');
    expect(shown).toContain('imported 120, already present 0, refused 0 (of 120 files)');
    const piped = await runCli(['import-json', join(dir, 'b.db'), state]);
    expect(piped.stderr).toBe('imported 120, already present 0, refused 0 (of 120 files)\n');
  });
});

describe('errors and help', () => {
  test('bad arguments are exit 64 and a missing store exit 66, each with one line on stderr', async () => {
    const dir = await folder();
    const db = join(dir, 'a.db');
    await withStore(db, async () => undefined);
    const cases: [string[], number, RegExp][] = [
      [['frobnicate'], 64, /unknown command 'frobnicate'/],
      [['query', db], 64, /query takes <db> and one "<sql>" statement/],
      [['query', db, 'SELECT 1', '--bogus'], 64, /Unknown option '--bogus'/],
      [['stats'], 64, /stats takes one <db>/],
      [['tail', db, '--lines', 'many'], 64, /--lines takes an integer/],
      [['query', db, 'DELETE FROM missions'], 64, /pass --write/],
      [['query', db, 'SELEKT 1'], 65, /syntax error/],
      [['query', join(dir, 'none.db'), 'SELECT 1'], 66, /no store at .*none\.db/],
      [['stats', join(dir, 'none.db')], 66, /no store at/],
      [['vacuum', join(dir, 'none.db')], 66, /no store at/],
    ];
    for (const [args, code, message] of cases) {
      const run = await runCli(args);
      expect({ args, code: run.code }).toEqual({ args, code });
      expect(oneLineError(run)).toMatch(message);
      expect(run.stdout).toBe('');
    }
    const bare = await runCli([]);
    expect(bare.code).toBe(64);
    expect(bare.stderr).toContain('Usage: agent-ops <command>');
  });

  test('a store written by a newer version is refused with exit 65 and left as it was', async () => {
    const dir = await folder();
    const db = join(dir, 'a.db');
    const newer = [...schemaMigrations, { version: schemaMigrations.length + 1, name: 'future', sql: 'CREATE TABLE future (x INTEGER)' }];
    const store = await openStore({ adapter: fsAdapter(db), migrations: newer });
    await store.missions.create({ phase: 'P', uuid: 'kept' });
    await store.close();
    const bytes = await readFile(db);
    for (const args of [
      ['query', db, 'SELECT 1'],
      ['stats', db],
      ['query', db, 'DELETE FROM missions', '--write'],
      ['import-json', db, dir],
    ]) {
      const run = await runCli(args);
      expect({ args, code: run.code }).toEqual({ args, code: 65 });
      expect(oneLineError(run)).toMatch(/newer|SCHEMA|version/i);
    }
    expect(await readFile(db)).toEqual(bytes);
  });

  test('every command has --help, printed to stdout with exit 0', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    const names = ['query', 'stats', 'import-json', 'export-json', 'export', 'archive', 'check', 'vacuum', 'checkpoint', 'tail'];
    for (const name of names) expect(top.stdout).toContain(`  ${name} `);
    for (const name of names) {
      const run = await runCli([name, '--help']);
      expect({ name, code: run.code, stderr: run.stderr }).toEqual({ name, code: 0, stderr: '' });
      expect(run.stdout.startsWith(`Usage: agent-ops ${name} `)).toBe(true);
    }
  });

  test('tail without --follow prints the last tool calls and decisions, oldest first, as NDJSON', async () => {
    const dir = await folder();
    const db = join(dir, 'a.db');
    await withStore(db, (store) => importLegacyJson(store, [{ source: 'a', document: legacyMission('m-a') }]));
    const run = await runCli(['tail', db, '--lines', '1']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const records = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { table: string; row: { timestamp: string } });
    // The last tool call by id is run_tests (10:01 UTC), and the only decision is at 12:00:04.
    expect(records.map((r) => [r.table, r.row.timestamp])).toEqual([
      ['tool_calls', '2026-10-01 10:01:00.000Z'],
      ['decisions', '2026-10-01 12:00:04.000Z'],
    ]);
  });

  test('check reports a torn last append (exit 0) and corrupt acknowledged records (exit 65), repairing neither', async () => {
    const dir = await folder();
    const live = join(dir, 'live.db');
    // Records left in the log, as after a crash: copies of a store that is still open.
    const store = await openStore({ adapter: fsAdapter(live), onWarning: () => undefined });
    try {
      for (const uuid of ['a', 'b', 'c']) await store.missions.create({ phase: 'P', uuid });
      for (const name of ['torn', 'corrupt']) {
        await copyFile(live, join(dir, `${name}.db`));
        await copyFile(`${live}.aos-log`, join(dir, `${name}.db.aos-log`));
      }
    } finally {
      await store.close();
    }
    const tornLog = join(dir, 'torn.db.aos-log');
    await writeFile(tornLog, Buffer.concat([await readFile(tornLog), Buffer.from([16, 0, 0, 0, 1, 2])]));
    const tornBytes = await readFile(tornLog);
    const torn = await runCli(['check', join(dir, 'torn.db'), '--json']);
    expect(torn.code).toBe(0);
    expect(JSON.parse(torn.stdout).log).toMatchObject({ records: 3, healthy: false, damage: { kind: 'torn' } });
    expect(await readFile(tornLog)).toEqual(tornBytes);

    const corruptLog = join(dir, 'corrupt.db.aos-log');
    const bytes = await readFile(corruptLog);
    bytes[20] = bytes[20]! ^ 0xff; // inside the first record, with intact records after it
    await writeFile(corruptLog, bytes);
    const corrupt = await runCli(['check', join(dir, 'corrupt.db')]);
    expect(corrupt.code).toBe(65);
    expect(corrupt.stdout).toMatch(/^log: \d+ bytes, 0 records, corrupt at byte \d+: /m);
    expect(await readFile(corruptLog)).toEqual(bytes);
  });

  test('stats, check, vacuum and checkpoint report on a store', async () => {
    const dir = await folder();
    const db = join(dir, 'a.db');
    await withStore(db, async (store) => {
      await importLegacyJson(store, [{ source: 'a', document: legacyMission('m-a') }]);
      await store.missions.create({ phase: 'PLANNING', uuid: 'p' });
    });
    const stats = await runCli(['stats', db, '--json']);
    expect(stats.code).toBe(0);
    const report = JSON.parse(stats.stdout);
    expect(report.missionsByStatus).toEqual([
      { status: 'completed', missions: 1 },
      { status: 'pending', missions: 1 },
    ]);
    expect(report.missionsByPhase).toEqual([
      { phase: 'CODING', missions: 1 },
      { phase: 'PLANNING', missions: 1 },
    ]);
    expect(report.toolCalls).toEqual([
      { toolName: 'read_file', calls: 1, failures: 0, p50Ms: 12, p95Ms: 12 },
      { toolName: 'run_tests', calls: 1, failures: 1, p50Ms: null, p95Ms: null },
    ]);
    expect(report.sizeOnDiskBytes).toBe((await stat(db)).size + report.logBytes);
    const text = await runCli(['stats', db]);
    expect(text.stdout).toMatch(/Tool calls\ntool\s+calls\s+failures\s+p50_ms\s+p95_ms\n/);
    expect(text.stdout).toMatch(/Log length: \d+ bytes/);

    const check = await runCli(['check', db, '--json']);
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({
      ok: true,
      integrity: ['ok'],
      log: { healthy: true, damage: null },
      schemaVersion: schemaMigrations.length,
      newestKnownSchemaVersion: schemaMigrations.length,
      sizeLimitBytes: ENGINE_MAX_BYTES,
    });
    expect(JSON.parse(check.stdout).databaseBytes).toBeGreaterThan(0);
    expect((await runCli(['check', db])).stdout).toMatch(
      /^size limit: \d+ bytes; the database is \d+ bytes, \d+\.\d% of it \(writes past it are refused with FULL\)$/m,
    );
    expect((await runCli(['checkpoint', db])).stderr).toMatch(/^checkpointed .* log \d+ -> \d+ bytes\n$/);
    expect((await runCli(['vacuum', db])).code).toBe(0);
    expect((await runCli(['query', db, "UPDATE missions SET phase = 'X' WHERE mission_uuid = 'p'", '--write'])).code).toBe(0);
    expect((await runCli(['query', db, "SELECT phase FROM missions WHERE mission_uuid = 'p'", '--ndjson'])).stdout).toBe('{"phase":"X"}\n');
  });
});
