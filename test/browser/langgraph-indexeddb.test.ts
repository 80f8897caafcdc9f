import { openStore } from 'agent-ops-store';
import { AgentOpsCheckpointSaver, AgentOpsMemoryStore } from 'agent-ops-store/integrations/langgraph';
import { describe, expect, it } from 'vitest';
import { approvalGraph } from '../fixtures/langgraph-graph.js';
import { indexedDbHarness } from './indexeddb-harness.js';

describe('LangGraph on IndexedDB (Chromium)', () => {
  it('an interrupted graph and its memories survive a reload: the store reopened on the same database resumes', async () => {
    const harness = indexedDbHarness();
    try {
      const config = { configurable: { thread_id: 'tab-thread' } };
      const store = await openStore({ adapter: harness.open() });
      const first = await approvalGraph(new AgentOpsCheckpointSaver(store), 'interruptBefore').invoke({ steps: [] }, config);
      expect(first.steps).toEqual(['plan']);
      await new AgentOpsMemoryStore(store).put(['users', 'u1'], 'prefs', { theme: 'dark' });
      // A reload: the page's adapters go without a close() of the store (no checkpoint), as a tab's do.
      await harness.crash();

      const reopened = await openStore({ adapter: harness.open() });
      const graph = approvalGraph(new AgentOpsCheckpointSaver(reopened), 'interruptBefore');
      const state = await graph.getState(config);
      expect(state.next).toEqual(['approve']);
      expect(state.values.steps).toEqual(['plan']);
      const done = await graph.invoke(null, config);
      expect(done.steps).toEqual(['plan', 'approved', 'act']);
      expect((await new AgentOpsMemoryStore(reopened).get(['users', 'u1'], 'prefs'))?.value).toEqual({ theme: 'dark' });
      await reopened.close();
    } finally {
      await harness.destroy();
    }
  });
});
