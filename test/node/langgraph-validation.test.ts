import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemorySaver } from '@langchain/langgraph-checkpoint';
import { openStore, type SQLiteStore } from 'agent-ops-store';
import { fsAdapter } from 'agent-ops-store/adapters/fs';
import { memoryAdapter } from 'agent-ops-store/adapters/memory';
import { AgentOpsCheckpointSaver } from 'agent-ops-store/integrations/langgraph';
import * as vitest from 'vitest';

// The suite calls describe/it/expect/beforeAll as globals (Jest style); this project keeps Vitest's
// globals off, so they are handed over before the suite's module is loaded.
const { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, test } = vitest;
Object.assign(globalThis, { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, test });
const { validate } = await import('@langchain/langgraph-checkpoint-validation');

// LangGraph's own checkpointer suite, through its library entry (its CLI is broken in 1.1.1):
// MemorySaver as the reference (under its own name, so the suite skips for it what it always
// skips), then the saver on each Node adapter, which skips nothing beyond that.
validate({
  checkpointerName: 'MemorySaver',
  createCheckpointer: () => new MemorySaver(),
});

const stores = new WeakMap<AgentOpsCheckpointSaver, { store: SQLiteStore; dir?: string }>();

validate({
  checkpointerName: 'AgentOpsCheckpointSaver on memoryAdapter',
  async createCheckpointer() {
    const store = await openStore({ adapter: memoryAdapter() });
    const saver = new AgentOpsCheckpointSaver(store);
    stores.set(saver, { store });
    return saver;
  },
  async destroyCheckpointer(saver) {
    await stores.get(saver)?.store.close();
  },
});

validate({
  checkpointerName: 'AgentOpsCheckpointSaver on fsAdapter',
  async createCheckpointer() {
    const dir = mkdtempSync(join(tmpdir(), 'aos-langgraph-'));
    const store = await openStore({ adapter: fsAdapter(join(dir, 'graph.db')) });
    const saver = new AgentOpsCheckpointSaver(store);
    stores.set(saver, { store, dir });
    return saver;
  },
  async destroyCheckpointer(saver) {
    const opened = stores.get(saver);
    await opened?.store.close();
    if (opened?.dir) rmSync(opened.dir, { recursive: true, force: true });
  },
});
