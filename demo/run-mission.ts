// The example `npm start` runs: one agent mission recorded into ./agent-ops.db (or the path
// given as the first argument), then the seed's three debugging queries printed against it.
import { openStore } from 'agent-ops-store';
import { fsAdapter } from 'agent-ops-store/adapters/fs';

const path = process.argv[2] ?? './agent-ops.db';
const store = await openStore({ adapter: fsAdapter(path) });
const uuid = `demo-${new Date()
  .toISOString()
  .replace(/[-:.TZ]/g, '')
  .slice(0, 14)}-${Math.floor(Math.random() * 1e4)}`;

const mission = await store.missions.create({ phase: 'PLANNING', uuid, metadata: { goal: 'add a --json flag to the CLI' } });
await store.missions.setStatus(uuid, 'in_progress');

// Planning: look around, decide, remember the plan.
const files: Record<string, string> = { 'src/cli.ts': 'export function main() {}', 'README.md': '# cli' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const readFile = (p: string) =>
  store.toolCalls.track(uuid, 'read_file', { path: p }, async () => {
    await sleep(3);
    const text = files[p];
    if (text === undefined) throw new Error(`ENOENT: ${p}`);
    return text;
  });
await store.toolCalls.track(uuid, 'search', { query: 'argv' }, async () => {
  await sleep(12);
  return ['src/cli.ts'];
});
await readFile('src/cli.ts');
await readFile('src/missing.ts').catch(() => undefined);
await store.decisions.record({
  mission: uuid,
  decisionType: 'choose_approach',
  rationale: 'The CLI parses argv by hand; a flag check is smaller than adding a parser.',
  agentName: 'planner',
});
await store.memory.set(uuid, 'plan', { steps: ['parse --json', 'print JSON', 'test'] });
await store.memory.set(uuid, 'scratch', 'argv parsing is in main()', { ttlSeconds: 3600 });

await store.missions.setStatus(uuid, 'completed');

// Implementation: a second mission moves from PLANNING to CODING and runs a playbook.
const impl = `${uuid}-impl`;
await store.missions.create({ phase: 'PLANNING', uuid: impl, metadata: { plannedBy: uuid } });
await store.missions.setStatus(impl, 'in_progress');
await store.missions.setPhase(impl, 'CODING');
const run = await store.playbookRuns.start({ mission: impl, playbookName: 'edit-test-loop', phase: 'CODING' });
const tool = (name: string, args: unknown, ms: number, fn: () => unknown) =>
  store.toolCalls.track(impl, name, args, async () => {
    await sleep(ms);
    return fn();
  });
await tool('write_file', { path: 'src/cli.ts' }, 4, () => ({ bytes: 120 }));
await tool('run_tests', { filter: 'cli' }, 40, () => {
  throw new Error('1 failing: prints JSON');
}).catch(() => undefined);
await store.decisions.record({ mission: impl, decisionType: 'retry', rationale: 'The failure is a missing newline.', agentName: 'coder' });
await tool('write_file', { path: 'src/cli.ts' }, 4, () => ({ bytes: 121 }));
await tool('run_tests', { filter: 'cli' }, 35, () => ({ passed: 12 }));
await store.playbookRuns.finish(run.id, { success: true, metrics: { iterations: 2 } });
await store.missions.setStatus(impl, 'completed');

console.log(`Recorded missions ${uuid} (id ${mission.id}, planning) and ${impl} (coding) into ${path}\n`);

console.log('-- "What tools did the planning phase use?" (every PLANNING mission in this file)');
console.table(
  await store.query(`SELECT tool_name, COUNT(*)
FROM tool_calls
JOIN missions ON tool_calls.mission_id = missions.id
WHERE missions.phase = 'PLANNING'
GROUP BY tool_name;`),
);

console.log(`-- "Why did the agent make decision X?" (mission '${uuid}')`);
console.table(
  await store.query(
    `SELECT decision_type, rationale, timestamp FROM decisions
   WHERE mission_id = (SELECT id FROM missions WHERE mission_uuid = ?) ORDER BY timestamp`,
    [uuid],
  ),
);

console.log('-- "Show me all failed tool calls in the last hour"');
console.table(
  await store.query(`SELECT * FROM tool_calls
WHERE success = 0
  AND timestamp > datetime('now', '-1 hour');`),
);

console.log('-- Tool stats, every mission');
console.table(await store.toolCalls.stats());

await store.close();
console.log(`\nOpen it with the sqlite3 CLI:  sqlite3 ${path} 'PRAGMA integrity_check'`);
