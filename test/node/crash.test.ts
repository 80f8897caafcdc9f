import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fsAdapter } from '../../adapters/fs.js';
import { openStore, type SQLiteStore, StoreError } from '../../src/index.js';
import { sqliteReader } from './sqlite-reader.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const writer = join(repo, 'test/fixtures/crash-writer.ts');
const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);

/** mulberry32: the kill moments are random, but a failing run can be replayed with CRASH_SEED. */
function prng(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(seed);
const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));

let root: string;

beforeAll(async () => {
  if (!existsSync(join(repo, 'dist/index.js')) || !existsSync(join(repo, 'dist/adapters/fs.js'))) {
    throw new Error(
      'dist/ is missing: the crash test runs the BUILT package in child processes; run `npm run build` first (npm test does it in pretest)',
    );
  }
  root = await mkdtemp(join(tmpdir(), 'aos-crash-'));
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** A child process running the crash writer, its complete stdout lines collected as they come. */
class Child {
  readonly proc: ChildProcess;
  readonly lines: string[] = [];
  /** When each line arrived (ms). */
  readonly times: number[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #partial = '';
  #waiters: { match: (line: string) => boolean; from: number; resolve: (line: string) => void }[] = [];
  #stderr = '';

  constructor(path: string, mode: 'write' | 'checkpoint' | 'replica' | 'hold', tag: string, extra: string[] = []) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', writer, path, mode, tag, ...extra], {
      cwd: repo,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal })));
    this.proc.stderr!.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    this.proc.stdout!.on('data', (chunk: Buffer) => {
      const parts = (this.#partial + chunk.toString()).split('\n');
      // A line cut short by the kill is not an acknowledgement: keep only complete lines.
      this.#partial = parts.pop()!;
      for (const line of parts) {
        this.lines.push(line);
        this.times.push(performance.now());
        for (const waiter of [...this.#waiters]) {
          if (this.lines.length > waiter.from && waiter.match(line)) {
            this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
            waiter.resolve(line);
          }
        }
      }
    });
  }

  /** Resolves with the first line after the `from`-th that matches. */
  waitFor(match: (line: string) => boolean, what: string, from = 0, timeoutMs = 30_000): Promise<string> {
    const seen = this.lines.slice(from).find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`child never printed ${what}; stderr: ${this.#stderr}; lines: ${this.lines.slice(-5).join(' | ')}`)),
        timeoutMs,
      );
      this.exited.then(({ code, signal }) =>
        setTimeout(
          () =>
            reject(
              new Error(
                `child exited (${code ?? signal}) before ${what}; stderr: ${this.#stderr}; lines: ${this.lines.slice(-5).join(' | ')}`,
              ),
            ),
          50,
        ),
      );
      this.#waiters.push({
        match,
        from,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }

  async kill(): Promise<void> {
    this.proc.kill('SIGKILL');
    const { signal } = await this.exited;
    expect(signal, `the child died on its own: ${this.#stderr}`).toBe('SIGKILL');
  }
}

/** What the children tried and what they had acknowledged, across all rounds. */
class Ledger {
  readonly missionsAcked = new Set<string>();
  readonly deleteTried = new Set<string>();
  readonly deleteAcked = new Set<string>();
  readonly callsTried = new Set<string>();
  readonly callsAcked = new Map<string, number>();
  readonly decisionsAcked = new Map<string, number>();
  /** Per mission and key: the values tried in order, and how many of them were acknowledged. */
  readonly memory = new Map<string, { tried: number[]; acked: number }>();
  parentWrites = 0;
  warnings: string[] = [];

  take(lines: readonly string[]): void {
    for (const line of lines) {
      const [verb, what, ...rest] = line.split(' ');
      if (verb === 'open-failed') throw new Error(`a child could not open the store: ${line}`);
      if (verb === 'warning') this.warnings.push(line);
      if (verb !== 'try' && verb !== 'ack') continue;
      const ack = verb === 'ack';
      switch (what) {
        case 'mission':
          if (ack) this.missionsAcked.add(rest[0]!);
          break;
        case 'del':
          (ack ? this.deleteAcked : this.deleteTried).add(rest[0]!);
          break;
        case 'tc':
          if (ack) this.callsAcked.set(`${rest[0]}/${rest[1]}`, Number(rest[2]));
          else this.callsTried.add(`${rest[0]}/${rest[1]}`);
          break;
        case 'dec':
          if (ack) this.decisionsAcked.set(`${rest[0]}/${rest[1]}`, Number(rest[2]));
          break;
        case 'mem': {
          const slot = `${rest[0]}/${rest[1]}`;
          const entry = this.memory.get(slot) ?? { tried: [], acked: 0 };
          this.memory.set(slot, entry);
          if (ack) entry.acked = entry.tried.lastIndexOf(Number(rest[2])) + 1;
          else entry.tried.push(Number(rest[2]));
          break;
        }
      }
    }
  }

  /** Every acknowledged write is in the store, nothing in it was never tried, and SQLite agrees it is whole. */
  async verify(store: SQLiteStore, label: string): Promise<void> {
    const gone = (mission: string) => this.deleteTried.has(mission);
    const missions = new Set((await store.query('SELECT mission_uuid FROM missions')).map((r) => String(r.mission_uuid)));
    for (const m of this.missionsAcked) if (!gone(m)) expect(missions.has(m), `${label}: mission ${m}`).toBe(true);
    for (const m of this.deleteAcked) expect(missions.has(m), `${label}: deleted mission ${m}`).toBe(false);

    const calls = await store.query(
      "SELECT tc.id, m.mission_uuid AS u, json_extract(tc.args, '$.i') AS i FROM tool_calls tc JOIN missions m ON m.id = tc.mission_id WHERE tc.tool_name IN ('read_file', 'grep')",
    );
    const present = new Map(calls.map((r) => [`${r.u}/${r.i}`, Number(r.id)]));
    for (const key of present.keys()) expect(this.callsTried.has(key), `${label}: tool call ${key} was never tried`).toBe(true);
    for (const [key, id] of this.callsAcked) {
      if (gone(key.split('/')[0]!)) continue;
      expect(present.get(key), `${label}: acknowledged tool call ${key}`).toBe(id);
    }

    const decisions = await store.query(
      'SELECT d.id, m.mission_uuid AS u, d.rationale FROM decisions d JOIN missions m ON m.id = d.mission_id',
    );
    const decided = new Map(decisions.map((r) => [`${r.u}/${String(r.rationale).slice('step '.length)}`, Number(r.id)]));
    for (const [key, id] of this.decisionsAcked) {
      if (gone(key.split('/')[0]!)) continue;
      expect(decided.get(key), `${label}: acknowledged decision ${key}`).toBe(id);
    }

    const memory = await store.query(
      "SELECT m.mission_uuid AS u, a.key, json_extract(a.value, '$.i') AS i FROM agent_memory a JOIN missions m ON m.id = a.mission_id",
    );
    const values = new Map(memory.map((r) => [`${r.u}/${r.key}`, Number(r.i)]));
    for (const [slot, { tried, acked }] of this.memory) {
      const value = values.get(slot);
      if (gone(slot.split('/')[0]!) || (acked === 0 && value === undefined)) continue;
      // The last acknowledged value, or a later one whose write was durable but not yet acknowledged.
      expect(tried.slice(Math.max(0, acked - 1)), `${label}: memory ${slot} = ${value}`).toContain(value);
    }

    expect(
      Number((await store.query("SELECT count(*) AS n FROM tool_calls WHERE tool_name = 'parent_write'"))[0]!.n),
      `${label}: parent writes`,
    ).toBe(this.parentWrites);
    expect(await store.query('PRAGMA integrity_check'), label).toEqual([{ integrity_check: 'ok' }]);
    expect(await store.query('PRAGMA foreign_key_check'), label).toEqual([]);
  }

  /** A write by the parent: the store accepts new writes after the crash. */
  async write(store: SQLiteStore): Promise<void> {
    const uuid = 'parent';
    if (!(await store.missions.get(uuid))) await store.missions.create({ phase: 'CHECKING', uuid });
    await store.toolCalls.record({ mission: uuid, toolName: 'parent_write', args: { n: this.parentWrites }, success: true });
    this.parentWrites++;
  }
}

async function copyOf(path: string, name: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  const copy = join(dir, 'store.db');
  if (existsSync(path)) await copyFile(path, copy);
  if (existsSync(`${path}.aos-log`)) await copyFile(`${path}.aos-log`, `${copy}.aos-log`);
  return copy;
}

/** Reopens after a kill, on the path itself (recovering the dead child's lock) or on a copy of its files. */
async function reopenAndVerify(path: string, ledger: Ledger, label: string, direct: boolean): Promise<void> {
  const target = direct ? path : await copyOf(path, label);
  if (direct) expect(existsSync(`${path}.aos-lock`), `${label}: the killed child left its lock`).toBe(true);
  const store = await openStore({ adapter: fsAdapter(target), onWarning: (w) => ledger.warnings.push(w) });
  await ledger.verify(store, label);
  await ledger.write(store);
  await store.close();
  if (direct) {
    expect(existsSync(`${path}.aos-lock`)).toBe(false);
    const again = await openStore({ adapter: fsAdapter(path) });
    await ledger.verify(again, `${label}, reopened after close`);
    await again.close();
    const leftovers = (await readdir(dirname(path))).filter((f) => f.includes('.aos-tmp-'));
    expect(leftovers, `${label}: temp files of interrupted checkpoints are cleaned up`).toEqual([]);
  } else {
    await rm(join(target, '..'), { recursive: true });
    // The copy is verified; the original keeps the dead child's lock for the next child to recover.
    ledger.parentWrites--;
  }
}

describe(`crash safety with real processes and SIGKILL (seed ${seed})`, () => {
  test('every acknowledged write survives SIGKILL at random moments', { timeout: 300_000 }, async () => {
    const dir = join(root, 'writes');
    await mkdir(dir);
    const path = join(dir, 'store.db');
    const ledger = new Ledger();
    const rounds = 30;
    // The test must do real work (checked below); on a loaded machine a child writes less before
    // its kill, so up to as many rounds again run, with later kills, until it has.
    const enough = () => ledger.callsAcked.size > 120 && ledger.deleteAcked.size > 0;
    for (let round = 0; round < rounds || (!enough() && round < 2 * rounds); round++) {
      const child = new Child(path, 'write', `w${round}`);
      await child.waitFor((l) => l === 'ready' || l.startsWith('open-failed'), "'ready'");
      // Kill at a random moment: usually after some writes, sometimes at once.
      const wait = round >= rounds ? between(500, 1500) : round % 6 === 0 ? between(0, 20) : between(30, 700);
      await new Promise((resolve) => setTimeout(resolve, wait));
      await child.kill();
      ledger.take(child.lines);
      await reopenAndVerify(path, ledger, `write round ${round}`, round % 2 === 1);
    }
    // The test did real work: many acknowledged calls, deletes, automatic and explicit checkpoints.
    expect(ledger.callsAcked.size).toBeGreaterThan(120);
    expect(ledger.deleteAcked.size).toBeGreaterThan(0);
  });

  test('every acknowledged write survives SIGKILL in the middle of checkpoints of a large store', { timeout: 150_000 }, async () => {
    const dir = join(root, 'checkpoints');
    await mkdir(dir);
    const path = join(dir, 'store.db');
    const ledger = new Ledger();
    let inside = 0;
    // How long a checkpoint takes as the parent sees it, so the kills can aim inside one.
    let checkpointMs = 40;
    const rounds = 16;
    for (let round = 0; round < rounds; round++) {
      const child = new Child(path, 'checkpoint', `c${round}`, ['6']);
      await child.waitFor((l) => l === 'ready' || l.startsWith('open-failed'), "'ready'", 0, 60_000);
      let from = 0;
      const nth = between(1, 3);
      for (let n = 0; n < nth; n++) {
        await child.waitFor((l) => l === 'checkpoint-start', "'checkpoint-start'", from, 60_000);
        from = child.lines.lastIndexOf('checkpoint-start') + 1;
      }
      await new Promise((resolve) => setTimeout(resolve, between(0, Math.round(checkpointMs * 0.8))));
      await child.kill();
      const lastStart = child.lines.lastIndexOf('checkpoint-start');
      if (lastStart > child.lines.lastIndexOf('checkpoint-done')) inside++;
      const durations = child.lines.flatMap((l, i) =>
        l === 'checkpoint-done' && child.lines[i - 1] === 'checkpoint-start' ? [child.times[i]! - child.times[i - 1]!] : [],
      );
      if (durations.length > 0) checkpointMs = Math.max(5, Math.min(...durations));
      ledger.take(child.lines);
      await reopenAndVerify(path, ledger, `checkpoint round ${round}`, round % 2 === 0);
    }
    // Most kills must land inside a checkpoint, or this test proves nothing about them.
    expect(inside, `${inside} of ${rounds} kills landed inside a checkpoint`).toBeGreaterThanOrEqual(rounds / 3);
    console.log(`crash test: ${inside} of ${rounds} kills inside a checkpoint (${checkpointMs.toFixed(1)} ms each)`);
  });

  test('every acknowledged write survives SIGKILL while checkpoints are taken from a replica in a worker', {
    timeout: 200_000,
  }, async () => {
    const dir = join(root, 'replica');
    await mkdir(dir);
    const path = join(dir, 'store.db');
    const ledger = new Ledger();
    const rounds = 12;
    let background = 0;
    for (let round = 0; round < rounds; round++) {
      const child = new Child(path, 'replica', `r${round}`);
      await child.waitFor((l) => l === 'ready' || l.startsWith('open-failed'), "'ready'");
      // Watch the snapshot being replaced while the child writes: each new inode is a background checkpoint.
      const snapshots = new Set<bigint>();
      const until = Date.now() + between(500, 2000);
      while (Date.now() < until) {
        const ino = await stat(path, { bigint: true }).then(
          (s) => s.ino,
          () => null,
        );
        if (ino !== null) snapshots.add(ino);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      background += Math.max(0, snapshots.size - 1);
      await child.kill();
      ledger.take(child.lines);
      await reopenAndVerify(path, ledger, `replica round ${round}`, round % 2 === 1);
    }
    // Background checkpoints really ran while the children wrote, so most kills fell between or inside them.
    console.log(`crash test: ${background} background checkpoints landed in ${rounds} rounds`);
    expect(background).toBeGreaterThanOrEqual(rounds / 2);
    expect(ledger.callsAcked.size).toBeGreaterThan(120);
  });

  test('a second process gets LOCKED at once, or waits with lock: wait until the first exits', { timeout: 60_000 }, async () => {
    const dir = join(root, 'locked');
    await mkdir(dir);
    const path = join(dir, 'store.db');
    const child = new Child(path, 'hold', 'h');
    await child.waitFor((l) => l === 'ready', "'ready'");
    const started = Date.now();
    let error: unknown;
    try {
      await openStore({ adapter: fsAdapter(path) });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('LOCKED');
    expect((error as StoreError).message).toContain(`process ${child.proc.pid}`);
    expect(Date.now() - started).toBeLessThan(1000);

    let opened = false;
    const waiting = openStore({ adapter: fsAdapter(path, { lock: 'wait', lockTimeoutMs: 30_000 }) }).then((s) => {
      opened = true;
      return s;
    });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(opened, 'lock: wait must not open while the holder lives').toBe(false);
    child.proc.stdin!.end();
    const store = await waiting;
    expect(child.lines).toContain('closed');
    expect((await child.exited).code).toBe(0);
    await store.missions.create({ phase: 'PLANNING', uuid: 'after-wait' });
    await store.close();

    // A holder killed outright leaves its lock file; the next opener takes it over.
    const killed = new Child(path, 'hold', 'k');
    await killed.waitFor((l) => l === 'ready', "'ready'");
    await killed.kill();
    expect(existsSync(`${path}.aos-lock`)).toBe(true);
    const recovered = await openStore({ adapter: fsAdapter(path) });
    expect(await recovered.missions.get('after-wait')).toBeDefined();
    await recovered.close();
  });

  test('a lock held by a killed but never reaped (zombie) process is recovered', { timeout: 60_000 }, async () => {
    const dir = join(root, 'zombie');
    await mkdir(dir);
    const path = join(dir, 'store.db');
    // sh starts the holder in the background, then becomes `sleep`, which never reaps it:
    // killed, the holder stays a zombie, as under a container init that does not reap.
    const shell = spawn('sh', ['-c', `"${process.execPath}" --import tsx "${writer}" "${path}" hold z 0<&3 & exec sleep 60`], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'inherit', 'pipe'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        shell.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
        shell.on('exit', () => reject(new Error('the shell exited early')));
      });
      const holder = JSON.parse(await readFile(`${path}.aos-lock`, 'utf8')) as { pid: number };
      process.kill(holder.pid, 'SIGKILL');
      const state = () => {
        const stat = readFileSync(`/proc/${holder.pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      };
      for (let i = 0; i < 200 && state() !== 'Z'; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(state(), 'the holder is a zombie now').toBe('Z');
      const store = await openStore({ adapter: fsAdapter(path) });
      await store.missions.create({ phase: 'PLANNING', uuid: 'after-zombie' });
      await store.close();
    } finally {
      shell.kill('SIGKILL');
    }
  });

  test(`after a clean close an independent SQLite (${sqliteReader().kind}) finds the file whole, and its foreign keys cascade`, async () => {
    const dir = join(root, 'cli');
    await mkdir(dir);
    const path = join(dir, 'store.db');
    const store = await openStore({ adapter: fsAdapter(path) });
    for (const uuid of ['keep', 'drop']) {
      const m = await store.missions.create({ phase: 'PLANNING', uuid });
      await store.toolCalls.record({ mission: m.id, toolName: 'read_file', args: { uuid }, success: true });
      await store.decisions.record({ mission: m.id, decisionType: 'plan', rationale: uuid, agentName: 'a' });
      const run = await store.playbookRuns.start({ mission: m.id, playbookName: 'p', phase: 'CODING' });
      await store.playbookRuns.finish(run.id, { success: true });
      await store.memory.set(m.id, 'k', uuid, { ttlSeconds: 60 });
    }
    await store.close();
    const reader = sqliteReader();
    const sqlite = (sql: string) => reader.run(path, sql);
    expect(await sqlite('PRAGMA integrity_check')).toBe('ok');
    expect(await sqlite('PRAGMA foreign_key_check')).toBe('');
    const children = ['tool_calls', 'decisions', 'playbook_runs', 'agent_memory'];
    for (const table of children) {
      expect(await sqlite(`SELECT "table", "to", on_delete FROM pragma_foreign_key_list('${table}')`), table).toBe('missions|id|CASCADE');
    }
    const counts = async () => (await Promise.all(children.map((t) => sqlite(`SELECT count(*) FROM ${t}`)))).join(',');
    expect(await counts()).toBe('2,2,2,2');
    await sqlite("PRAGMA foreign_keys = ON; DELETE FROM missions WHERE mission_uuid = 'drop';");
    expect(await counts()).toBe('1,1,1,1');
    expect(await sqlite('PRAGMA integrity_check')).toBe('ok');
    // The store reopens the file the other SQLite changed and sees what it did.
    const again = await openStore({ adapter: fsAdapter(path) });
    expect((await again.missions.list()).map((m) => m.uuid)).toEqual(['keep']);
    expect(await again.query('SELECT count(*) AS n FROM tool_calls')).toEqual([{ n: 1 }]);
    await again.close();
  });
});
