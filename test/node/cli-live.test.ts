import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { cliPath, LineChild, liveWriter, oneLineError, requireBuiltCli, runCli } from './cli-harness.js';

// The CLI's reading commands beside a writer in another process (test/fixtures/live-writer.ts,
// which records tool calls tagged with its name, args.i counting from 1).

let root: string;
const children: LineChild[] = [];

beforeAll(async () => {
  requireBuiltCli();
  root = await mkdtemp(join(tmpdir(), 'aos-cli-live-'));
});

afterAll(async () => {
  for (const child of children) if (child.proc.exitCode === null) child.proc.kill('SIGKILL');
  if (root) await rm(root, { recursive: true, force: true });
});

const acked = (writer: LineChild) => {
  const last = writer.lines.filter((line) => line.startsWith('ack ')).at(-1);
  return last ? Number(last.split(' ')[1]) : 0;
};

test('tail --follow prints every tool call a writer in another process commits, in order, once each', async () => {
  const db = join(root, 'tail.db');
  const writer = liveWriter(db, 'w');
  children.push(writer);
  await writer.waitFor((line) => line.startsWith('ready'), 'ready');
  const tail = new LineChild([cliPath, 'tail', db, '--follow', '--lines', '0']);
  children.push(tail);
  const numberOf = (line: string) => (JSON.parse((JSON.parse(line) as { row: { args: string } }).row.args) as { i: number }).i;
  await tail.waitFor(() => true, 'a first tool call', 60_000);
  const first = numberOf(tail.lines[0]!);
  // A hundred more writes while it follows, then the writer stops.
  await writer.waitFor((line) => line.startsWith('ack ') && Number(line.split(' ')[1]) >= first + 100, '100 more acks', 60_000);
  writer.proc.kill('SIGTERM');
  await writer.exited;
  const last = acked(writer);
  await tail.waitFor((line) => numberOf(line) >= last, `the tool call with i = ${last}`, 30_000);
  tail.proc.kill('SIGTERM');
  expect(await tail.exited).toBe(0);
  const records = tail.lines.map((line) => JSON.parse(line) as { table: string; row: { id: number } });
  expect(records.every((r) => r.table === 'tool_calls')).toBe(true);
  // No gap and no repeat from the first printed on: every acknowledged write, and at most the
  // one the writer committed but was killed before acknowledging.
  const numbers = tail.lines.map(numberOf);
  expect(numbers.slice(0, last - first + 1)).toEqual(Array.from({ length: last - first + 1 }, (_, k) => first + k));
  expect(numbers.length - (last - first + 1)).toBeLessThanOrEqual(1);
  const ids = records.map((r) => r.row.id);
  expect(ids).toEqual([...ids].sort((a, b) => a - b));
  expect(tail.stderr).toBe('');
});

test('query reads beside a writer, seeing at least every write acknowledged before it started; --write is LOCKED (exit 75)', async () => {
  const db = join(root, 'query.db');
  const writer = liveWriter(db, 'q');
  children.push(writer);
  await writer.waitFor((line) => line.startsWith('ready'), 'ready');
  await writer.waitFor((line) => line.startsWith('ack 5 '), 'five acks');
  let previous = 0;
  for (let round = 0; round < 4; round++) {
    const before = acked(writer);
    const run = await runCli(['query', db, 'SELECT count(*) AS n FROM tool_calls', '--ndjson']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const { n } = JSON.parse(run.stdout) as { n: number };
    expect(n).toBeGreaterThanOrEqual(before);
    expect(n).toBeGreaterThanOrEqual(previous);
    previous = n;
  }
  const stats = await runCli(['stats', db, '--json']);
  expect(stats.code).toBe(0);
  expect(JSON.parse(stats.stdout).toolCalls[0]).toMatchObject({ toolName: 'live' });
  for (const args of [
    ['query', db, 'DELETE FROM tool_calls', '--write'],
    ['vacuum', db],
    ['checkpoint', db],
    ['archive', db, '--older-than', '1d', '--to', join(root, 'a.ndjson')],
  ]) {
    const locked = await runCli(args);
    expect({ args, code: locked.code }).toEqual({ args, code: 75 });
    expect(oneLineError(locked)).toMatch(/lock/i);
  }
  writer.proc.kill('SIGTERM');
  await writer.exited;
  // Once the writer is gone (its stale lock is recovered), --write works.
  const write = await runCli(['query', db, "DELETE FROM tool_calls WHERE tool_name = 'live'", '--write']);
  expect(write).toMatchObject({ code: 0, stderr: '' });
  expect((await runCli(['query', db, 'SELECT count(*) AS n FROM tool_calls', '--ndjson'])).stdout).toBe('{"n":0}\n');
});
