/**
 * `npm run bench` (Node): durable tool-call latency of agent-ops-store on the fs adapter at
 * 1 MB and 100 MB, against a naive export-per-commit sql.js baseline and native
 * better-sqlite3, batched throughput, cold open of a store with a 10,000-record log, and the
 * scale section (bench/node-scale.ts: BENCH_SCALE=100,500 picks its sizes in MB).
 * BENCH_ONLY=cold-open runs only the cold open (section 5), BENCH_COLD_REPEATS opens it that many times (default 3).
 * Prints one table and writes bench/results/node.json. Imports the built package (dist/),
 * the way users do; `prebench` builds it.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore, type PersistenceAdapter, type SQLiteStore } from 'agent-ops-store';
import { fsAdapter } from 'agent-ops-store/adapters/fs';
import { memoryAdapter } from 'agent-ops-store/adapters/memory';
import Database from 'better-sqlite3';
import initSqlJs from 'sql.js';
import type { SqlJsDatabase } from '../src/sql-js.js';
import { runNodeScale } from './node-scale.js';
import { payload } from './payloads.js';
import { type Summary, summarize } from './stats.js';

const MB = 1_000_000;
const HERE = dirname(fileURLToPath(import.meta.url));
// Every migration in order, so the baselines keep the same columns and indexes as the store.
const SCHEMA = readdirSync(join(HERE, '..', 'schema'))
  .filter((file) => file.endsWith('.sql'))
  .sort()
  .map((file) => readFileSync(join(HERE, '..', 'schema', file), 'utf8'))
  .join('\n');
/** A checkpoint policy that never fires: the log keeps every record until close(). */
const NEVER = { minLogBytes: 1e12, maxLogBytes: 1e12 } as const;

const RECORDS = 3000;
const WARMUP = 300;
const BATCH_ROWS = 10_000;
const COLD_LOG_RECORDS = 10_000;
const COLD_REPEATS = Number(process.env.BENCH_COLD_REPEATS ?? 3);
const LIVE_WRITES = 300;
const GROUP_WRITERS = 16;
const GROUP_PER_WRITER = 50;
const GROUP_ROUNDS = 4;
/**
 * BENCH_SECTIONS=1,4b,4 runs only those sections (1 includes 3, and 2 needs 1); unset runs all.
 * For quick A/B work on one goal; a partial run prints its rows and writes no results file.
 */
const SECTIONS = process.env.BENCH_SECTIONS?.split(',').map((id) => id.trim()) ?? null;
function wanted(id: string): boolean {
  return SECTIONS === null || SECTIONS.includes(id);
}

function fmtMs(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 1000) return `${ms.toFixed(2)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}
function fmtMB(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}
function ratio(x: number): string {
  return x.toFixed(2);
}

interface TableRow {
  readonly id: string;
  readonly what: string;
  readonly p50?: string;
  readonly p95?: string;
  readonly value?: string;
  readonly goal?: string;
  readonly verdict?: 'met' | 'MISSED';
}

const table: TableRow[] = [];
const results: Record<string, unknown> = {};

function log(line: string): void {
  process.stderr.write(`  · ${line}\n`);
}

// ---------------------------------------------------------------------------------------------
// agent-ops-store helpers.

interface AdapterStats {
  appends: number[];
  appendBytes: number;
  checkpoints: number[];
  checkpointBytes: number[];
  loads: number[];
}

function newStats(): AdapterStats {
  return { appends: [], appendBytes: 0, checkpoints: [], checkpointBytes: [], loads: [] };
}

/**
 * The fs adapter, observed: a pass-through that times each append (write + fdatasync) and
 * checkpoint, so the table can say where a record's time goes and whether a checkpoint ran.
 */
function observed(inner: PersistenceAdapter, stats: AdapterStats): PersistenceAdapter {
  return {
    location: inner.location,
    async load() {
      const t = performance.now();
      const state = await inner.load();
      stats.loads.push(performance.now() - t);
      return state;
    },
    async append(record) {
      const t = performance.now();
      await inner.append(record);
      stats.appends.push(performance.now() - t);
      stats.appendBytes += record.length;
    },
    async checkpoint(snapshot) {
      const t = performance.now();
      await inner.checkpoint(snapshot);
      stats.checkpoints.push(performance.now() - t);
      stats.checkpointBytes.push(snapshot.length);
    },
    close: () => inner.close(),
  };
}

function recordInput(mission: number, i: number) {
  const p = payload(i);
  return { mission, toolName: p.toolName, args: p.args, result: p.result, durationMs: p.durationMs, success: p.success };
}

async function storeBytes(store: SQLiteStore): Promise<number> {
  const [row] = await store.query('SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()');
  return Number(row?.n);
}

async function missionId(store: SQLiteStore): Promise<number> {
  const existing = await store.missions.get('bench-mission').catch(() => undefined);
  if (existing) return existing.id;
  return (await store.missions.create({ phase: 'CODING', uuid: 'bench-mission' })).id;
}

/** Creates a store at `path` of at least `target` bytes, fast: big transactions, one checkpoint. */
async function buildStore(path: string, target: number): Promise<{ rows: number; bytes: number; ms: number }> {
  const t = performance.now();
  const store = await openStore({ adapter: fsAdapter(path), checkpoint: NEVER });
  const mission = await missionId(store);
  let rows = 0;
  for (let bytes = await storeBytes(store); bytes < target; bytes = await storeBytes(store)) {
    const chunk = Math.max(50, Math.min(5000, Math.ceil((target - bytes) / 1400)));
    await store.transaction(async (tx) => {
      for (let k = 0; k < chunk; k++) await tx.toolCalls.record(recordInput(mission, rows + k));
    });
    rows += chunk;
  }
  await store.checkpoint();
  await store.close();
  return { rows, bytes: statSync(path).size, ms: performance.now() - t };
}

/** A store opened with the default checkpoint policy, its adapter observed. */
async function openMeasured(path: string): Promise<{ store: SQLiteStore; mission: number; stats: AdapterStats }> {
  const stats = newStats();
  const store = await openStore({ adapter: observed(fsAdapter(path), stats) });
  return { store, mission: await missionId(store), stats };
}

function resetStats(stats: AdapterStats): void {
  stats.appends.length = 0;
  stats.appendBytes = 0;
  stats.checkpoints.length = 0;
  stats.checkpointBytes.length = 0;
}

// ---------------------------------------------------------------------------------------------
// Baselines.

type SqlJs = Awaited<ReturnType<typeof initSqlJs>>;

const INSERT_SQL =
  'INSERT INTO tool_calls (mission_id, tool_name, args, result, timestamp, duration_ms, success, error_message, agent_name) ' +
  'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';

function insertParams(mission: number, i: number): (string | number | null)[] {
  const p = payload(i);
  return [
    mission,
    p.toolName,
    JSON.stringify(p.args),
    JSON.stringify(p.result),
    new Date().toISOString().replace('T', ' '),
    p.durationMs,
    p.success ? 1 : 0,
    null,
    null,
  ];
}

/** A sql.js database with the schema, filled to at least `target` bytes. */
function naiveDatabase(SQL: SqlJs, target: number): SqlJsDatabase {
  const db = new SQL.Database();
  db.exec('PRAGMA journal_mode = MEMORY; PRAGMA foreign_keys = ON;');
  db.exec(SCHEMA);
  db.exec("INSERT INTO missions (mission_uuid, phase, created_at) VALUES ('bench-mission', 'CODING', '2026-01-01 00:00:00.000Z')");
  const insert = db.prepare(INSERT_SQL);
  const bytes = () => Number(db.exec('SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()')[0]!.values[0]![0]);
  let i = 0;
  for (let size = bytes(); size < target; size = bytes()) {
    const chunk = Math.max(50, Math.min(5000, Math.ceil((target - size) / 1400)));
    db.exec('BEGIN');
    for (let k = 0; k < chunk; k++, i++) {
      insert.bind(insertParams(1, i));
      insert.step();
      insert.reset();
    }
    db.exec('COMMIT');
  }
  insert.free();
  return db;
}

/** The naive durable commit: insert, export the whole database, temp file, fsync, rename. */
function naiveCommits(db: SqlJsDatabase, path: string, iterations: number): Summary {
  const samples: number[] = [];
  const temp = `${path}.tmp`;
  for (let i = 0; i < iterations + 2; i++) {
    const t = performance.now();
    db.exec('BEGIN');
    const insert = db.prepare(INSERT_SQL);
    insert.bind(insertParams(1, i));
    insert.step();
    insert.free();
    db.exec('COMMIT');
    const bytes = db.export();
    const fd = openSync(temp, 'w');
    try {
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
    if (i >= 2) samples.push(performance.now() - t); // the first two warm the file and cache
  }
  return summarize(samples);
}

function nativeDatabase(path: string): Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.exec(SCHEMA);
  db.prepare("INSERT INTO missions (mission_uuid, phase, created_at) VALUES ('bench-mission', 'CODING', '2026-01-01 00:00:00.000Z')").run();
  return db;
}

// ---------------------------------------------------------------------------------------------
// Cold open: a child writes the log and dies holding the store.

async function writeLogInChild(path: string, records: number): Promise<{ logBytes: number }> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), '--cold-open-writer', path, String(records)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`cold-open writer exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as { logBytes: number };
}

/** Child mode: write `records` durable tool calls with no checkpoint, then exit without close(). */
async function coldOpenWriter(path: string, records: number): Promise<never> {
  const store = await openStore({ adapter: fsAdapter(path), checkpoint: NEVER });
  const mission = await missionId(store);
  for (let i = 0; i < records; i++) await store.toolCalls.record(recordInput(mission, i));
  process.stdout.write(`${JSON.stringify({ logBytes: statSync(`${path}.aos-log`).size })}\n`);
  // No close(): the log stays, and the lock is released only by this process's death.
  process.exit(0);
}

function copyStore(from: string, to: string): void {
  for (const suffix of ['', '.aos-log', '.aos-lock']) {
    if (existsSync(from + suffix)) copyFileSync(from + suffix, to + suffix);
  }
}

// ---------------------------------------------------------------------------------------------

function filesystemOf(dir: string): string {
  try {
    const line = execFileSync('df', ['-PT', dir], { encoding: 'utf8' }).trim().split('\n')[1]!.split(/\s+/);
    return `${line[1]} (${line[0]}, mounted on ${line[6]})`;
  } catch {
    return 'unknown';
  }
}

function printTable(machine: string): void {
  const headers = ['#', 'measure', 'p50', 'p95', 'value', 'goal', ''];
  const cells = table.map((r) => [r.id, r.what, r.p50 ?? '', r.p95 ?? '', r.value ?? '', r.goal ?? '', r.verdict ?? '']);
  const widths = headers.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, c) => (c >= 2 && c <= 4 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  console.log(`\nagent-ops-store: Node bench (fs adapter)\n${machine}\n`);
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells) console.log(line(row));
  console.log('');
}

/**
 * 5. Cold open: a 50 MB store with a 10,000-record log left by a killed writer, opened by
 * openStore (then one query) against raw sql.js opening the snapshot bytes (then the same query).
 */
async function coldOpen(root: string, SQL: SqlJs): Promise<void> {
  log('cold open: building a 50 MB store, then a child writes 10,000 records and exits without close()');
  const cold = join(root, 'cold.db');
  const builtCold = await buildStore(cold, 50 * MB);
  const snapshotBytes = statSync(cold).size;
  const { logBytes } = await writeLogInChild(cold, COLD_LOG_RECORDS);
  if (!existsSync(`${cold}.aos-lock`)) throw new Error('the child released its lock: it closed the store');
  const aosOpen: number[] = [];
  const aosLoad: number[] = [];
  const rawOpen: number[] = [];
  // CPU time beside wall time: steadier on a shared machine, where wall time also counts waiting for a core.
  const aosCpu: number[] = [];
  const rawCpu: number[] = [];
  const cpuSince = (from: NodeJS.CpuUsage) => {
    const used = process.cpuUsage(from);
    return (used.user + used.system) / 1000;
  };
  let aosCount = 0;
  let rawCount = 0;
  for (let k = 0; k < COLD_REPEATS; k++) {
    const copy = join(root, `cold-${k}.db`);
    copyStore(cold, copy);
    const stats = newStats();
    const t = performance.now();
    const c = process.cpuUsage();
    const store = await openStore({ adapter: observed(fsAdapter(copy), stats) });
    const [row] = await store.query('SELECT count(*) AS n FROM tool_calls');
    aosOpen.push(performance.now() - t);
    aosCpu.push(cpuSince(c));
    aosLoad.push(stats.loads[0]!);
    aosCount = Number(row?.n);
    await store.close();
    rmSync(copy, { force: true });
    rmSync(`${copy}.aos-log`, { force: true });

    const r = performance.now();
    const rc = process.cpuUsage();
    const db = new SQL.Database(readFileSync(cold));
    rawCount = Number(db.exec('SELECT count(*) AS n FROM tool_calls')[0]!.values[0]![0]);
    rawOpen.push(performance.now() - r);
    rawCpu.push(cpuSince(rc));
    db.close();
  }
  if (aosCount !== rawCount + COLD_LOG_RECORDS)
    throw new Error(`cold open saw ${aosCount} rows, expected ${rawCount} + ${COLD_LOG_RECORDS}`);
  const aosOpenS = summarize(aosOpen);
  const rawOpenS = summarize(rawOpen);
  const aosCpuS = summarize(aosCpu);
  const rawCpuS = summarize(rawCpu);
  const coldRatio = aosOpenS.p50 / rawOpenS.p50;
  table.push(
    {
      id: '5',
      what: `openStore + first query, ${fmtMB(snapshotBytes)} + ${COLD_LOG_RECORDS} records (${fmtMB(logBytes)} log)`,
      p50: fmtMs(aosOpenS.p50),
      value: `load ${fmtMs(summarize(aosLoad).p50)}, CPU ${fmtMs(aosCpuS.p50)}, n=${COLD_REPEATS}`,
    },
    {
      id: '5',
      what: `sql.js on the raw snapshot bytes + first query`,
      p50: fmtMs(rawOpenS.p50),
      value: `CPU ${fmtMs(rawCpuS.p50)}, sees ${COLD_LOG_RECORDS} fewer rows`,
    },
    {
      id: '5',
      what: '  agent-ops-store / raw sql.js',
      p50: ratio(coldRatio),
      value: `CPU time: ${ratio(aosCpuS.p50 / rawCpuS.p50)}`,
      goal: '≤ 3×',
      verdict: coldRatio <= 3 ? 'met' : 'MISSED',
    },
  );
  results.coldOpen = {
    snapshotBytes,
    logBytes,
    logRecords: COLD_LOG_RECORDS,
    buildRows: builtCold.rows,
    aosOpenMs: aosOpen,
    aosLoadMs: aosLoad,
    rawOpenMs: rawOpen,
    aosCpuMs: aosCpu,
    rawCpuMs: rawCpu,
    rows: { aos: aosCount, raw: rawCount },
    ratio: coldRatio,
    cpuRatio: aosCpuS.p50 / rawCpuS.p50,
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  const root = mkdtempSync(join(tmpdir(), 'aos-bench-'));
  const cpu = cpus();
  const machine = {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGB: Math.round(totalmem() / 1e9),
    node: process.version,
    os: `${process.platform} ${release()}`,
    tempDir: root,
    filesystem: filesystemOf(root),
  };
  results.machine = machine;
  const machineLine =
    `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGB} GB, Node ${machine.node}, ${machine.os}\n` +
    `temp dir ${root} on ${machine.filesystem}`;
  process.stderr.write(`${machineLine}\n`);
  const cleanup = () => rmSync(root, { recursive: true, force: true });
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });

  try {
    const SQL = await initSqlJs();
    if (process.env.BENCH_ONLY === 'cold-open') {
      // Only section 5, printed but not written to bench/results/node.json (that file holds full runs).
      await coldOpen(root, SQL);
      printTable(machineLine);
      return;
    }

    // 1 and 3, side by side: each round makes one durable record() on the 1 MB store, one on
    // the 100 MB store and one better-sqlite3 commit, in rotating order, so disk and CPU
    // noise (this is a VM) hits all three alike.
    const small = join(root, 'small.db');
    const large = join(root, 'large.db');
    const nativePath = join(root, 'native.db');
    log('building the 1 MB and 100 MB stores');
    const builtSmall = await buildStore(small, 1 * MB);
    const native = nativeDatabase(nativePath);
    const insert = native.prepare(INSERT_SQL);
    native.transaction(() => {
      for (let i = 0; i < builtSmall.rows; i++) insert.run(...insertParams(1, i));
    })();
    if (wanted('1')) {
      const builtLarge = await buildStore(large, 100 * MB);
      log(
        `built ${fmtMB(builtSmall.bytes)} (${builtSmall.rows} rows) and ${fmtMB(builtLarge.bytes)} (${builtLarge.rows} rows, ${fmtMs(builtLarge.ms)})`,
      );
      const s1 = await openMeasured(small);
      const s100 = await openMeasured(large);
      // The same 1 MB store, a copy, with the fs adapter's opt-in blocking appends (a synchronous
      // write, as better-sqlite3 makes): the like-for-like comparison with the native reference.
      const smallBlocking = join(root, 'small-blocking.db');
      copyFileSync(small, smallBlocking);
      const blocking = await openStore({ adapter: fsAdapter(smallBlocking, { blockingAppends: true }) });
      const blockingMission = await missionId(blocking);
      // And one with every append through the thread pool (blockingAppends: false, the default
      // before appends adapted): what the event loop's freedom during every flush costs.
      const smallPool = join(root, 'small-pool.db');
      copyFileSync(small, smallPool);
      const pool = await openStore({ adapter: fsAdapter(smallPool, { blockingAppends: false }) });
      const poolMission = await missionId(pool);
      // Two references that split a record's time: the same call with no I/O at all (memory
      // adapter), and the bare physical cost (sync write of one frame-sized buffer + fdatasync).
      const inMemory = await openStore({ adapter: memoryAdapter(), checkpoint: NEVER });
      const inMemoryMission = await missionId(inMemory);
      const rawPath = join(root, 'raw-append.log');
      const rawFd = openSync(rawPath, 'w');
      const rawFrame = new Uint8Array(1400).fill(0x61);
      let rawAt = 0;
      const contenders: { samples: number[]; once: (i: number) => Promise<unknown> | unknown }[] = [
        { samples: [], once: (i) => s1.store.toolCalls.record(recordInput(s1.mission, i)) },
        { samples: [], once: (i) => s100.store.toolCalls.record(recordInput(s100.mission, i)) },
        { samples: [], once: (i) => insert.run(...insertParams(1, i)) },
        { samples: [], once: (i) => inMemory.toolCalls.record(recordInput(inMemoryMission, i)) },
        { samples: [], once: (i) => blocking.toolCalls.record(recordInput(blockingMission, i)) },
        {
          samples: [],
          once: () => {
            rawAt += writeSync(rawFd, rawFrame, 0, rawFrame.length, rawAt);
            fdatasyncSync(rawFd);
          },
        },
        { samples: [], once: (i) => pool.toolCalls.record(recordInput(poolMission, i)) },
      ];
      log(`warming up (${WARMUP} rounds), then ${RECORDS} measured rounds`);
      for (let i = 0; i < WARMUP; i++) for (const c of contenders) await c.once(i);
      resetStats(s1.stats);
      resetStats(s100.stats);
      for (let i = 0; i < RECORDS; i++) {
        for (let k = 0; k < contenders.length; k++) {
          const c = contenders[(i + k) % contenders.length]!;
          const t = performance.now();
          await c.once(i);
          c.samples.push(performance.now() - t);
        }
      }
      const checkpoints1 = [...s1.stats.checkpoints];
      const checkpoints100 = [...s100.stats.checkpoints];
      await s1.store.close();
      await s100.store.close();
      await inMemory.close();
      await blocking.close();
      await pool.close();
      rmSync(smallBlocking, { force: true });
      rmSync(smallPool, { force: true });
      closeSync(rawFd);
      rmSync(large, { force: true });
      rmSync(rawPath, { force: true });
      const cpuOnly = summarize(contenders[3]!.samples);
      const latBlocking = summarize(contenders[4]!.samples);
      const rawSync = summarize(contenders[5]!.samples);
      const latPool = summarize(contenders[6]!.samples);
      const latSmall = summarize(contenders[0]!.samples);
      const latLarge = summarize(contenders[1]!.samples);
      const nativeLat = summarize(contenders[2]!.samples);
      const sizeRatio = latLarge.p50 / latSmall.p50;
      const sizeRatio95 = latLarge.p95 / latSmall.p95;
      const appendSmall = summarize(s1.stats.appends);
      const appendLarge = summarize(s100.stats.appends);
      const bytesPerRecord = s1.stats.appendBytes / s1.stats.appends.length;
      table.push(
        {
          id: '1',
          what: `record(), ${fmtMB(builtSmall.bytes)} store`,
          p50: fmtMs(latSmall.p50),
          p95: fmtMs(latSmall.p95),
          value: `max ${fmtMs(latSmall.max)}`,
        },
        {
          id: '1',
          what: `record(), ${fmtMB(builtLarge.bytes)} store`,
          p50: fmtMs(latLarge.p50),
          p95: fmtMs(latLarge.p95),
          value: `max ${fmtMs(latLarge.max)}`,
        },
        {
          id: '1',
          what: '  ratio 100 MB / 1 MB',
          p50: ratio(sizeRatio),
          p95: ratio(sizeRatio95),
          goal: '≤ 1.30',
          verdict: sizeRatio <= 1.3 && sizeRatio95 <= 1.3 ? 'met' : 'MISSED',
        },
        {
          id: '1',
          what: '  of which append (write+fdatasync), 1 MB',
          p50: fmtMs(appendSmall.p50),
          p95: fmtMs(appendSmall.p95),
          value: `${bytesPerRecord.toFixed(0)} B/record`,
        },
        { id: '1', what: '  of which append (write+fdatasync), 100 MB', p50: fmtMs(appendLarge.p50), p95: fmtMs(appendLarge.p95) },
        { id: '1', what: '  same record() on the memory adapter (no I/O)', p50: fmtMs(cpuOnly.p50), p95: fmtMs(cpuOnly.p95) },
        { id: '1', what: '  bare writeSync + fdatasyncSync of 1.4 KB', p50: fmtMs(rawSync.p50), p95: fmtMs(rawSync.p95) },
        {
          id: '1',
          what: '  checkpoints during the measured rounds',
          value: `1 MB: ${checkpoints1.length} (max ${fmtMs(Math.max(0, ...checkpoints1))}), 100 MB: ${checkpoints100.length}`,
        },
      );
      results.recordLatency = {
        rounds: RECORDS,
        warmupRounds: WARMUP,
        small: { bytes: builtSmall.bytes, rows: builtSmall.rows, latency: latSmall, append: appendSmall, checkpointsMs: checkpoints1 },
        large: { bytes: builtLarge.bytes, rows: builtLarge.rows, latency: latLarge, append: appendLarge, checkpointsMs: checkpoints100 },
        memoryAdapter: cpuOnly,
        bareWriteFdatasync: rawSync,
        bytesPerRecord,
        ratioP50: sizeRatio,
        ratioP95: sizeRatio95,
      };

      // 2. naive export-per-commit baseline.
      if (wanted('2')) {
        log('naive baseline: export + temp file + fsync + rename per commit');
        const naive: Record<string, Summary & { bytes: number }> = {};
        for (const [label, target, iterations] of [
          ['1 MB', 1 * MB, 200],
          ['50 MB', 50 * MB, 30],
          ['100 MB', 100 * MB, 30],
        ] as const) {
          const db = naiveDatabase(SQL, target);
          const path = join(root, `naive-${target}.db`);
          const summary = naiveCommits(db, path, iterations);
          const bytes = statSync(path).size;
          db.close();
          rmSync(path, { force: true });
          naive[label] = { ...summary, bytes };
          log(`naive ${label}: p50 ${fmtMs(summary.p50)}`);
        }
        const vsSmall = naive['1 MB']!.p50 / latSmall.p50;
        const vs50 = naive['50 MB']!.p50 / latSmall.p50;
        const vs100 = naive['100 MB']!.p50 / latLarge.p50;
        for (const label of ['1 MB', '50 MB', '100 MB']) {
          const n = naive[label]!;
          table.push({ id: '2', what: `naive export-per-commit, ${fmtMB(n.bytes)} (n=${n.n})`, p50: fmtMs(n.p50), p95: fmtMs(n.p95) });
        }
        table.push(
          { id: '2', what: '  speedup at 1 MB (p50 vs 1 MB store)', value: `${vsSmall.toFixed(2)}×` },
          {
            id: '2',
            what: '  speedup at 50 MB (p50 vs 1 MB store)',
            value: `${vs50.toFixed(2)}×`,
            goal: '≥ 50×',
            verdict: vs50 >= 50 ? 'met' : 'MISSED',
          },
          {
            id: '2',
            what: '  speedup at 100 MB (p50 vs 100 MB store)',
            value: `${vs100.toFixed(2)}×`,
            goal: '≥ 50×',
            verdict: vs100 >= 50 ? 'met' : 'MISSED',
          },
        );
        results.naive = { ...naive, speedup1MB: vsSmall, speedup50MB: vs50, speedup100MB: vs100 };
      }

      const vsNative = latSmall.p50 / nativeLat.p50;
      const vsNative95 = latSmall.p95 / nativeLat.p95;
      table.push(
        {
          id: '3',
          what: `better-sqlite3 (WAL, synchronous=FULL) commit, ${fmtMB(statSync(nativePath).size)} file`,
          p50: fmtMs(nativeLat.p50),
          p95: fmtMs(nativeLat.p95),
          value: `max ${fmtMs(nativeLat.max)}`,
        },
        {
          id: '3',
          what: '  agent-ops-store (1 MB, default appends) / better-sqlite3',
          p50: ratio(vsNative),
          p95: ratio(vsNative95),
          goal: '≤ 1.30 p50',
          verdict: vsNative <= 1.3 ? 'met' : 'MISSED',
        },
        {
          id: '3',
          what: '  record(), 1 MB store, fsAdapter({ blockingAppends: true })',
          p50: fmtMs(latBlocking.p50),
          p95: fmtMs(latBlocking.p95),
        },
        {
          id: '3',
          what: '  agent-ops-store (1 MB, blocking appends) / better-sqlite3',
          p50: ratio(latBlocking.p50 / nativeLat.p50),
          p95: ratio(latBlocking.p95 / nativeLat.p95),
        },
        {
          id: '3',
          what: '  record(), 1 MB store, fsAdapter({ blockingAppends: false })',
          p50: fmtMs(latPool.p50),
          p95: fmtMs(latPool.p95),
        },
        {
          id: '3',
          what: '  agent-ops-store (1 MB, thread-pool appends) / better-sqlite3',
          p50: ratio(latPool.p50 / nativeLat.p50),
          p95: ratio(latPool.p95 / nativeLat.p95),
        },
      );
      results.native = { latency: nativeLat, ratioP50: vsNative, ratioP95: vsNative95 };
      results.blockingAppends = {
        latency: latBlocking,
        ratioP50: latBlocking.p50 / nativeLat.p50,
        ratioP95: latBlocking.p95 / nativeLat.p95,
      };
      results.threadPoolAppends = {
        latency: latPool,
        ratioP50: latPool.p50 / nativeLat.p50,
        ratioP95: latPool.p95 / nativeLat.p95,
      };
    }

    // 4b. group commit: 16 writers, each awaiting its own record() in a loop (parallel tool
    // calls), against better-sqlite3's durable single-row commits, in alternating rounds.
    if (wanted('4b')) {
      log(`group commit: ${GROUP_WRITERS} concurrent writers, ${GROUP_ROUNDS} rounds of ${GROUP_PER_WRITER} records each`);
      const groupStats = newStats();
      const groupStore = await openStore({ adapter: observed(fsAdapter(small), groupStats) });
      const groupMission = await missionId(groupStore);
      let groupMs = 0;
      let groupNativeMs = 0;
      let groupRecords = 0;
      // Where the time goes, over every round: the appends (one per shared commit) and the
      // background checkpoints that ran between them.
      const groupAppendMs: number[] = [];
      const groupCheckpointMs: number[] = [];
      for (let round = 0; round < GROUP_ROUNDS; round++) {
        groupAppendMs.push(...groupStats.appends);
        groupCheckpointMs.push(...groupStats.checkpoints);
        resetStats(groupStats);
        const tg = performance.now();
        await Promise.all(
          Array.from({ length: GROUP_WRITERS }, async (_, w) => {
            for (let i = 0; i < GROUP_PER_WRITER; i++) await groupStore.toolCalls.record(recordInput(groupMission, w * 1000 + i));
          }),
        );
        groupMs += performance.now() - tg;
        groupRecords += GROUP_WRITERS * GROUP_PER_WRITER;
        const tn1 = performance.now();
        for (let i = 0; i < GROUP_WRITERS * GROUP_PER_WRITER; i++) insert.run(...insertParams(1, i));
        groupNativeMs += performance.now() - tn1;
      }
      const groupAppends = groupStats.appends.length;
      groupAppendMs.push(...groupStats.appends);
      groupCheckpointMs.push(...groupStats.checkpoints);
      await groupStore.close();
      const groupAppend = summarize(groupAppendMs);
      const groupCheckpointTotal = groupCheckpointMs.reduce((sum, ms) => sum + ms, 0);
      const groupRate = groupRecords / (groupMs / 1000);
      const groupNativeRate = groupRecords / (groupNativeMs / 1000);
      const groupRatio = groupRate / groupNativeRate;
      table.push(
        {
          id: '4b',
          what: `agent-ops-store, ${GROUP_WRITERS} concurrent writers, durable record()`,
          value: `${Math.round(groupRate).toLocaleString('en-US')} commits/s (last round: ${GROUP_WRITERS * GROUP_PER_WRITER} writes in ${groupAppends} appends)`,
        },
        {
          id: '4b',
          what: '  of which appends (one per shared commit), and checkpoints',
          p50: fmtMs(groupAppend.p50),
          p95: fmtMs(groupAppend.p95),
          value: `appends ${fmtMs(groupAppendMs.reduce((sum, ms) => sum + ms, 0))} in all; ${groupCheckpointMs.length} checkpoints, ${fmtMs(groupCheckpointTotal)}`,
        },
        {
          id: '4b',
          what: 'better-sqlite3 (WAL, synchronous=FULL), durable single-row commits',
          value: `${Math.round(groupNativeRate).toLocaleString('en-US')} commits/s`,
        },
        {
          id: '4b',
          what: '  agent-ops-store group commit / better-sqlite3',
          value: ratio(groupRatio),
          goal: '≥ 3×',
          verdict: groupRatio >= 3 ? 'met' : 'MISSED',
        },
      );
      results.groupCommit = {
        writers: GROUP_WRITERS,
        records: groupRecords,
        aosMs: groupMs,
        nativeMs: groupNativeMs,
        ratio: groupRatio,
        appendsLastRound: groupAppends,
        appendMs: groupAppendMs,
        checkpointMs: groupCheckpointMs,
      };
    }

    // 4. batched throughput.
    if (wanted('4')) {
      log(`batched: ${BATCH_ROWS} tool calls in one transaction`);
      const batchStats = newStats();
      // The same 1 MB database as the store holds now, for raw sql.js below.
      const smallBytes = readFileSync(small);
      const batchStore = await openStore({ adapter: observed(fsAdapter(small), batchStats) });
      const batchMission = await missionId(batchStore);
      const tb = performance.now();
      await batchStore.transaction(async (tx) => {
        for (let i = 0; i < BATCH_ROWS; i++) await tx.toolCalls.record(recordInput(batchMission, i));
      });
      const batchMs = performance.now() - tb;
      const drain = performance.now();
      await batchStore.query('SELECT 1');
      const drainMs = performance.now() - drain;
      await batchStore.close();
      // The engine's own ceiling: the same inserts in raw sql.js, with the store's pragmas and
      // nothing durable, on the same database. The store runs these inserts and more, so its
      // ratio to better-sqlite3 cannot pass this one's.
      const raw = new SQL.Database(smallBytes);
      raw.exec(
        'PRAGMA temp_store = MEMORY; PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; PRAGMA foreign_keys = ON',
      );
      const rawInsert = raw.prepare(INSERT_SQL);
      const tr = performance.now();
      raw.exec('BEGIN');
      for (let i = 0; i < BATCH_ROWS; i++) {
        rawInsert.bind(insertParams(batchMission, i));
        rawInsert.step();
        rawInsert.reset();
      }
      raw.exec('COMMIT');
      const rawBatchMs = performance.now() - tr;
      rawInsert.free();
      raw.close();
      const tn = performance.now();
      native.transaction(() => {
        for (let i = 0; i < BATCH_ROWS; i++) insert.run(...insertParams(1, i));
      })();
      const nativeBatchMs = performance.now() - tn;
      const aosRate = BATCH_ROWS / (batchMs / 1000);
      const rawRate = BATCH_ROWS / (rawBatchMs / 1000);
      const nativeRate = BATCH_ROWS / (nativeBatchMs / 1000);
      table.push(
        {
          id: '4',
          what: `agent-ops-store, ${BATCH_ROWS} rows in one transaction`,
          value: `${Math.round(aosRate).toLocaleString('en-US')} rows/s (${fmtMs(batchMs)})`,
        },
        { id: '4', what: '  of which the one append', value: `${fmtMs(batchStats.appends[0] ?? 0)} for ${fmtMB(batchStats.appendBytes)}` },
        {
          id: '4',
          what: '  then the checkpoint it triggers (after resolve)',
          value: batchStats.checkpoints.length > 0 ? `${fmtMs(drainMs)} until the next call runs` : 'none',
        },
        {
          id: '4',
          what: `better-sqlite3, ${BATCH_ROWS} rows in one transaction`,
          value: `${Math.round(nativeRate).toLocaleString('en-US')} rows/s (${fmtMs(nativeBatchMs)})`,
        },
        {
          id: '4',
          what: '  agent-ops-store / better-sqlite3 throughput',
          value: ratio(aosRate / nativeRate),
          goal: '≥ 0.50',
          verdict: aosRate / nativeRate >= 0.5 ? 'met' : 'MISSED',
        },
        {
          id: '4',
          what: `raw sql.js, the same ${BATCH_ROWS} inserts, nothing durable`,
          value: `${Math.round(rawRate).toLocaleString('en-US')} rows/s (${fmtMs(rawBatchMs)})`,
        },
        { id: '4', what: '  raw sql.js / better-sqlite3: the ceiling of the ratio', value: ratio(rawRate / nativeRate) },
      );
      results.batch = {
        rows: BATCH_ROWS,
        aosMs: batchMs,
        aosRowsPerSec: aosRate,
        appendMs: batchStats.appends,
        recordBytes: batchStats.appendBytes,
        drainMs,
        nativeMs: nativeBatchMs,
        nativeRowsPerSec: nativeRate,
        rawSqlJsMs: rawBatchMs,
        rawSqlJsRowsPerSec: rawRate,
      };
    }
    native.close();
    rmSync(small, { force: true });
    rmSync(nativePath, { force: true });

    // 5. cold open of a 50 MB store with a 10,000-record log left by a dead process.
    if (wanted('5')) await coldOpen(root, SQL);

    // 6. Follower lag: a reader (readOnly, no lock) beside the writer, here in the same process,
    // hears each commit through the files alone (fs.watch, 50 ms polling as the fallback).
    if (wanted('6')) {
      log('follower lag: writer commit → reader listener');
      const livePath = join(root, 'live.db');
      const liveWriter = await openStore({ adapter: fsAdapter(livePath) });
      const liveMission = await missionId(liveWriter);
      const liveReader = await openStore({ adapter: fsAdapter(livePath), readOnly: true });
      // In one process the reader often applies a record before the writer's commit has returned
      // (the bytes are in the file before the flush ends), so the lag is timed from the moment the
      // write was called: an upper bound on "commit → listener". How often the reader was first is
      // reported beside it.
      const calledAt = new Map<number, number>();
      const committedAt = new Map<number, number>();
      const heardAt = new Map<number, number>();
      let nextSeq = 0;
      liveWriter.subscribe(({ seq }) => {
        committedAt.set(seq, performance.now());
        nextSeq = seq + 1;
      });
      liveReader.subscribe(({ seq }) => {
        heardAt.set(seq, performance.now());
      });
      await liveWriter.toolCalls.record(recordInput(liveMission, 0));
      for (let i = 0; i < LIVE_WRITES; i++) {
        calledAt.set(nextSeq, performance.now());
        await liveWriter.toolCalls.record(recordInput(liveMission, i));
        // Paced like an agent's tool calls, so each commit is heard on its own.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await liveReader.refresh();
      await liveWriter.close();
      await liveReader.close();
      const lagMs = [...calledAt].map(([seq, at]) => (heardAt.get(seq) ?? Number.POSITIVE_INFINITY) - at);
      const first = [...calledAt.keys()].filter((seq) => (heardAt.get(seq) ?? Number.POSITIVE_INFINITY) <= committedAt.get(seq)!).length;
      const lag = summarize(lagMs);
      table.push({
        id: '6',
        what: `follower lag, write called → fs reader's listener (${lag.n} commits; reader first in ${first})`,
        p50: fmtMs(lag.p50),
        p95: fmtMs(lag.p95),
        goal: '< 100 ms',
        verdict: lag.max < 100 ? 'met' : 'MISSED',
      });
      results.followerLag = { commits: lag.n, p50: lag.p50, p95: lag.p95, max: lag.max, readerFirst: first, samples: lagMs };
    }

    const totalSeconds = (performance.now() - started) / 1000;
    results.totalSeconds = totalSeconds;
    printTable(machineLine);
    if (SECTIONS !== null) return;
    // 7. Scale: big stores and the seed queries at 1M calls, each in a child process (bench/node-scale.ts).
    results.scale = await runNodeScale();
    console.log(`total ${((performance.now() - started) / 1000).toFixed(0)} s; results in bench/results/node.json\n`);
    results.table = table;
    const outDir = join(HERE, 'results');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'node.json'), `${JSON.stringify(results, null, 2)}\n`);
  } finally {
    cleanup();
  }
}

if (process.argv[2] === '--cold-open-writer') {
  await coldOpenWriter(process.argv[3]!, Number(process.argv[4]));
} else {
  await main();
}
