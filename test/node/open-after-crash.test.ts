import { describe, expect, it } from 'vitest';
import { MemoryVolume, memoryAdapter } from '../../adapters/memory.js';
import { openStore, type PersistenceAdapter } from '../../src/index.js';

const NEVER = { minLogBytes: 1e12, maxLogBytes: 1e12 };

/** The memory adapter on `volume`, counting its checkpoints and the records it loads. */
function counted(volume: MemoryVolume, seen: { checkpoints: number; loaded: number }): PersistenceAdapter {
  const inner = memoryAdapter(volume);
  return {
    location: inner.location,
    async load() {
      const state = await inner.load();
      seen.loaded = state.records.length;
      return state;
    },
    append: (record) => inner.append(record),
    async checkpoint(snapshot) {
      seen.checkpoints++;
      await inner.checkpoint(snapshot);
    },
    close: () => inner.close(),
  };
}

/** A store whose holder died after `records` acknowledged writes, none checkpointed. */
async function crashedWith(records: number): Promise<MemoryVolume> {
  const volume = new MemoryVolume();
  const store = await openStore({ adapter: memoryAdapter(volume), checkpoint: NEVER });
  await store.missions.create({ phase: 'CODING', uuid: 'm' });
  for (let i = 1; i < records; i++) await store.toolCalls.record({ mission: 'm', toolName: `t${i % 7}`, args: { i }, success: true });
  volume.breakLock();
  return volume;
}

const turn = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('opening after a crash', () => {
  it('checkpoints in the background after replaying a long log, so the next open replays nothing', async () => {
    const volume = await crashedWith(1200);
    const seen = { checkpoints: 0, loaded: 0 };
    const store = await openStore({ adapter: counted(volume, seen), checkpoint: NEVER });
    expect(seen.loaded).toBe(1200);
    // The opener's first call runs before that checkpoint, and sees every acknowledged write.
    const first = store.query('SELECT count(*) AS n FROM tool_calls');
    expect(seen.checkpoints).toBe(0);
    expect(await first).toEqual([{ n: 1199 }]);
    await turn();
    await store.refresh();
    expect(seen.checkpoints).toBe(1);
    volume.breakLock();
    const again = { checkpoints: 0, loaded: 0 };
    const reopened = await openStore({ adapter: counted(volume, again), checkpoint: NEVER });
    expect(again.loaded).toBe(0);
    expect(await reopened.query('SELECT count(*) AS n FROM tool_calls')).toEqual([{ n: 1199 }]);
    await reopened.close();
  });

  it('leaves a short log alone until the checkpoint policy or close() folds it in', async () => {
    const volume = await crashedWith(20);
    const seen = { checkpoints: 0, loaded: 0 };
    const store = await openStore({ adapter: counted(volume, seen), checkpoint: NEVER });
    await turn();
    await store.refresh();
    expect(seen).toEqual({ checkpoints: 0, loaded: 20 });
    await store.close();
    expect(seen.checkpoints).toBe(1);
  });

  it('a close() right after the open wins over the background checkpoint, with no warning', async () => {
    const volume = await crashedWith(1000);
    const seen = { checkpoints: 0, loaded: 0 };
    const warnings: string[] = [];
    const store = await openStore({ adapter: counted(volume, seen), checkpoint: NEVER, onWarning: (w) => warnings.push(w) });
    await store.close();
    await turn();
    expect(seen.checkpoints).toBe(1);
    expect(warnings).toEqual([]);
  });
});
