import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repo = fileURLToPath(new URL('../..', import.meta.url));
/** The built CLI, as the package's bin runs it. */
export const cliPath = `${repo}dist/cli/agent-ops.js`;

/** Fails with a clear message when dist/ was not built. */
export function requireBuiltCli(): void {
  if (!existsSync(cliPath)) throw new Error('dist/cli/agent-ops.js is missing: the CLI tests run the BUILT CLI; run `npm run build` first');
}

/** What a finished CLI run printed and exited with. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `agent-ops …args` to the end in a child process, stdin closed, NO_COLOR unset. */
export function runCli(args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: options.cwd ?? repo,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A long-running child whose stdout lines can be awaited. */
export class LineChild {
  readonly proc: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  stderr = '';
  #partial = '';
  #waiters: { match: (line: string) => boolean; resolve: () => void }[] = [];

  constructor(args: readonly string[], cwd = repo) {
    this.proc = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.proc.on('close', (code) => resolve(code)));
    this.proc.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.proc.stdout!.on('data', (chunk: Buffer) => {
      const parts = (this.#partial + chunk.toString()).split('\n');
      this.#partial = parts.pop()!;
      this.lines.push(...parts);
      for (const waiter of [...this.#waiters]) {
        if (!parts.some(waiter.match)) continue;
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    });
  }

  /** Resolves once a line matching `match` was printed; rejects after `timeoutMs` or when the child exits first. */
  waitFor(match: (line: string) => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    if (this.lines.some(match)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`never printed ${what}; stderr: ${this.stderr}`)), timeoutMs);
      void this.exited.then((code) => {
        clearTimeout(timer);
        if (!this.lines.some(match)) reject(new Error(`exited (${code}) before printing ${what}; stderr: ${this.stderr}`));
      });
      this.#waiters.push({
        match,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

/** The live writer fixture (test/fixtures/live-writer.ts) on `path`: tool calls tagged `tag`, `writes` of them. */
export function liveWriter(path: string, tag: string, writes?: number): LineChild {
  return new LineChild(['--import', 'tsx', 'test/fixtures/live-writer.ts', path, tag, ...(writes === undefined ? [] : [String(writes)])]);
}

/** Checks the CLI's error contract: exactly one line on stderr, starting 'agent-ops: ', without a stack trace. */
export function oneLineError(run: CliRun): string {
  const lines = run.stderr.split('\n').filter((line) => line !== '');
  if (lines.length !== 1 || !lines[0]!.startsWith('agent-ops: ') || /\n\s+at /.test(run.stderr)) {
    throw new Error(`expected one 'agent-ops: ' line on stderr, got: ${JSON.stringify(run.stderr)}`);
  }
  return lines[0]!;
}
