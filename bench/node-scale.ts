/**
 * The bench's "scale" section in Node (fs adapter): for each size in BENCH_SCALE (MB, default
 * 100,500,1000) a store is built, then checkpointed under a stall monitor, written to while
 * background checkpoints run, and reopened beside raw sql.js; then the seed's three queries run
 * at 1M tool calls, before and after migration 0004, and where the planning query's time goes
 * (BENCH_SEED_KEEP=<path> keeps a copy of that store, a fifth of its calls in PLANNING missions).
 * Each size runs in a child process of its own, so RSS is that store's alone (sql.js's wasm heap
 * never shrinks). `npm run bench` runs it after the other Node figures; `tsx bench/node-scale.ts`
 * runs it alone.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  constants,
  copyFileSync,
  fdatasyncSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore, type PersistenceAdapter, type SQLiteStore, schemaMigrations } from 'agent-ops-store';
import { fsAdapter } from 'agent-ops-store/adapters/fs';
import Database from 'better-sqlite3';
import initSqlJs from 'sql.js';
import { payload } from './payloads.js';
import { SEED_QUERIES } from './seed-queries.js';
import { StallMonitor } from './stall-monitor.js';
import { type Summary, summarize } from './stats.js';

const MB = 1_000_000;
const HERE = dirname(fileURLToPath(import.meta.url));
const SCHEMA_FILES = readdirSync(join(HERE, '..', 'schema'))
  .filter((file) => file.endsWith('.sql'))
  .sort();
/** The sizes (MB) to run: BENCH_SCALE=100,500 for a quicker run; 0 or none skips the sizes. */
export const SCALE_SIZES = (process.env.BENCH_SCALE ?? '100,500,1000')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
/** Writes timed while background checkpoints run. */
const WRITES = 3000;
/** The log size that triggers a background checkpoint during those writes: one every ~1,500 writes. */
const WRITE_CHECKPOINT_BYTES = 2 << 20;
const SEED_CALLS = 1_000_000;
const SEED_MISSIONS = 10_000;

/** One size's figures. */
export interface ScaleFigures {
  readonly targetMB: number;
  readonly fileBytes: number;
  readonly calls: number;
  readonly buildMs: number;
  /** The checkpoint figures with the export on the writer's thread, and from a replica in a worker. */
  readonly modes?: readonly ModeFigures[];
  readonly reopenMs?: number;
  readonly rawOpenMs?: number;
  readonly rssBytes?: number;
  /** The disk's own spread, measured beside the modes (see baselineFigures). */
  readonly baseline?: BaselineFigures;
  readonly error?: string;
}

/**
 * The floor under "writes during checkpoints": the same writes on the same store with no
 * checkpoint at all, and bare appends of the same size with O_DSYNC and no store. A durable
 * write's p99 cannot beat the disk's, so this is what the p99÷p50 with checkpoints compares to.
 */
export interface BaselineFigures {
  readonly noCheckpoint: Summary;
  readonly bareAppends: Summary;
  readonly appendBytes: number;
}

/** How a store of one size checkpoints in one mode. */
export interface ModeFigures {
  readonly mode: 'thread' | 'replica';
  readonly checkpointMs: number;
  readonly checkpointStallMs: number;
  readonly writes: Summary & { readonly checkpoints: number; readonly checkpointMs: number[]; readonly stallMs: number };
}

/** The two ways a store checkpoints, side by side: `workerMinBytes` Infinity, and the default (a replica above 16 MiB). */
const MODES = [
  { mode: 'thread', label: 'export on the writer’s thread', workerMinBytes: Number.POSITIVE_INFINITY },
  { mode: 'replica', label: 'replica in a worker thread', workerMinBytes: 0 },
] as const;

/** The seed queries at 1M calls: median ms and plan of each, before and after migration 0004. */
export interface SeedFigures {
  readonly calls: number;
  readonly fileBytes: number;
  readonly migrationMs: number;
  readonly queries: { name: string; variant: string; rows: number; medianMs: number; plan: string }[];
  readonly planning: PlanningCosts;
}

/** One engine's median ms for the planning query and for the parts of it that attribute its cost. */
export interface PlanningSplit {
  /** The join alone: `SELECT COUNT(*)` over the same FROM and WHERE (walks the same index entries). */
  readonly joinMs: number;
  /** The join plus reading each call's tool_name: `SELECT COUNT(tool_name)`. */
  readonly readMs: number;
  /** The query as written: the above plus the sort GROUP BY needs. */
  readonly queryMs: number;
}

/** Where the planning query's time goes, in raw sql.js (CPU ms) and native SQLite, by share and by index or setting. */
export interface PlanningCosts {
  readonly versions: string;
  readonly shares: { percent: number; calls: number; sqljs: PlanningSplit; native: PlanningSplit }[];
  readonly alternatives: { change: string; plan: string; sqljsMs: number; nativeMs: number }[];
}

function runtimeNote(): string {
  return `${process.version}, ${process.platform}`;
}

const fmt = (ms: number | undefined) => (ms === undefined ? '—' : ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`);

/** Runs every size and the seed queries, each in a child; prints the section; resolves with the figures. */
export async function runNodeScale(): Promise<{ sizes: ScaleFigures[]; seed: SeedFigures | { error: string } }> {
  const sizes: ScaleFigures[] = [];
  for (const size of SCALE_SIZES) {
    process.stderr.write(`  · scale: ${size} MB store (build, checkpoint, writes during checkpoints, reopen)\n`);
    sizes.push(await child<ScaleFigures>(['--scale-size', String(size)]).catch((error: unknown) => failedSize(size, error)));
  }
  process.stderr.write('  · scale: the seed queries at 1M tool calls\n');
  const seed = await child<SeedFigures>(['--scale-seed']).catch((error: unknown) => ({ error: String(error) }));
  printScale(sizes, seed);
  return { sizes, seed };
}

function failedSize(targetMB: number, error: unknown): ScaleFigures {
  return { targetMB, fileBytes: 0, calls: 0, buildMs: 0, error: String(error instanceof Error ? error.message : error) };
}

/** Runs this file in a child with `args`; resolves with the JSON of its last stdout line. */
async function child<T>(args: string[]): Promise<T> {
  const proc = spawn(process.execPath, [...process.execArgv, '--max-old-space-size=8192', fileURLToPath(import.meta.url), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  proc.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
  const last = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || !last.startsWith('{')) throw new Error(`exit ${code}: ${err.trim().split('\n').slice(-3).join(' / ')}`);
  return JSON.parse(last) as T;
}

function printScale(sizes: readonly ScaleFigures[], seed: SeedFigures | { error: string }): void {
  console.log(`\nScale (Node ${runtimeNote()}, fs adapter; goals from issue 8: stall ≤ 50 ms, write p99 ≤ 5× p50, seed queries < 50 ms)\n`);
  console.log(
    '| store | calls | checkpoint | checkpoint time | longest event-loop stall in it | writes during checkpoints p50 / p99 (p99÷p50) / max | checkpoints in them | longest stall in them | reopen + first query | raw sql.js open | reopen ÷ raw | RSS ÷ file |',
  );
  console.log('| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const s of sizes) {
    const store = `${(s.fileBytes / MB).toFixed(0)} MB (target ${s.targetMB})`;
    if (s.error && s.modes === undefined) {
      console.log(`| ${s.targetMB} MB | — | FAILED: ${s.error} | | | | | | | | | |`);
      continue;
    }
    const ratio = s.reopenMs !== undefined && s.rawOpenMs ? (s.reopenMs / s.rawOpenMs).toFixed(1) : '—';
    const rss = s.rssBytes ? (s.rssBytes / s.fileBytes).toFixed(2) : '—';
    for (const m of s.modes ?? []) {
      const w = m.writes;
      const writes = `${fmt(w.p50)} / ${fmt(w.p99)} (${(w.p99 / w.p50).toFixed(1)}×) / ${fmt(w.max)}`;
      const label = MODES.find((x) => x.mode === m.mode)!.label;
      console.log(
        `| ${store} | ${s.calls} | ${label} | ${fmt(m.checkpointMs)} | ${fmt(m.checkpointStallMs)} | ${writes} | ${w.checkpoints} (max ${fmt(Math.max(...w.checkpointMs, 0))}) | ${fmt(w.stallMs)} | ${fmt(s.reopenMs)} | ${fmt(s.rawOpenMs)} | ${ratio} | ${rss} |${s.error ? ` then FAILED: ${s.error}` : ''}`,
      );
    }
  }
  console.log(
    '\nThe floor under p99÷p50: the same writes on the same store with no checkpoint at all, and bare appends of their size (write with O_DSYNC, no store):\n',
  );
  console.log('| store | writes, no checkpoint: p50 / p99 (p99÷p50) / max | bare O_DSYNC appends: p50 / p99 (p99÷p50) / max |');
  console.log('| --- | ---: | ---: |');
  for (const s of sizes) {
    if (!s.baseline) continue;
    const spread = (w: Summary) => `${fmt(w.p50)} / ${fmt(w.p99)} (${(w.p99 / w.p50).toFixed(1)}×) / ${fmt(w.max)}`;
    console.log(
      `| ${(s.fileBytes / MB).toFixed(0)} MB | ${spread(s.baseline.noCheckpoint)} | ${spread(s.baseline.bareAppends)} (${s.baseline.appendBytes} B) |`,
    );
  }
  if ('error' in seed) {
    console.log(`\nseed queries at 1M calls: FAILED: ${seed.error}`);
    return;
  }
  console.log(
    `\nThe seed's queries at ${seed.calls} tool calls (${(seed.fileBytes / MB).toFixed(0)} MB, ${SEED_MISSIONS} missions); migration 0004 on it took ${fmt(seed.migrationMs)}:\n`,
  );
  console.log('| query | data | rows | median of 5 | goal < 50 ms | plan |');
  console.log('| --- | --- | ---: | ---: | --- | --- |');
  for (const q of seed.queries) {
    console.log(`| ${q.name} | ${q.variant} | ${q.rows} | ${fmt(q.medianMs)} | ${q.medianMs < 50 ? 'met' : 'MISSED'} | ${q.plan} |`);
  }
  printPlanningCosts(seed.planning);
}

function printPlanningCosts(costs: PlanningCosts): void {
  console.log(
    `\nWhere the planning query's time goes: median CPU ms of 7 in ${costs.versions} (better-sqlite3), on the same file. join = SELECT COUNT(*) with the same FROM and WHERE; read = COUNT(tool_name); sort = the query − read, the cost of GROUP BY's sort:\n`,
  );
  console.log('| calls in PLANNING missions | sql.js: query | join | read | sort | native: query | join | read | sort |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const parts = (p: PlanningSplit) => `${fmt(p.queryMs)} | ${fmt(p.joinMs)} | ${fmt(p.readMs - p.joinMs)} | ${fmt(p.queryMs - p.readMs)}`;
  for (const s of costs.shares) console.log(`| ${s.percent}% (${s.calls}) | ${parts(s.sqljs)} | ${parts(s.native)} |`);
  console.log(
    `\nAt ${costs.shares[0]!.percent}% of the calls in PLANNING missions, other indexes, statistics and settings (the query as written unless named):\n`,
  );
  console.log('| change | plan in sql.js | sql.js | native |');
  console.log('| --- | --- | ---: | ---: |');
  for (const a of costs.alternatives) console.log(`| ${a.change} | ${a.plan} | ${fmt(a.sqljsMs)} | ${fmt(a.nativeMs)} |`);
}

// ---------------------------------------------------------------------------------------------
// Child side.

function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ');
}

/** The schema at `version` (all of it by default), as a fresh native database gets it. */
function createSchema(db: Database, version = SCHEMA_FILES.length): void {
  for (const file of SCHEMA_FILES.slice(0, version)) db.exec(readFileSync(join(HERE, '..', 'schema', file), 'utf8'));
  db.pragma(`user_version = ${version}`);
}

/**
 * Writes a store file of at least `target` bytes with native SQLite (far quicker than through the
 * store, and the same SQLite file format): one mission, tool calls with the bench's ~1.3 KB payloads.
 * The store stamps its identity into it, with one checkpoint, on its first open.
 */
function buildNative(path: string, target: number): { calls: number } {
  const db = new Database(path);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  createSchema(db);
  db.prepare("INSERT INTO missions (mission_uuid, phase, status, created_at) VALUES ('bench-mission', 'CODING', 'in_progress', ?)").run(
    timestamp(Date.now()),
  );
  const insert = db.prepare(
    'INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp, duration_ms, success) VALUES (1, ?, ?, ?, ?, ?, ?)',
  );
  const pageBytes = () =>
    Number((db.prepare('SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()').get() as { n: number }).n);
  let calls = 0;
  const start = Date.now() - 30 * 86_400_000;
  const batch = db.transaction((n: number) => {
    for (let k = 0; k < n; k++, calls++) {
      const p = payload(calls);
      insert.run(
        p.toolName,
        JSON.stringify(p.args),
        JSON.stringify(p.result),
        timestamp(start + calls * 1000),
        p.durationMs,
        p.success ? 1 : 0,
      );
    }
  });
  while (pageBytes() < target) batch(Math.max(100, Math.min(20_000, Math.ceil((target - pageBytes()) / 1500))));
  db.close();
  return { calls };
}

/**
 * The fs adapter, its checkpoints timed: a checkpoint on the writer's thread from start to end;
 * one from the replica from the adapter's preparation (the replica's export is done by then) to
 * its commit.
 */
function timedCheckpoints(inner: PersistenceAdapter, into: number[]): PersistenceAdapter {
  return {
    location: inner.location,
    load: () => inner.load(),
    append: (record) => inner.append(record),
    async checkpoint(snapshot) {
      const t = performance.now();
      await inner.checkpoint(snapshot);
      into.push(performance.now() - t);
    },
    async prepareCheckpoint(snapshot) {
      const t = performance.now();
      const prepared = await inner.prepareCheckpoint!(snapshot);
      return {
        async commit(keep) {
          await prepared.commit(keep);
          into.push(performance.now() - t);
        },
        discard: () => prepared.discard(),
      };
    },
    spawnReplica: () => inner.spawnReplica!(),
    close: () => inner.close(),
  };
}

function recordInput(i: number) {
  const p = payload(i);
  return { mission: 'bench-mission', toolName: p.toolName, args: p.args, result: p.result, durationMs: p.durationMs, success: p.success };
}

/**
 * One mode on the store at `path`: a checkpoint under a stall monitor after 500 writes left in
 * the log, then writes while background checkpoints run (a small log limit makes them come every
 * ~1,500 writes).
 */
async function checkpointFigures(path: string, mode: ModeFigures['mode'], workerMinBytes: number): Promise<ModeFigures> {
  let store = await openStore({ adapter: fsAdapter(path), checkpoint: { workerMinBytes } });
  for (let i = 0; i < 500; i++) {
    await store.toolCalls.record(recordInput(i));
    await new Promise((resolve) => setImmediate(resolve));
  }
  const monitor = new StallMonitor();
  monitor.start();
  let t = performance.now();
  await store.checkpoint();
  const checkpointTime = performance.now() - t;
  const checkpointStallMs = await monitor.stop();
  await store.close();

  const checkpointMs: number[] = [];
  store = await openStore({
    adapter: timedCheckpoints(fsAdapter(path), checkpointMs),
    checkpoint: { maxLogBytes: WRITE_CHECKPOINT_BYTES, minLogBytes: WRITE_CHECKPOINT_BYTES, workerMinBytes },
  });
  const samples: number[] = [];
  monitor.start();
  for (let i = 0; i < WRITES; i++) {
    t = performance.now();
    await store.toolCalls.record(recordInput(i));
    samples.push(performance.now() - t);
    // An agent awaits other things between two tool calls (the model, the tool): the event
    // loop turns, and the replica's replies come in. Not timed.
    await new Promise((resolve) => setImmediate(resolve));
  }
  // The last background checkpoint ends before close() would take one of its own.
  const waitFrom = performance.now();
  while (checkpointMs.length < Math.floor((WRITES * 700) / WRITE_CHECKPOINT_BYTES) && performance.now() - waitFrom < 120_000) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const stallMs = await monitor.stop();
  await store.close();
  return {
    mode,
    checkpointMs: checkpointTime,
    checkpointStallMs,
    writes: { ...summarize(samples), checkpoints: checkpointMs.length, checkpointMs: [...checkpointMs], stallMs },
  };
}

/** The same WRITES writes with checkpoints off (and no replica), then as many bare O_DSYNC appends of their average size. */
async function baselineFigures(path: string): Promise<BaselineFigures> {
  const appended: number[] = [];
  const inner = fsAdapter(path);
  const adapter: PersistenceAdapter = {
    location: inner.location,
    load: () => inner.load(),
    append: (record) => {
      appended.push(record.length);
      return inner.append(record);
    },
    checkpoint: (snapshot) => inner.checkpoint(snapshot),
    close: () => inner.close(),
  };
  const store = await openStore({
    adapter,
    checkpoint: { minLogBytes: 1e12, maxLogBytes: 1e12, workerMinBytes: Number.POSITIVE_INFINITY },
  });
  const samples: number[] = [];
  for (let i = 0; i < WRITES; i++) {
    const t = performance.now();
    await store.toolCalls.record(recordInput(i));
    samples.push(performance.now() - t);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await store.close();
  const appendBytes = Math.round(appended.reduce((sum, n) => sum + n, 0) / Math.max(1, appended.length));
  const bare: number[] = [];
  const rawPath = `${path}.bare-appends`;
  const fd = openSync(rawPath, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | (constants.O_DSYNC ?? 0));
  try {
    const bytes = new Uint8Array(appendBytes).fill(0x61);
    for (let i = 0, at = 0; i < WRITES; i++, at += bytes.length) {
      const t = performance.now();
      writeSync(fd, bytes, 0, bytes.length, at);
      if (constants.O_DSYNC === undefined) fdatasyncSync(fd);
      bare.push(performance.now() - t);
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    closeSync(fd);
    rmSync(rawPath, { force: true });
  }
  return { noCheckpoint: summarize(samples), bareAppends: summarize(bare), appendBytes };
}

async function scaleSize(targetMB: number): Promise<ScaleFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'aos-scale-'));
  const path = join(dir, 'scale.db');
  const figures: Record<string, unknown> = { targetMB };
  try {
    let t = performance.now();
    const { calls } = buildNative(path, targetMB * MB);
    // The first open stamps the store's identity and checkpoints.
    await (await openStore({ adapter: fsAdapter(path) })).close();
    Object.assign(figures, { calls, buildMs: performance.now() - t, fileBytes: statSync(path).size });

    process.stderr.write('    · no checkpoint, and bare appends\n');
    figures.baseline = await baselineFigures(path);
    const modes: ModeFigures[] = [];
    for (const { mode, workerMinBytes } of MODES) {
      process.stderr.write(`    · ${mode}\n`);
      modes.push(await checkpointFigures(path, mode, workerMinBytes));
    }
    figures.modes = modes;
    figures.fileBytes = statSync(path).size;

    // Reopen, beside raw sql.js opening the same file.
    const SQL = await initSqlJs();
    t = performance.now();
    const raw = new SQL.Database(readFileSync(path));
    raw.exec('SELECT count(*) FROM tool_calls');
    figures.rawOpenMs = performance.now() - t;
    raw.close();
    t = performance.now();
    const store = await openStore({ adapter: fsAdapter(path) });
    await store.query('SELECT count(*) FROM tool_calls');
    figures.reopenMs = performance.now() - t;
    figures.rssBytes = process.memoryUsage().rss;
    await store.close();
  } catch (error) {
    figures.error = error instanceof Error ? error.message : String(error);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return figures as unknown as ScaleFigures;
}

/**
 * 1M tool calls over 10,000 missions of five phases (a fifth of them, so a fifth of the calls,
 * in PLANNING), one call a second up to now, 2% failed, and two decisions per mission, written
 * by native SQLite at schema `version` (the Chromium scale bench loads the same store).
 */
export function buildSeedStore(path: string, version: number): void {
  const db = new Database(path);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  createSchema(db, version);
  const phases = ['PLANNING', 'CODING', 'TESTING', 'REVIEW', 'DEPLOY'];
  const tools = ['read_file', 'search_code', 'run_tests', 'write_file', 'http_get', 'list_dir', 'grep', 'git_diff'];
  const now = Date.now();
  const first = now - SEED_CALLS * 1000;
  const mission = db.prepare('INSERT INTO missions (id, mission_uuid, phase, status, created_at) VALUES (?, ?, ?, ?, ?)');
  const call = db.prepare(
    'INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp, duration_ms, success, error_message) VALUES (?, ?, ?, NULL, ?, ?, ?, ?)',
  );
  const decision = db.prepare(
    "INSERT INTO decisions (mission_id, decision_type, rationale, timestamp, agent_name) VALUES (?, ?, ?, ?, 'planner')",
  );
  const perMission = SEED_CALLS / SEED_MISSIONS;
  db.transaction(() => {
    for (let m = 1; m <= SEED_MISSIONS; m++) {
      const uuid = m === 77 ? 'abc-123' : `mission-${m}`;
      mission.run(
        m,
        uuid,
        phases[m % phases.length],
        m > SEED_MISSIONS - 50 ? 'in_progress' : 'completed',
        timestamp(first + (m - 1) * perMission * 1000),
      );
      for (const [k, type] of ['plan', 'choose_tool'].entries()) {
        decision.run(
          m,
          type,
          `rationale ${k} for mission ${m}: ${'because '.repeat(8)}`,
          timestamp(first + ((m - 1) * perMission + k * 10) * 1000),
        );
      }
    }
    for (let i = 0; i < SEED_CALLS; i++) {
      const failed = i % 50 === 7;
      const args = JSON.stringify({ path: `src/module-${i % 997}/file-${i % 89}.ts`, query: `find ${'x'.repeat(200 + (i % 60))}` });
      call.run(
        1 + Math.floor(i / perMission),
        tools[(i * 7 + (i >> 4)) % tools.length],
        args,
        timestamp(first + i * 1000),
        5 + (i % 300),
        failed ? 0 : 1,
        failed ? 'timed out' : null,
      );
    }
  })();
  db.close();
}

async function timeQueries(store: SQLiteStore, variant: string, into: SeedFigures['queries'], only?: string): Promise<void> {
  for (const q of SEED_QUERIES) {
    if (only && q.name !== only) continue;
    const plan = (await store.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${q.sql}`)).map((r) => r.detail).join('; ');
    const times: number[] = [];
    let rows = 0;
    for (let r = 0; r < 5; r++) {
      const t = performance.now();
      rows = (await store.query(q.sql)).length;
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    into.push({ name: q.name, variant, rows, medianMs: times[2]!, plan });
  }
}

/**
 * The shares of the calls in PLANNING missions the planning query is timed at: missions `id % every
 * = 0` stay in PLANNING (every mission has 100 calls). 20% is the store as built (five phases in
 * turn); the others move the rest of those missions on to REVIEW, as setPhase would.
 */
export const SHARES = [
  { percent: 20, every: 5 },
  { percent: 10, every: 10 },
  { percent: 5, every: 20 },
  { percent: 2, every: 50 },
] as const;

/** Sets the phases of the missions built in PLANNING so that those with `id % every = 0` stay in it. */
export function sharePhases(every: number): string {
  return `UPDATE missions SET phase = CASE WHEN id % ${every} = 0 THEN 'PLANNING' ELSE 'REVIEW' END WHERE id % 5 = 0`;
}

const PLANNING_FROM = "FROM tool_calls JOIN missions ON tool_calls.mission_id = missions.id WHERE missions.phase = 'PLANNING'";

/** One engine on the seed store's file: runs SQL, prints plans, times queries. */
interface Engine {
  readonly version: string;
  exec(sql: string): void;
  plan(sql: string): string;
  /** Median CPU ms of `runs` runs: each query runs synchronously on this thread, and on a shared machine CPU time is steadier than wall time. */
  median(sql: string, runs?: number): number;
  close(): void;
}

function cpuMedian(runs: number, once: () => void): number {
  const times = Array.from({ length: runs }, () => {
    const before = process.cpuUsage();
    once();
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000;
  }).sort((a, b) => a - b);
  return times[Math.floor(runs / 2)]!;
}

/** sql.js (the store's engine) on the file's bytes, with the store's pragmas. */
async function sqljsEngine(path: string): Promise<Engine> {
  const SQL = await initSqlJs();
  const db = new SQL.Database(readFileSync(path));
  db.exec(
    'PRAGMA temp_store = MEMORY; PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; PRAGMA cache_spill = 16384',
  );
  return {
    version: String(db.exec('SELECT sqlite_version()')[0]!.values[0]![0]),
    exec: (sql) => db.exec(sql),
    plan: (sql) => (db.exec(`EXPLAIN QUERY PLAN ${sql}`)[0]?.values ?? []).map((row: unknown[]) => String(row[3])).join('; '),
    median: (sql, runs = 7) => cpuMedian(runs, () => db.exec(sql)),
    close: () => db.close(),
  };
}

/** Native SQLite (better-sqlite3) on the same file. */
function nativeEngine(db: Database): Engine {
  return {
    version: String((db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v),
    exec: (sql) => db.exec(sql),
    plan: (sql) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((row) => row.detail).join('; '),
    median: (sql, runs = 7) => cpuMedian(runs, () => db.prepare(sql).all()),
    close: () => db.close(),
  };
}

function split(engine: Engine): PlanningSplit {
  return {
    joinMs: engine.median(`SELECT COUNT(*) ${PLANNING_FROM}`),
    readMs: engine.median(`SELECT COUNT(tool_name) ${PLANNING_FROM}`),
    queryMs: engine.median(SEED_QUERIES[0]!.sql),
  };
}

/**
 * The planning query's cost by share, split into the join, reading tool_name and the GROUP BY sort,
 * in sql.js and in native SQLite; then, at a fifth of the calls, what statistics, another index and
 * sql.js's sorter settings change. The variants only attribute cost: the query timed is the README's text.
 */
async function planningCosts(path: string): Promise<PlanningCosts> {
  const db = new Database(path);
  const engines = [await sqljsEngine(path), nativeEngine(db)] as const;
  const [sqljs, native] = engines;
  const both = (sql: string) => {
    for (const engine of engines) engine.exec(sql);
  };
  try {
    const shares: PlanningCosts['shares'] = [];
    for (const share of SHARES) {
      both(sharePhases(share.every));
      shares.push({ percent: share.percent, calls: SEED_CALLS / share.every, sqljs: split(sqljs), native: split(native) });
    }
    both(sharePhases(SHARES[0]!.every));
    const query = SEED_QUERIES[0]!.sql;
    const alternatives: PlanningCosts['alternatives'] = [];
    const row = (change: string, sql = query) =>
      alternatives.push({ change, plan: sqljs.plan(sql), sqljsMs: sqljs.median(sql), nativeMs: native.median(sql) });
    row('0004 as shipped');
    // With temp_store = MEMORY (the store's) SQLite's sorter mallocs each row; otherwise it fills
    // one buffer and spills to temp files past cache_size, here set too large to spill.
    sqljs.exec('PRAGMA temp_store = DEFAULT; PRAGMA cache_size = -200000');
    row('temp_store = DEFAULT, cache_size = 200 MB (the sort never spills)');
    sqljs.exec('PRAGMA temp_store = MEMORY; PRAGMA cache_size = -2000');
    both('ANALYZE');
    row('+ ANALYZE (sqlite_stat1)');
    both('CREATE INDEX idx_try_tool_mission ON tool_calls(tool_name, mission_id); ANALYZE');
    row("+ tool_calls(tool_name, mission_id) and ANALYZE: the planner's choice");
    row('the same, tool_calls first (CROSS JOIN): no sort, every call read', query.replace('JOIN missions', 'CROSS JOIN missions'));
    return { versions: `sql.js (SQLite ${sqljs.version}), native SQLite ${native.version}`, shares, alternatives };
  } finally {
    for (const engine of engines) engine.close();
  }
}

async function seedQueries(): Promise<SeedFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'aos-scale-seed-'));
  const path = join(dir, 'seed.db');
  try {
    // Built at schema version 3: first timed as the previous release had it, then migrated.
    buildSeedStore(path, 3);
    const queries: SeedFigures['queries'] = [];
    let store = await openStore({ adapter: fsAdapter(path), migrations: schemaMigrations.slice(0, 3) });
    await timeQueries(store, 'before 0004; a fifth of the calls in PLANNING missions', queries);
    await store.close();
    const t = performance.now();
    store = await openStore({ adapter: fsAdapter(path) });
    const migrationMs = performance.now() - t;
    await timeQueries(store, 'with 0004; a fifth of the calls in PLANNING missions', queries);
    for (const share of SHARES.slice(1)) {
      await store.run(sharePhases(share.every));
      await timeQueries(store, `with 0004; ${share.percent}% of the calls in PLANNING missions`, queries, SEED_QUERIES[0]!.name);
    }
    await store.run(sharePhases(SHARES[0]!.every));
    await store.close();
    // To time other engines on the same file, e.g. the sqlite3 shell (docs/benchmarks.md, "Scale").
    if (process.env.BENCH_SEED_KEEP) copyFileSync(path, process.env.BENCH_SEED_KEEP);
    // Before planningCosts, whose native half adds an index and statistics to the file.
    const fileBytes = statSync(path).size;
    const planning = await planningCosts(path);
    return { calls: SEED_CALLS, fileBytes, migrationMs, queries, planning };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--scale-size') {
  console.log(JSON.stringify(await scaleSize(Number(process.argv[3]))));
  process.exit(0);
} else if (process.argv[2] === '--scale-seed') {
  console.log(JSON.stringify(await seedQueries()));
  process.exit(0);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runNodeScale();
}
