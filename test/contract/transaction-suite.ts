import { beforeAll, describe, expect, it } from 'vitest';
import type { SQLiteStore, StoreError, StoreTransaction } from '../../src/index.js';
import type { HarnessFactory } from './harness.js';
import { dump, rejection, useStoreFixture } from './store-fixture.js';

// Each test has its own timeout: on code that deadlocks, a test must fail, not block the run.
const TEST_MS = 10_000;
// The bound of the tests that wait for it.
const BOUND_MS = 200;
// Timers and a busy machine are late; never early.
const SLACK_MS = 1500;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function probeInner(): Promise<string> {
  await sleep(0);
  return new Error().stack ?? '';
}

async function probeOuterFrame(): Promise<string> {
  return await probeInner();
}

/** The uuids of the missions, in id order. */
async function uuids(store: SQLiteStore): Promise<string[]> {
  return (await store.query('SELECT mission_uuid FROM missions ORDER BY id')).map((row) => String(row.mission_uuid));
}

/**
 * Nested transactions (savepoints) and the DEADLOCK guard of store calls made inside a
 * transaction callback: `transactionSuite('memory (Node)', memoryHarness)`.
 */
export function transactionSuite(name: string, factory: HarnessFactory): void {
  describe(`transactions: ${name}`, () => {
    const fixture = useStoreFixture(factory);
    // Node and Chromium (V8) show async callers in stacks, so the guard refuses at once there;
    // an engine that does not falls back on the bound, and these tests then wait for it.
    let asyncStacks = false;
    beforeAll(async () => {
      asyncStacks = (await probeOuterFrame()).includes('probeOuterFrame');
    });

    /** A store whose bound only matters where async stacks are not kept. */
    const storeForFastPath = () => fixture.fresh({ deadlockTimeoutMs: asyncStacks ? 60_000 : BOUND_MS });

    /** The DEADLOCK `call()` rejects with, at once where async stacks are kept. */
    const refusedAtOnce = async (call: () => Promise<unknown>): Promise<StoreError> => {
      const started = performance.now();
      const error = await rejection(call());
      expect(error.code, error.message).toBe('DEADLOCK');
      expect(performance.now() - started).toBeLessThan(asyncStacks ? SLACK_MS : BOUND_MS + SLACK_MS);
      return error;
    };

    /** Then the store still works: a later write, and close() resolves. */
    const stillUsable = async (store: SQLiteStore) => {
      await store.missions.create({ phase: 'P', uuid: 'later' });
      expect(await uuids(store)).toContain('later');
      await store.close();
      const reopened = await fixture.open();
      expect(await uuids(reopened)).toContain('later');
    };

    describe('tx.transaction nests as a savepoint', () => {
      it(
        'commits two and three levels into the outer transaction, durable across a crash',
        async () => {
          const store = await fixture.fresh();
          const result = await store.transaction(async (tx) => {
            await tx.missions.create({ phase: 'P', uuid: 'level1' });
            const inner = await tx.transaction(async (tx2) => {
              await tx2.missions.create({ phase: 'P', uuid: 'level2' });
              const deepest = await tx2.transaction(async (tx3) => {
                await tx3.missions.create({ phase: 'P', uuid: 'level3' });
                return tx3.query('SELECT count(*) AS n FROM missions');
              });
              return deepest[0]!.n;
            });
            await tx.missions.create({ phase: 'P', uuid: 'level1-after' });
            return inner;
          });
          expect(result).toBe(3);
          expect(await uuids(store)).toEqual(['level1', 'level2', 'level3', 'level1-after']);
          const before = await dump(store);
          const recovered = await fixture.crashAndReopen();
          expect(await dump(recovered)).toEqual(before);
        },
        TEST_MS,
      );

      it(
        'a failed nested transaction undoes only its own changes and rethrows; the outer keeps its work',
        async () => {
          const store = await fixture.fresh();
          const failure = new Error('inner changed its mind');
          await store.transaction(async (tx) => {
            await tx.missions.create({ phase: 'P', uuid: 'outer' });
            const thrown = await tx
              .transaction(async (tx2) => {
                await tx2.missions.create({ phase: 'P', uuid: 'undone' });
                await tx2.memory.set('outer', 'undone', 1);
                throw failure;
              })
              .catch((error: unknown) => error);
            expect(thrown).toBe(failure);
            // Three levels: the middle one catches the failure of the deepest and commits.
            await tx.transaction(async (tx2) => {
              await tx2.missions.create({ phase: 'P', uuid: 'middle' });
              await expect(
                tx2.transaction(async (tx3) => {
                  await tx3.missions.create({ phase: 'P', uuid: 'deepest-undone' });
                  await tx3.missions.delete('outer');
                  throw failure;
                }),
              ).rejects.toBe(failure);
              await tx2.memory.set('middle', 'kept', true);
            });
            expect(await tx.memory.get('outer', 'undone')).toBeUndefined();
          });
          expect(await uuids(store)).toEqual(['outer', 'middle']);
          expect(await store.memory.get('middle', 'kept')).toBe(true);
          const before = await dump(store);
          const recovered = await fixture.crashAndReopen();
          expect(await dump(recovered)).toEqual(before);
          // A throw in the outer callback undoes everything, nested work included.
          await expect(
            recovered.transaction(async (tx) => {
              await tx.transaction((tx2) => tx2.missions.create({ phase: 'P', uuid: 'nested-then-outer-throws' }));
              throw failure;
            }),
          ).rejects.toBe(failure);
          expect(await dump(recovered)).toEqual(before);
        },
        TEST_MS,
      );

      it(
        'while a nested transaction runs, its siblings and the outer tx calls wait, so a rollback undoes only its own work',
        async () => {
          const store = await fixture.fresh();
          const failure = new Error('slow sibling fails');
          await store.transaction(async (tx) => {
            const [slow, sibling, outer] = await Promise.allSettled([
              tx.transaction(async (tx2) => {
                await tx2.missions.create({ phase: 'P', uuid: 'slow-undone' });
                await sleep(30);
                await tx2.missions.create({ phase: 'P', uuid: 'slow-undone-2' });
                throw failure;
              }),
              tx.transaction(async (tx2) => {
                await tx2.missions.create({ phase: 'P', uuid: 'sibling' });
                return 'sibling done';
              }),
              tx.missions.create({ phase: 'P', uuid: 'outer' }),
            ]);
            expect(slow).toEqual({ status: 'rejected', reason: failure });
            expect(sibling).toEqual({ status: 'fulfilled', value: 'sibling done' });
            expect(outer.status).toBe('fulfilled');
          });
          expect((await uuids(store)).sort()).toEqual(['outer', 'sibling']);
        },
        TEST_MS,
      );

      it(
        'a kept nested tx rejects with CLOSED once its callback ended, and after the outer transaction',
        async () => {
          const store = await fixture.fresh();
          let keptNested: StoreTransaction | undefined;
          let keptDeepest: StoreTransaction | undefined;
          await store.transaction(async (tx) => {
            await tx.transaction(async (tx2) => {
              keptNested = tx2;
              await tx2.transaction((tx3) => {
                keptDeepest = tx3;
              });
              expect((await rejection(keptDeepest!.missions.list())).code).toBe('CLOSED');
            });
            expect((await rejection(keptNested!.missions.create({ phase: 'P' }))).code).toBe('CLOSED');
            expect((await rejection(tx.transaction(42 as never))).code).toBe('INVALID_INPUT');
          });
          for (const kept of [keptNested!, keptDeepest!]) {
            expect((await rejection(kept.missions.list())).code).toBe('CLOSED');
            expect((await rejection(kept.query('SELECT 1'))).code).toBe('CLOSED');
            expect((await rejection(kept.transaction(() => 1))).code).toBe('CLOSED');
          }
          expect(await uuids(store)).toEqual([]);
        },
        TEST_MS,
      );
    });

    describe('a store call inside a transaction callback rejects with DEADLOCK instead of hanging', () => {
      it(
        'store.missions.create() before any tx call and after an await of one; the transaction then commits',
        async () => {
          // V8 (Node, Chromium) keeps async stacks: there the guard must refuse at once.
          if (typeof (Error as { stackTraceLimit?: unknown }).stackTraceLimit === 'number') expect(asyncStacks).toBe(true);
          const store = await storeForFastPath();
          const messages: string[] = [];
          await store.transaction(async (tx) => {
            messages.push((await refusedAtOnce(() => store.missions.create({ phase: 'P', uuid: 'refused-1' }))).message);
            await tx.missions.create({ phase: 'P', uuid: 'in-tx' });
            messages.push((await refusedAtOnce(() => store.missions.create({ phase: 'P', uuid: 'refused-2' }))).message);
            await tx.memory.set('in-tx', 'after', 'refusal');
          });
          for (const message of messages) {
            expect(message).toMatch(
              /^store\.missions\.create\(\) was called inside store\.transaction\(\) and would wait for it forever: use tx\.missions\.create\(\) inside a transaction$/,
            );
          }
          expect(await uuids(store)).toEqual(['in-tx']);
          expect(await store.memory.get('in-tx', 'after')).toBe('refusal');
          await stillUsable(store);
        },
        TEST_MS,
      );

      it(
        'store.transaction(), store.query(), store.close(), store.checkpoint() and store.toolCalls.track() inside',
        async () => {
          const store = await storeForFastPath();
          const m = await store.missions.create({ phase: 'P', uuid: 'm' });
          let toolRan = false;
          const errors = await store.transaction(async (tx) => {
            await tx.decisions.record({ mission: m.id, decisionType: 'd', rationale: 'r', agentName: 'a' });
            return {
              transaction: await refusedAtOnce(() => store.transaction(async (inner) => inner.missions.create({ phase: 'P' }))),
              query: await refusedAtOnce(() => store.query('SELECT count(*) FROM missions')),
              close: await refusedAtOnce(() => store.close()),
              checkpoint: await refusedAtOnce(() => store.checkpoint()),
              track: await refusedAtOnce(() =>
                store.toolCalls.track(m.id, 'tool', {}, () => {
                  toolRan = true;
                }),
              ),
            };
          });
          expect(errors.transaction.message).toMatch(
            /^store\.transaction\(\) was called inside .*: use tx\.transaction\(\) inside a transaction$/,
          );
          expect(errors.query.message).toMatch(/^store\.query\(\) was called inside .*: use tx\.query\(\) inside a transaction$/);
          expect(errors.close.message).toMatch(/^store\.close\(\) was called inside .*: call store\.close\(\) after the transaction ends$/);
          expect(errors.checkpoint.code).toBe('DEADLOCK');
          expect(errors.track.message).toMatch(/use tx\.toolCalls\.track\(\) inside a transaction$/);
          expect(toolRan).toBe(false);
          expect(store.closed).toBe(false);
          expect(await store.decisions.history(m.id)).toHaveLength(1);
          await stillUsable(store);
        },
        TEST_MS,
      );

      it(
        'through .then chains, helper functions the callback awaits, and inside nested callbacks',
        async () => {
          const store = await storeForFastPath();
          const helper = async () => {
            await sleep(1);
            return store.memory.get('m', 'k');
          };
          await store.transaction(async (tx) => {
            await tx.missions.create({ phase: 'P', uuid: 'm' });
            await refusedAtOnce(() => tx.missions.list().then(() => store.missions.list()));
            await refusedAtOnce(() =>
              sleep(1)
                .then(() => tx.memory.set('m', 'k', 1))
                .then(() => store.memory.get('m', 'k')),
            );
            await refusedAtOnce(helper);
            await tx.transaction(async (tx2) => {
              await tx2.missions.create({ phase: 'P', uuid: 'nested' });
              await refusedAtOnce(() => store.missions.get('nested'));
              // The outer tx waits for this nested callback just as the store waits for the outer one.
              const error = await refusedAtOnce(() => tx.missions.get('nested'));
              expect(error.message).toMatch(/^tx\.missions\.get\(\) was called inside tx\.transaction\(\)/);
              await refusedAtOnce(() => tx.transaction(() => 1));
              await tx2.transaction(async (tx3) => {
                await refusedAtOnce(() => store.query('SELECT 1'));
                await refusedAtOnce(() => tx2.query('SELECT 1'));
                await tx3.memory.set('nested', 'deep', 3);
              });
            });
          });
          expect(await uuids(store)).toEqual(['m', 'nested']);
          expect(await store.memory.get('nested', 'deep')).toBe(3);
          await stillUsable(store);
        },
        TEST_MS,
      );

      it(
        'a callback that rethrows the DEADLOCK rolls its transaction back',
        async () => {
          const store = await storeForFastPath();
          await store.missions.create({ phase: 'P', uuid: 'before' });
          const before = await dump(store);
          const started = performance.now();
          const error = await rejection(
            store.transaction(async (tx) => {
              await tx.missions.create({ phase: 'P', uuid: 'rolled-back' });
              await store.missions.delete('before');
            }),
          );
          expect(error.code).toBe('DEADLOCK');
          expect(performance.now() - started).toBeLessThan(asyncStacks ? SLACK_MS : BOUND_MS + SLACK_MS);
          expect(await dump(store)).toEqual(before);
          await stillUsable(store);
          expect(await uuids(await fixture.crashAndReopen())).toEqual(['before', 'later']);
        },
        TEST_MS,
      );

      it(
        'a store call scheduled with setTimeout and awaited by the callback is refused after deadlockTimeoutMs',
        async () => {
          const store = await fixture.fresh({ deadlockTimeoutMs: BOUND_MS });
          // No engine's stack links a timer callback to the code that set it: the bound decides.
          const later = <T>(call: () => Promise<T>) =>
            new Promise<T>((resolve, reject) => {
              setTimeout(() => call().then(resolve, reject), 0);
            });
          const waited: number[] = [];
          const errors = await store.transaction(async (tx) => {
            await tx.missions.create({ phase: 'P', uuid: 'in-tx' });
            const refused: StoreError[] = [];
            const calls: (() => Promise<unknown>)[] = [() => store.missions.create({ phase: 'P', uuid: 'never' }), () => store.close()];
            for (const call of calls) {
              const started = performance.now();
              refused.push(await rejection(later(call)));
              waited.push(performance.now() - started);
            }
            await tx.memory.set('in-tx', 'k', 'v');
            return refused;
          });
          expect(errors.map((error) => error.code)).toEqual(['DEADLOCK', 'DEADLOCK']);
          expect(errors[0]!.message).toMatch(
            /^store\.missions\.create\(\) waited 200 ms behind a store\.transaction\(\) whose callback made no tx call meanwhile.*use tx\.missions\.create\(\) inside a transaction \(deadlockTimeoutMs sets the wait\)$/,
          );
          for (const ms of waited) {
            expect(ms).toBeGreaterThanOrEqual(BOUND_MS - 5);
            expect(ms).toBeLessThan(BOUND_MS + SLACK_MS);
          }
          expect(store.closed).toBe(false);
          expect(await uuids(store)).toEqual(['in-tx']);
          await stillUsable(store);
        },
        TEST_MS,
      );
    });

    describe('calls from other tasks only wait their turn', () => {
      it(
        'an outside call waits behind a transaction that stays busy with tx calls past the bound, and then succeeds',
        async () => {
          const store = await fixture.fresh({ deadlockTimeoutMs: BOUND_MS });
          let outside: Promise<unknown> | undefined;
          let outsideSettled = false;
          const transactionEnded = store.transaction(async (tx) => {
            await tx.missions.create({ phase: 'P', uuid: 'in-tx' });
            // Not called from the callback: a task of its own, like another request of a server.
            setTimeout(() => {
              outside = store.missions.create({ phase: 'P', uuid: 'outside' }).finally(() => {
                outsideSettled = true;
              });
            }, 0);
            await sleep(5);
            // Where the stack shows it, a call from inside is refused meanwhile; the outside one is not.
            if (asyncStacks) await refusedAtOnce(() => store.missions.list());
            const busyUntil = performance.now() + 3 * BOUND_MS;
            while (performance.now() < busyUntil) {
              await tx.missions.list();
              await sleep(BOUND_MS / 10);
            }
            expect(outsideSettled).toBe(false);
          });
          await transactionEnded;
          await expect(outside).resolves.toMatchObject({ uuid: 'outside' });
          expect(await uuids(store)).toEqual(['in-tx', 'outside']);
          await stillUsable(store);
        },
        TEST_MS,
      );

      it(
        'a call queued before a transaction began is never refused, however long it idles; one queued while it idles is (the documented bound)',
        async () => {
          const store = await fixture.fresh({ deadlockTimeoutMs: BOUND_MS });
          let queuedWhileIdle: Promise<unknown> | undefined;
          // The first transaction holds the queue (busy, never idle for the bound) while the
          // second, and then a plain call, queue behind it.
          const first = store.transaction(async (tx) => {
            await tx.missions.create({ phase: 'P', uuid: 'first' });
            await sleep(BOUND_MS / 4);
          });
          const second = store.transaction(async (tx) => {
            await tx.missions.create({ phase: 'P', uuid: 'second' });
            // Idle for three times the bound, with a call queued from outside meanwhile.
            setTimeout(() => {
              queuedWhileIdle = store.missions.create({ phase: 'P', uuid: 'queued-while-idle' });
              queuedWhileIdle.catch(() => undefined);
            }, 0);
            await sleep(3 * BOUND_MS);
          });
          const queuedBefore = store.missions.create({ phase: 'P', uuid: 'queued-before' });
          await first;
          await second;
          await expect(queuedBefore).resolves.toMatchObject({ uuid: 'queued-before' });
          expect((await rejection(queuedWhileIdle!)).code).toBe('DEADLOCK');
          expect(await uuids(store)).toEqual(['first', 'second', 'queued-before']);
          await stillUsable(store);
        },
        TEST_MS,
      );

      it(
        'deadlockTimeoutMs must be a positive number of milliseconds',
        async () => {
          const first = await fixture.fresh();
          await first.close();
          for (const deadlockTimeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, '5000']) {
            const error = await rejection(fixture.open({ deadlockTimeoutMs: deadlockTimeoutMs as number }));
            expect(error.code).toBe('INVALID_INPUT');
            expect(error.message).toMatch(/^deadlockTimeoutMs must be/);
          }
          const store = await fixture.open({ deadlockTimeoutMs: 1 });
          await store.transaction((tx) => tx.missions.create({ phase: 'P' }));
          await stillUsable(store);
        },
        TEST_MS,
      );
    });
  });
}
