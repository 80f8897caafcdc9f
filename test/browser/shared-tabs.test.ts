import { afterEach, describe, expect, it } from 'vitest';
import { deleteDatabase } from './indexeddb-harness.js';
import { openTab, type Tab, watchAcks } from './tab.js';

// Tabs that share one store (lock 'share', the default): real pages, each with its own store.
let tabs: Tab[] = [];
let names: string[] = [];
const uniqueName = (what: string) => {
  const name = `${what}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  names.push(name);
  return name;
};
const tab = async () => {
  const t = await openTab();
  tabs.push(t);
  return t;
};
const count = async (t: Tab, sql = 'SELECT count(*) AS n FROM tool_calls') => (await t.call<{ n: number }[]>('query', { sql }))[0]!.n;

/** Resolves once `check` holds, polling; fails after `ms`. */
async function eventually(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const until = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

afterEach(async () => {
  for (const t of tabs) t.remove();
  for (const name of names) await deleteDatabase(`agent-ops-store:${name}`);
  tabs = [];
  names = [];
});

describe('tabs sharing one store', () => {
  it('three tabs write interleaved, and every tab sees every write in its queries and its change feed', async () => {
    const name = uniqueName('three');
    const all = [await tab(), await tab(), await tab()];
    for (const t of all) await t.call('open', { name });
    for (const t of all) await t.call('watch');
    await all[1]!.call('createMission', { uuid: 'm-three' });
    await Promise.all(all.map((t, i) => t.call('recordToolCalls', { mission: 'm-three', count: 20, prefix: `tab${i}` })));

    const rows = await all[0]!.call<{ id: number; tool_name: string }[]>('query', {
      sql: 'SELECT id, tool_name FROM tool_calls ORDER BY id',
    });
    expect(rows).toHaveLength(60);
    expect(new Set(rows.map((r) => r.tool_name)).size).toBe(60);
    const ids = rows.map((r) => r.id);
    for (const [i, t] of all.entries()) {
      await eventually(async () => (await count(t)) === 60, `tab ${i} to hold 60 rows`);
      await eventually(async () => {
        const seen = await t.call<{ ids: number[] }>('seen');
        return JSON.stringify(seen.ids) === JSON.stringify(ids);
      }, `tab ${i}'s change feed to tell of every row`);
    }
  });

  it('the leading tab closes in the middle of a burst of forwarded writes: none lost, none doubled, and a reload shows them all', async () => {
    const name = uniqueName('takeover');
    const leader = await tab();
    const next = await tab();
    const writer = await tab();
    for (const t of [leader, next, writer]) await t.call('open', { name });
    await leader.call('createMission', { uuid: 'm-burst' });
    const before = watchAcks(writer, (n) => n >= 30);
    await writer.call('writeForever', { mission: 'm-burst' });
    const atClose = await before;
    // Gone with forwarded writes in flight: no close(), no goodbye; the lock passes to `next`.
    leader.remove();
    const acknowledged = await watchAcks(writer, (n) => n >= atClose + 30);
    writer.remove();

    const check = async (t: Tab) => {
      const rows = await t.call<{ tool_name: string }[]>('query', { sql: "SELECT tool_name FROM tool_calls WHERE tool_name LIKE 'ack-%'" });
      const have = rows.map((r) => r.tool_name);
      expect(new Set(have).size, 'no write applied twice').toBe(have.length);
      for (let n = 1; n <= acknowledged; n++) expect(have.includes(`ack-${n}`), `ack-${n}`).toBe(true);
    };
    await check(next);
    await next.reload();
    await next.call('open', { name });
    await check(next);
    const late = await tab();
    await late.call('open', { name });
    await check(late);
  });

  it('a forwarded write sent again under the same id is answered with its first result, not applied again', async () => {
    const name = uniqueName('retry');
    const leader = await tab();
    await leader.call('open', { name });
    await leader.call('createMission', { uuid: 'm-retry' });
    // Speaks the tabs' protocol directly, as a follower whose leader died before answering would.
    const channel = new BroadcastChannel(`agent-ops-store:${name}`);
    const replies: unknown[] = [];
    channel.onmessage = (event: MessageEvent) => {
      if (event.data?.kind === 'reply' && event.data.to === 'test') replies.push(event.data.reply);
    };
    const call = {
      id: 'write-1',
      target: 'toolCalls',
      method: 'record',
      args: [{ mission: 'm-retry', toolName: 'once', args: {}, success: true }],
    };
    channel.postMessage({ kind: 'call', id: 'a', from: 'test', call });
    channel.postMessage({ kind: 'call', id: 'b', from: 'test', call });
    await eventually(async () => replies.length === 2, 'two replies');
    channel.close();
    const [first, second] = replies as { ok: boolean; value: { id: number } }[];
    expect(first!.ok).toBe(true);
    expect(second!.value).toEqual(first!.value);
    expect(await count(leader, "SELECT count(*) AS n FROM tool_calls WHERE tool_name = 'once'")).toBe(1);
  });

  it('a tab that asks for lock fail still gets LOCKED while the others share', async () => {
    const name = uniqueName('exclusive');
    const a = await tab();
    const b = await tab();
    await a.call('open', { name });
    await b.call('open', { name });
    await b.call('createMission', { uuid: 'm-ex' });
    const c = await tab();
    const refused = await c.call('open', { name, lock: 'fail' }).then(
      () => null,
      (error: { code?: string }) => error,
    );
    expect(refused?.code).toBe('LOCKED');
    expect(await count(a, 'SELECT count(*) AS n FROM missions')).toBe(1);
  });
});
