import { expect, test } from 'vitest';
import { openStore } from '../../src/index.js';
import { memoryAdapter, MemoryVolume } from '../../adapters/memory.js';

test('smoke', async () => {
  const volume = new MemoryVolume();
  const store = await openStore({ adapter: memoryAdapter(volume) });
  const m = await store.missions.create({ phase: 'PLANNING', uuid: 'abc-123' });
  await store.toolCalls.record({ mission: m.id, toolName: 'read_file', args: { p: 1 }, success: true, durationMs: 5 });
  await store.memory.set('abc-123', 'plan', { steps: [1, 2] });
  expect(volume.records.length).toBe(3);
  volume.breakLock();
  const again = await openStore({ adapter: memoryAdapter(volume) });
  expect(await again.memory.get('abc-123', 'plan')).toEqual({ steps: [1, 2] });
  expect((await again.toolCalls.stats())[0]).toMatchObject({ toolName: 'read_file', calls: 1, p50Ms: 5 });
  await again.missions.delete('abc-123');
  await again.close();
  const third = await openStore({ adapter: memoryAdapter(volume) });
  expect(await third.query('SELECT count(*) AS n FROM tool_calls')).toEqual([{ n: 0 }]);
});
