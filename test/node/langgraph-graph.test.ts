import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from 'agent-ops-store';
import { fsAdapter } from 'agent-ops-store/adapters/fs';
import { memoryAdapter } from 'agent-ops-store/adapters/memory';
import { AgentOpsCallbackHandler } from 'agent-ops-store/integrations/langchain';
import { AgentOpsCheckpointSaver } from 'agent-ops-store/integrations/langgraph';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { approvalGraph } from '../fixtures/langgraph-graph.js';

const child = new URL('../fixtures/langgraph-child.ts', import.meta.url).pathname;

/** Runs the approval graph in a new Node process on `db`; what it printed. */
function run(db: string, ...args: string[]): { steps: string[]; interrupts: unknown[]; next: string[] } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', child, db, ...args], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

describe('a compiled StateGraph with AgentOpsCheckpointSaver (Node, fs adapter)', () => {
  let dir: string;
  let db: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'aos-langgraph-graph-'));
    db = join(dir, 'graph.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs until interrupt() in one process, which exits, and resumes from the same file in another', async () => {
    const first = run(db, 'start', 'ticket-42');
    expect(first).toEqual({ steps: ['plan'], interrupts: ['approve the plan?'], next: ['approve'] });

    const second = run(db, 'resume', 'ticket-42', 'yes');
    expect(second).toEqual({ steps: ['plan', 'approved: yes', 'act'], interrupts: [], next: [] });

    const store = await openStore({ adapter: fsAdapter(db) });
    const saver = new AgentOpsCheckpointSaver(store);
    const history = [];
    for await (const tuple of saver.list({ configurable: { thread_id: 'ticket-42' } })) history.push(tuple.metadata?.step);
    // Newest first: the finished run's last step leads, the input (step -1) comes last.
    expect(history[0]).toBeGreaterThan(1);
    expect(history.at(-1)).toBe(-1);
    await store.close();
  });

  it("links a thread named after a mission to it: deleting the mission deletes the thread's checkpoints, writes and values", async () => {
    const store = await openStore({ adapter: fsAdapter(db) });
    await store.missions.create({ phase: 'SUPPORT', uuid: 'ticket-7' });
    await store.close();
    run(db, 'start', 'ticket-7');
    run(db, 'start', 'unlinked');

    const again = await openStore({ adapter: fsAdapter(db) });
    const counts = async () =>
      again.query<{ thread_id: string; n: number; linked: number }>(
        `SELECT thread_id, COUNT(*) AS n, COUNT(mission_id) AS linked FROM (
           SELECT thread_id, mission_id FROM langgraph_checkpoints UNION ALL
           SELECT thread_id, mission_id FROM langgraph_writes UNION ALL
           SELECT thread_id, mission_id FROM langgraph_blobs)
         GROUP BY thread_id ORDER BY thread_id`,
      );
    const before = await counts();
    expect(before.map((r) => r.thread_id)).toEqual(['ticket-7', 'unlinked']);
    expect(before[0]!.linked).toBe(before[0]!.n);
    expect(before[1]!.linked).toBe(0);

    await again.run("DELETE FROM missions WHERE mission_uuid = 'ticket-7'");
    expect((await counts()).map((r) => r.thread_id)).toEqual(['unlinked']);
    expect(await new AgentOpsCheckpointSaver(again).getTuple({ configurable: { thread_id: 'ticket-7' } })).toBeUndefined();
    await again.close();
  });

  it('stores checkpoint and channel bytes as BLOBs, read back as Uint8Array', async () => {
    run(db, 'start', 't');
    const store = await openStore({ adapter: fsAdapter(db) });
    const [row] = await store.query<{ checkpoint: unknown; kind: string }>(
      'SELECT checkpoint, typeof(checkpoint) AS kind FROM langgraph_checkpoints LIMIT 1',
    );
    expect(row!.kind).toBe('blob');
    expect(row!.checkpoint).toBeInstanceOf(Uint8Array);
    await store.close();
  });

  it('with AgentOpsCallbackHandler on the same store, the run is a mission and every checkpoint of its thread is linked to it', async () => {
    const store = await openStore({ adapter: memoryAdapter() });
    const config = { configurable: { thread_id: 'ticket-9' }, callbacks: [new AgentOpsCallbackHandler(store)] };
    await approvalGraph(new AgentOpsCheckpointSaver(store)).invoke({ steps: [] }, config);
    const [row] = await store.query<{ n: number; linked: number }>(
      'SELECT COUNT(*) AS n, COUNT(mission_id) AS linked FROM langgraph_checkpoints WHERE thread_id = ?',
      ['ticket-9'],
    );
    expect(row!.n).toBeGreaterThan(0);
    expect(row!.linked).toBe(row!.n);
    // The graph stopped at interrupt(): its mission waits for the resume, in progress.
    expect((await store.missions.get('ticket-9'))?.status).toBe('in_progress');
    await store.close();
  });
});
