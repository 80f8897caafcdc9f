import { afterEach, describe, expect, it } from 'vitest';
import { indexedDbAdapter } from '../../adapters/indexeddb.js';
import { isStoreError, openStore, type SQLiteStore } from '../../src/index.js';
import { deleteDatabase } from './indexeddb-harness.js';
import { openTab, storedKeys, type Tab, watchAcks } from './tab.js';

// Each test gets its own store name; tabs and stores are cleaned up after it.
let tabs: Tab[] = [];
let stores: SQLiteStore[] = [];
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
const open = async (name: string) => {
  const store = await openStore({ adapter: indexedDbAdapter(name, { lock: 'wait', lockTimeoutMs: 10_000 }) });
  stores.push(store);
  return store;
};
const count = async (store: SQLiteStore, table: string) =>
  ((await store.query(`SELECT count(*) AS n FROM ${table}`))[0] as { n: number }).n;

afterEach(async () => {
  for (const t of tabs) t.remove();
  for (const s of stores) if (!s.closed) await s.close();
  for (const name of names) await deleteDatabase(`agent-ops-store:${name}`);
  tabs = [];
  stores = [];
  names = [];
});

describe('indexeddb in real tabs', () => {
  it('keeps everything across a reload of the page that wrote it, foreign keys still enforced', async () => {
    const name = uniqueName('reload');
    const writer = await tab();
    await writer.call('open', { name });
    await writer.call('createMission', { uuid: 'm-reload' });
    await writer.call('recordToolCalls', { mission: 'm-reload', count: 40, prefix: 'tool' });
    await writer.call('setMemory', { mission: 'm-reload', key: 'plan', value: { steps: [1, 2, 3] } });

    // The page reloads without ever calling close(): the new document must get the lock and the data.
    await writer.reload();
    await writer.call('open', { name, lock: 'wait', lockTimeoutMs: 10_000 });
    const rows = await writer.call<{ n: number }[]>('query', { sql: 'SELECT count(*) AS n FROM tool_calls' });
    expect(rows[0]!.n).toBe(40);
    writer.remove();

    const store = await open(name);
    expect(await count(store, 'tool_calls')).toBe(40);
    expect(await store.memory.get('m-reload', 'plan')).toEqual({ steps: [1, 2, 3] });
    const orphan = store.query(
      "INSERT INTO tool_calls (mission_id, tool_name, args, timestamp, success) VALUES (9999, 'x', '{}', '2026-01-01 00:00:00.000Z', 1)",
    );
    await expect(orphan).rejects.toThrow(/FOREIGN KEY/);
    await store.missions.delete('m-reload');
    expect(await count(store, 'tool_calls')).toBe(0);
    expect(await count(store, 'agent_memory')).toBe(0);
    await store.close();

    const reopened = await open(name);
    expect(await count(reopened, 'missions')).toBe(0);
    expect(await count(reopened, 'tool_calls')).toBe(0);
  });

  it('a second tab gets LOCKED when it will not wait, and with wait gets in after the first closes, losing no update', async () => {
    const name = uniqueName('tabs');
    const first = await tab();
    const second = await tab();
    await first.call('open', { name, lock: 'fail' });
    await first.call('createMission', { uuid: 'm-tabs' });
    await first.call('increment', { mission: 'm-tabs', key: 'counter' });

    const refused = await second.call('open', { name, lock: 'fail' }).then(
      () => null,
      (error: { code?: string }) => error,
    );
    expect(refused?.code).toBe('LOCKED');

    let secondOpened = false;
    const waiting = second.call('open', { name, lock: 'wait', lockTimeoutMs: 20_000 }).then(() => {
      secondOpened = true;
    });
    // The first tab keeps writing while the second waits; the second must not get in meanwhile.
    for (let i = 0; i < 5; i++) await first.call('increment', { mission: 'm-tabs', key: 'counter' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(secondOpened).toBe(false);
    await first.call('close');
    await waiting;
    expect(await second.call('increment', { mission: 'm-tabs', key: 'counter' })).toBe(7);
    await second.call('close');

    const store = await open(name);
    expect(await store.memory.get('m-tabs', 'counter')).toBe(7);
  });

  it('a wait that times out gives LOCKED', async () => {
    const name = uniqueName('timeout');
    const first = await tab();
    await first.call('open', { name });
    const second = await tab();
    const error = await second.call('open', { name, lock: 'wait', lockTimeoutMs: 300 }).then(
      () => null,
      (e: { code?: string }) => e,
    );
    expect(error?.code).toBe('LOCKED');
  });

  it('a tab that dies mid-write loses nothing it acknowledged', async () => {
    const name = uniqueName('crash');
    const writer = await tab();
    await writer.call('open', { name });
    await writer.call('createMission', { uuid: 'm-crash' });
    const seen = watchAcks(writer, (n) => n >= 60);
    await writer.call('writeForever', { mission: 'm-crash' });
    const acknowledged = await seen;
    // Gone while writes are still in flight: no close(), no checkpoint.
    writer.remove();

    const store = await open(name);
    const rows = (await store.query("SELECT tool_name FROM tool_calls WHERE tool_name LIKE 'ack-%'")) as { tool_name: string }[];
    const have = new Set(rows.map((r) => r.tool_name));
    for (let n = 1; n <= acknowledged; n++) expect(have.has(`ack-${n}`), `ack-${n}`).toBe(true);
    expect(have.size).toBeGreaterThanOrEqual(acknowledged);
  });

  it('checkpoints on pagehide: the log folds into the snapshot', async () => {
    const name = uniqueName('pagehide');
    const store = await open(name);
    await store.missions.create({ phase: 'PLANNING', uuid: 'm-hide' });
    await store.toolCalls.record({ mission: 'm-hide', toolName: 'read_file', args: {}, success: true });
    const before = await storedKeys(`agent-ops-store:${name}`);
    expect(before.filter((k) => typeof k === 'number').length).toBeGreaterThan(0);

    window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: false }));
    // The checkpoint runs after the event; it is the next thing on the store's queue.
    await store.query('SELECT 1');
    const after = await storedKeys(`agent-ops-store:${name}`);
    // No log record is left; the epoch (the lock holder's fencing token) stays beside the snapshot
    // (its manifest, and one chunk: a tiny store).
    expect(after).toEqual(['epoch', 'manifest', ['chunk', 0]]);

    await store.close();
    const again = await open(name);
    expect(await count(again, 'tool_calls')).toBe(1);
    await again.close();
    // A closed store no longer listens.
    window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: false }));
  });

  it('a store whose lock is stolen (steal: true) refuses further writes with LOCKED, keeping what it had', async () => {
    const name = uniqueName('steal');
    const store = await open(name);
    await store.missions.create({ phase: 'PLANNING', uuid: 'm-steal' });
    let release!: () => void;
    const thief = new Promise<void>((resolve) => {
      release = resolve;
    });
    const granted = new Promise<void>((resolve) => {
      void navigator.locks.request(`agent-ops-store:${name}`, { steal: true }, () => {
        resolve();
        return thief;
      });
    });
    await granted;
    await new Promise((resolve) => setTimeout(resolve, 0));
    const error = await store.toolCalls.record({ mission: 'm-steal', toolName: 'late', args: {}, success: true }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isStoreError(error, 'LOCKED')).toBe(true);
    expect(await count(store, 'tool_calls')).toBe(0);
    expect(await count(store, 'missions')).toBe(1);
    await store.close().catch(() => undefined);
    release();
    const again = await open(name);
    expect(await count(again, 'missions')).toBe(1);
    expect(await count(again, 'tool_calls')).toBe(0);
  });

  it('refuses to open a second exclusive store on the same name in the same page with LOCKED', async () => {
    const name = uniqueName('same-page');
    await open(name);
    const error = await openStore({ adapter: indexedDbAdapter(name, { lock: 'fail' }) }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isStoreError(error, 'LOCKED')).toBe(true);
  });
});
