import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { type FsAdapterOptions, fsAdapter } from '../../adapters/fs.js';
import { openStore, type SQLiteStore, StoreError } from '../../src/index.js';

let root: string;
let origin: string;
let b: string;
/** This test's copy of store A, with store B's log beside it. */
let a: string;
let copies = 0;
let aSnapshot: Buffer;
let bLog: Buffer;
const warnings: string[] = [];

const open = (path: string, options: FsAdapterOptions = {}) =>
  openStore({ adapter: fsAdapter(path, options), onWarning: (message) => warnings.push(message) });
const uuids = async (store: SQLiteStore) => (await store.query('SELECT mission_uuid FROM missions ORDER BY id')).map((r) => r.mission_uuid);
const generation = (file: Buffer) => file.readUInt32BE(24);

// The scenario: store B's log copied beside store A's snapshot, both at the same checkpoint generation.
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'aos-identity-'));
  origin = join(root, 'origin.db');
  b = join(root, 'b.db');
  const storeA = await open(origin);
  await storeA.missions.create({ phase: 'PLANNING', uuid: 'a-1' });
  await storeA.close();
  const first = await open(b);
  await first.missions.create({ phase: 'PLANNING', uuid: 'b-0' });
  await first.close();
  const storeB = await open(b);
  await storeB.missions.create({ phase: 'PLANNING', uuid: 'b-1' });
  await storeB.missions.create({ phase: 'PLANNING', uuid: 'b-2' });
  // Abandoned as a killed process would be: B's two missions are only in its log.
  await unlink(`${b}.aos-lock`);
  aSnapshot = await readFile(origin);
  bLog = await readFile(`${b}.aos-log`);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("another store's log beside the snapshot (fs)", () => {
  beforeEach(async () => {
    warnings.length = 0;
    a = join(root, `a${copies++}.db`);
    await copyFile(origin, a);
    await copyFile(`${b}.aos-log`, `${a}.aos-log`);
    expect(generation(await readFile(a))).toBe(generation(await readFile(b)));
  });

  test('is refused with CORRUPT naming the log, and nothing is changed or applied', async () => {
    const error = await open(a).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'CORRUPT' });
    expect((error as Error).message).toContain(`${a}.aos-log belongs to another store`);
    expect((error as Error).message).toContain("onCorruptLog: 'truncate'");
    expect(await readFile(a)).toEqual(aSnapshot);
    expect(await readFile(`${a}.aos-log`)).toEqual(bLog);
    expect(existsSync(`${a}.aos-lock`)).toBe(false);
  });

  test("with onCorruptLog 'truncate' is saved aside with a warning and never applied; the reopen is clean", async () => {
    const store = await open(a, { onCorruptLog: 'truncate' });
    expect(await uuids(store)).toEqual(['a-1']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`${a}.aos-log belongs to another store: 2 of its 2 record(s)`);
    const aside = (await readdir(root)).filter((f) => join(root, f).startsWith(`${a}.aos-log.foreign-`));
    expect(aside).toHaveLength(1);
    expect(warnings[0]).toContain(join(root, aside[0]!));
    expect(await readFile(join(root, aside[0]!))).toEqual(bLog);
    await store.missions.create({ phase: 'PLANNING', uuid: 'a-2' });
    await store.close();
    warnings.length = 0;
    const again = await open(a);
    expect(await uuids(again)).toEqual(['a-1', 'a-2']);
    expect(warnings).toEqual([]);
    await again.close();
    // Store B itself still has everything.
    const storeB = await open(b);
    expect(await uuids(storeB)).toEqual(['b-0', 'b-1', 'b-2']);
    await storeB.close();
  });
});

test('the identity sits in reserved header bytes: the sqlite3 CLI opens the file and integrity_check says ok', async () => {
  const header = aSnapshot.subarray(72, 80);
  expect(header.some((byte) => byte !== 0)).toBe(true);
  // Then the number of the last commit (80..87); the rest stays zero.
  expect(aSnapshot.subarray(88, 92).every((byte) => byte === 0)).toBe(true);
  const sqlite = (sql: string) => execFileSync('sqlite3', [origin, sql], { encoding: 'utf8' }).trim();
  expect(sqlite('PRAGMA integrity_check')).toBe('ok');
  expect(sqlite('SELECT mission_uuid FROM missions')).toBe('a-1');
  // A write by native SQLite keeps the bytes.
  sqlite('CREATE TABLE scratch (x); DROP TABLE scratch');
  expect((await readFile(origin)).subarray(72, 80)).toEqual(header);
});
