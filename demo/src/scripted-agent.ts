import type { SQLiteStore } from 'agent-ops-store';
import { nextTurn } from './dom.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A tool the scripted agent calls: how long it takes, and what it gives or why it fails. */
type Tool = () => Promise<unknown>;
const slow =
  (ms: number, value: unknown): Tool =>
  async () => {
    await sleep(ms);
    return value;
  };
const failing =
  (ms: number, message: string): Tool =>
  async () => {
    await sleep(ms);
    throw new Error(message);
  };

/** A mission uuid nobody has taken: the time, and a random tail against two tabs in one millisecond. */
export function newMissionUuid(prefix = 'mission'): string {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:.TZ]/g, '')
    .slice(0, 14);
  return `${prefix}-${stamp}-${Math.floor(Math.random() * 1e6)
    .toString(36)
    .padStart(4, '0')}`;
}

/**
 * Plays one scripted agent run against the store, step by step with real pauses, so every view
 * updates as it happens. A planning mission looks around (tools, one failing, one slow), decides
 * and remembers the plan with TTLs, and completes in phase PLANNING; an implementation mission
 * then runs playbooks (one fails once and retries, one fails), moves CODING → REVIEW and
 * completes. Each call is one write, so it also runs in a tab that follows another (its writes
 * go to the leading tab). Resolves with the implementation mission's uuid.
 */
export async function runSampleMission(store: SQLiteStore, onStep: (what: string) => void = () => undefined): Promise<string> {
  const plan = newMissionUuid('plan');
  const impl = plan.replace(/^plan-/, 'impl-');
  const call = async (mission: string, name: string, args: unknown, tool: Tool, agentName: string): Promise<void> => {
    onStep(`${agentName} calls ${name}`);
    await store.toolCalls.track(mission, name, args, tool, { agentName }).catch(() => undefined);
  };
  const decide = async (mission: string, decisionType: string, rationale: string, agentName: string): Promise<void> => {
    onStep(`${agentName} decides: ${decisionType}`);
    await store.decisions.record({ mission, decisionType, rationale, agentName });
  };

  onStep('planner starts a mission');
  await store.missions.create({ phase: 'PLANNING', uuid: plan, metadata: { goal: 'add a --json flag to the CLI' } });
  await sleep(150);
  await store.missions.setStatus(plan, 'in_progress');
  await call(plan, 'search', { query: 'argv parsing' }, slow(420, ['src/cli.ts', 'src/args.ts']), 'planner');
  await call(plan, 'read_file', { path: 'src/cli.ts' }, slow(60, 'export function main(argv) { … }'), 'planner');
  await call(plan, 'read_file', { path: 'src/options.ts' }, failing(40, 'ENOENT: no such file src/options.ts'), 'planner');
  await call(plan, 'read_file', { path: 'src/args.ts' }, slow(55, 'export function parse(argv) { … }'), 'planner');
  await decide(
    plan,
    'choose_approach',
    'argv is parsed by hand in src/args.ts; one flag check there is smaller than adding a parser.',
    'planner',
  );
  await store.memory.set(plan, 'plan', { steps: ['parse --json', 'print JSON', 'test'] });
  await store.memory.set(plan, 'scratch', 'flags live in src/args.ts', { ttlSeconds: 90 });
  await store.missions.setStatus(plan, 'completed');

  onStep('coder takes over');
  await store.missions.create({ phase: 'PLANNING', uuid: impl, metadata: { plannedBy: plan } });
  await store.missions.setStatus(impl, 'in_progress');
  await store.missions.setPhase(impl, 'CODING');
  const loop = await store.playbookRuns.start({ mission: impl, playbookName: 'edit-test-loop', phase: 'CODING' });
  await call(impl, 'write_file', { path: 'src/args.ts', bytes: 212 }, slow(80, { written: 212 }), 'coder');
  await call(impl, 'run_tests', { filter: 'cli' }, failing(650, '1 failing: --json prints a trailing comma'), 'coder');
  await decide(impl, 'retry', 'The failure is a trailing comma in the JSON writer, not the flag: fix and rerun.', 'coder');
  await store.memory.set(impl, 'last_failure', { test: 'cli --json', cause: 'trailing comma' }, { ttlSeconds: 30 });
  await call(impl, 'write_file', { path: 'src/json.ts', bytes: 98 }, slow(70, { written: 98 }), 'coder');
  await call(impl, 'run_tests', { filter: 'cli' }, slow(600, { passed: 14, failed: 0 }), 'coder');
  await store.playbookRuns.finish(loop.id, { success: true, metrics: { iterations: 2 } });

  const lint = await store.playbookRuns.start({ mission: impl, playbookName: 'lint-fix', phase: 'CODING' });
  await call(impl, 'run_linter', { fix: true }, failing(300, 'biome: 2 errors it cannot fix'), 'coder');
  await store.playbookRuns.finish(lint.id, { success: false, errorMessage: 'biome: 2 errors it cannot fix' });

  onStep('reviewer checks');
  await store.missions.setPhase(impl, 'REVIEW');
  await call(impl, 'git_diff', { staged: true }, slow(90, { files: 2, insertions: 31 }), 'reviewer');
  await decide(
    impl,
    'accept',
    'Tests pass and the diff touches only the flag and the JSON writer; lint errors are pre-existing.',
    'reviewer',
  );
  await store.memory.set(impl, 'review', 'accepted with pre-existing lint errors', { ttlSeconds: 600 });
  await store.missions.setStatus(impl, 'completed');
  return impl;
}

const TOOLS = ['read_file', 'write_file', 'search', 'run_tests', 'run_linter', 'git_diff', 'http_get', 'shell'];
// A typical latency per tool (ms): the generated durations scatter around it, with a long tail.
const TYPICAL_MS: Readonly<Record<string, number>> = {
  read_file: 8,
  write_file: 12,
  search: 120,
  run_tests: 900,
  run_linter: 400,
  git_diff: 40,
  http_get: 250,
  shell: 300,
};

/**
 * Records `total` tool calls for one new mission at volume, spread over the last two hours, in
 * transactions of `slice` calls with a turn of the event loop between them, so the page paints
 * the progress and stays responsive. Resolves with the mission's uuid.
 */
export async function generateToolCalls(
  store: SQLiteStore,
  total: number,
  onProgress: (done: number) => void,
  slice = 500,
): Promise<string> {
  const uuid = newMissionUuid('bulk');
  await store.missions.create({ phase: 'EXECUTION', uuid, metadata: { generated: total } });
  await store.missions.setStatus(uuid, 'in_progress');
  const end = Date.now();
  const start = end - 2 * 60 * 60 * 1000;
  let done = 0;
  while (done < total) {
    const count = Math.min(slice, total - done);
    const first = done;
    const write = async (target: Pick<SQLiteStore, 'toolCalls'>) => {
      for (let i = first; i < first + count; i++) {
        const toolName = TOOLS[i % TOOLS.length]!;
        const success = Math.random() > 0.08;
        // Exponential scatter around the typical latency: most calls fast, a few very slow.
        const durationMs = Math.round(TYPICAL_MS[toolName]! * -Math.log(1 - Math.random() * 0.999));
        await target.toolCalls.record({
          mission: uuid,
          toolName,
          args: { n: i },
          result: success ? { ok: true } : undefined,
          durationMs,
          success,
          errorMessage: success ? undefined : `${toolName} failed (generated)`,
          timestamp: new Date(start + ((end - start) * i) / total),
        });
      }
    };
    await inTransaction(store, write);
    done += count;
    onProgress(done);
    await nextTurn();
  }
  await store.missions.setStatus(uuid, 'completed');
  return uuid;
}

/**
 * Runs `write` in one transaction; in a tab that follows another, where the store refuses
 * transactions (a callback cannot cross to the leading tab), runs it as single forwarded calls.
 */
async function inTransaction(store: SQLiteStore, write: (target: Pick<SQLiteStore, 'toolCalls'>) => Promise<void>): Promise<void> {
  try {
    await store.transaction((tx) => write(tx));
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'READ_ONLY') throw error;
    await write(store);
  }
}
