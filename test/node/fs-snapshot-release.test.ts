import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fsAdapter } from '../../adapters/fs.js';
import { openStore } from '../../src/index.js';

// A checkpoint renames the new snapshot over the old one while holding the old one open, and
// closes it a moment later, so the kernel frees its blocks outside the store's queue. Those
// held descriptors must all be closed: none may leak, whatever the number of checkpoints.

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** Descriptors this process holds on `path`, as the kernel names them (a replaced file is "path (deleted)"). */
function descriptorsOn(path: string): string[] {
  const names: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target === path || target === `${path} (deleted)`) names.push(target);
    } catch {
      // Closed while listed (the listing's own descriptor, or another test's file).
    }
  }
  return names;
}

describe.runIf(existsSync('/proc/self/fd'))('fs: old snapshots released after a checkpoint', () => {
  it('leaves no descriptor on a replaced snapshot, after checkpoints on the thread, from the replica, and at close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aos-release-'));
    dirs.push(dir);
    const path = join(dir, 'store.db');
    const store = await openStore({ adapter: fsAdapter(path), checkpoint: { workerMinBytes: Number.POSITIVE_INFINITY } });
    const mission = await store.missions.create({ phase: 'PLANNING' });
    for (let round = 0; round < 5; round++) {
      await store.toolCalls.record({ mission: mission.id, toolName: `t${round}`, args: { round }, success: true });
      await store.checkpoint();
    }
    // Each old snapshot is closed within a moment of its replacement.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(descriptorsOn(path).filter((name) => name.endsWith('(deleted)'))).toEqual([]);
    await store.close();
    expect(descriptorsOn(path)).toEqual([]);

    // The same through checkpoints from the replica (prepare, then commit), closed right after the last one.
    const again = await openStore({ adapter: fsAdapter(path), checkpoint: { workerMinBytes: 0 } });
    for (let round = 0; round < 3; round++) {
      await again.toolCalls.record({ mission: mission.id, toolName: `r${round}`, args: { round }, success: true });
      await again.checkpoint();
    }
    await again.close();
    expect(descriptorsOn(path)).toEqual([]);
    const reopened = await openStore({ adapter: fsAdapter(path) });
    expect(await reopened.query('SELECT count(*) AS n FROM tool_calls')).toEqual([{ n: 8 }]);
    await reopened.close();
  });
});
