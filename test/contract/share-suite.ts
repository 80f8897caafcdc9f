import { describe, expect, it } from 'vitest';
import type { ChangeEvent, SQLiteStore } from '../../src/index.js';
import type { HarnessFactory } from './harness.js';
import { dump, rejection, useStoreFixture } from './store-fixture.js';

/** Resolves once `check` holds, polling; fails after `ms`. */
async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 3000): Promise<void> {
  const until = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const count = async (store: SQLiteStore, table = 'tool_calls') =>
  Number(((await store.query(`SELECT count(*) AS n FROM ${table}`)) as [{ n: number }])[0].n);

/**
 * Stores that share one storage (the tabs of an origin; here several stores of one page): the
 * first opened leads, the others follow and forward their writes. Run it only on adapters that
 * share (`share()`); on any other it fails at its first check.
 */
export function shareSuite(name: string, factory: HarnessFactory): void {
  describe(`stores sharing one storage: ${name}`, () => {
    const fx = useStoreFixture(factory);
    const shares = () => fx.harness.open().share?.() != null;

    it('a second store follows: its writes go to the leader, and each sees the other’s, with the same results', async () => {
      const leader = await fx.fresh();
      expect(shares(), 'the adapter shares its storage').toBe(true);
      const follower = await fx.open();
      const events: ChangeEvent[] = [];
      follower.subscribe((event) => {
        events.push(event);
      });
      const mission = await follower.missions.create({ phase: 'PLANNING', uuid: 'm-share', metadata: { by: 'follower' } });
      expect(await leader.missions.get('m-share')).toEqual(mission);
      const call = await follower.toolCalls.record({ mission: 'm-share', toolName: 'read_file', args: { p: 1 }, success: true });
      expect(call.id).toBeGreaterThan(0);
      // Read-your-writes: a forwarded write resolves once the follower's replica holds it.
      expect(await count(follower)).toBe(1);
      await leader.toolCalls.record({ mission: 'm-share', toolName: 'by-leader', args: {}, success: true });
      await eventually(async () => (await count(follower)) === 2, 'the leader’s write in the follower');
      expect(await dump(follower)).toEqual(await dump(leader));
      expect(events.some((e) => e.changes?.some((c) => c.table === 'tool_calls' && c.op === 'insert'))).toBe(true);

      // Raw SQL from the follower: a read runs on its replica, a write goes to the leader.
      const run = await follower.run("UPDATE missions SET phase = 'CODING' WHERE mission_uuid = ?", ['m-share']);
      expect(run.changes).toBe(1);
      expect((await leader.missions.get('m-share'))?.phase).toBe('CODING');
      const traced = await follower.toolCalls.track('m-share', 'tracked', {}, () => 42);
      expect(traced).toBe(42);
      expect(await leader.query("SELECT tool_name FROM tool_calls WHERE tool_name = 'tracked'")).toHaveLength(1);
    });

    it('errors of forwarded writes come back as StoreErrors with their codes; transactions are refused while following', async () => {
      const leader = await fx.fresh();
      expect(shares(), 'the adapter shares its storage').toBe(true);
      const follower = await fx.open();
      await leader.missions.create({ phase: 'PLANNING', uuid: 'm-err' });
      await follower.refresh();
      expect((await rejection(follower.missions.setStatus('nope', 'in_progress'))).code).toBe('NOT_FOUND');
      expect((await rejection(follower.missions.create({ phase: 'PLANNING', uuid: 'm-err' }))).code).toBe(
        (await rejection(leader.missions.create({ phase: 'PLANNING', uuid: 'm-err' }))).code,
      );
      expect((await rejection(follower.missions.setStatus('m-err', 'completed'))).code).toBe(
        (await rejection(leader.missions.setStatus('m-err', 'completed'))).code,
      );
      expect((await rejection(follower.query('INSERT INTO nope VALUES (1)'))).code).toBe('SQL');
      const refused = await rejection(follower.transaction(async (tx) => tx.missions.create({ phase: 'PLANNING' })));
      expect(refused.code).toBe('READ_ONLY');
      expect(refused.message).toMatch(/follows/);
      expect(await count(leader, 'missions')).toBe(1);
    });

    it('when the leader closes, a follower takes over with everything, and a third store follows it', async () => {
      const leader = await fx.fresh();
      expect(shares(), 'the adapter shares its storage').toBe(true);
      const follower = await fx.open();
      await leader.missions.create({ phase: 'PLANNING', uuid: 'm-over' });
      for (let i = 0; i < 5; i++) await follower.toolCalls.record({ mission: 'm-over', toolName: `t${i}`, args: {}, success: true });
      // Sent while the leader closes: answered by whoever leads next.
      const pending = follower.toolCalls.record({ mission: 'm-over', toolName: 'in-flight', args: {}, success: true });
      await leader.close();
      await pending;
      await follower.toolCalls.record({ mission: 'm-over', toolName: 'after', args: {}, success: true });
      expect(await follower.transaction(async (tx) => tx.memory.set('m-over', 'k', 1))).toBeUndefined();
      const third = await fx.open();
      expect(await count(third)).toBe(7);
      expect(await third.query("SELECT count(*) AS n FROM tool_calls WHERE tool_name = 'in-flight'")).toEqual([{ n: 1 }]);
      expect(await third.memory.get('m-over', 'k')).toBe(1);
    });
  });
}
