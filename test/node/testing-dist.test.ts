// An adapter author's test file: the contract suite and StoreError come from the built package,
// imported by name, and run on this runner's own vitest against an adapter written here.
import { type LoadedState, type PersistenceAdapter, StoreError } from 'agent-ops-store';
import { type AdapterHarness, adapterContract } from 'agent-ops-store/testing';
import { afterEach, describe, expect, it } from 'vitest';

/** Bytes kept in a Map, as a third-party adapter over some key-value store would. */
class MapStorage {
  readonly data = new Map<string, Uint8Array[] | Uint8Array | null>([
    ['snapshot', null],
    ['records', []],
  ]);
  holder: object | null = null;
}

function mapAdapter(storage: MapStorage): PersistenceAdapter {
  const me = {};
  let closed = false;
  const held = () => {
    if (closed) throw new StoreError('CLOSED', 'the map adapter is closed');
  };
  return {
    location: 'map:test',
    async load(): Promise<LoadedState> {
      if (storage.holder !== null && storage.holder !== me) throw new StoreError('LOCKED', 'map:test is held by another store');
      storage.holder = me;
      const snapshot = storage.data.get('snapshot') as Uint8Array | null;
      const records = storage.data.get('records') as Uint8Array[];
      return { snapshot: snapshot ? snapshot.slice() : null, records: records.map((r) => r.slice()), warnings: [] };
    },
    async append(record) {
      held();
      (storage.data.get('records') as Uint8Array[]).push(record.slice());
    },
    async checkpoint(snapshot) {
      held();
      storage.data.set('snapshot', snapshot.slice());
      storage.data.set('records', []);
    },
    async close() {
      closed = true;
      if (storage.holder === me) storage.holder = null;
    },
  };
}

function mapHarness(): AdapterHarness {
  const storage = new MapStorage();
  return {
    open: () => mapAdapter(storage),
    crash: () => {
      storage.holder = null;
    },
    destroy: async () => undefined,
  };
}

adapterContract('a custom Map adapter, from dist/', mapHarness, { describe, it, afterEach, expect });

describe('agent-ops-store/testing, from dist/', () => {
  it('resolves to the built package', () => {
    expect(import.meta.resolve('agent-ops-store/testing')).toMatch(/\/dist\/testing\.js$/);
  });

  it('fails an adapter that breaks the contract', async () => {
    // A negative control: the same suite, collected by a stand-in runner, rejects an adapter that never locks.
    const tests: (() => Promise<void>)[] = [];
    const hooks: (() => Promise<void>)[] = [];
    const failures: string[] = [];
    const names: string[] = [];
    adapterContract(
      'no lock',
      () => {
        const h = mapHarness();
        return {
          ...h,
          open: () => {
            const adapter = h.open();
            const load = adapter.load.bind(adapter);
            return Object.assign(adapter, { load: () => load().finally(() => h.crash()) });
          },
        };
      },
      {
        describe: (_name, body) => body(),
        it: (name, test) => {
          names.push(name);
          tests.push(test);
        },
        afterEach: (hook) => {
          hooks.push(hook);
        },
        expect: (actual) => ({
          toBe: (expected) => {
            if (!Object.is(actual, expected)) throw new Error(`${String(actual)} is not ${String(expected)}`);
          },
          toEqual: (expected) => {
            if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error('not equal');
          },
        }),
      },
    );
    for (const [i, test] of tests.entries()) {
      await test().catch(() => failures.push(names[i]!));
      for (const hook of hooks) await hook();
    }
    expect(tests.length).toBeGreaterThan(5);
    expect(failures).toEqual(['lets one holder at a time: a second opener gets LOCKED, and gets in after close']);
  });
});
