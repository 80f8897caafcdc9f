import { describe, expect, test } from 'vitest';
import { CheckpointScheduler } from '../../src/checkpoint-scheduler.js';

/** A scheduler over a fake log of `limit` bytes, whose checkpoints fail while `full` is set. */
function setUp(limit = 1000) {
  const log = { logBytes: 0, checkpointLimit: limit };
  const state = { full: true, attempts: 0, now: 0, warnings: [] as string[], pending: Promise.resolve() };
  const scheduler = new CheckpointScheduler({
    log,
    enqueue: (task) => {
      state.pending = state.pending.then(task);
      return state.pending;
    },
    checkpoint: async () => {
      state.attempts++;
      if (state.full) throw new Error('ENOSPC: no space left on device');
      log.logBytes = 0;
      // As the store does after every checkpoint that succeeded.
      scheduler.checkpointed();
    },
    warn: (message) => state.warnings.push(message),
    now: () => state.now,
  });
  /** One write of `bytes`, then whatever checkpoint it queued. */
  const write = async (bytes = 100) => {
    log.logBytes += bytes;
    scheduler.afterWrite();
    await state.pending;
  };
  return { log, state, scheduler, write };
}

describe('CheckpointScheduler', () => {
  test('after each failure, waits for the log to grow by twice as much as the last time before trying again', async () => {
    const { state, write } = setUp(1000);
    const attemptsAt: number[] = [];
    for (let i = 1; i <= 330; i++) {
      const before = state.attempts;
      await write(100);
      if (state.attempts > before) attemptsAt.push(i * 100);
    }
    // Over the limit at 1100 bytes; then 1000, 2000, 4000, 8000 and 16000 bytes more.
    expect(attemptsAt).toEqual([1100, 2100, 4100, 8100, 16100, 32100]);
    expect(state.warnings).toHaveLength(1);
    expect(state.warnings[0]).toMatch(/background checkpoint failed.*ENOSPC/);
  });

  test('also retries once the wait has passed (10 s, doubling), and warns once more when a checkpoint succeeds again', async () => {
    const { state, scheduler, write } = setUp(1000);
    for (let i = 0; i < 11; i++) await write(100);
    expect(state.attempts).toBe(1);
    state.now = 9_999;
    await write(1);
    expect(state.attempts).toBe(1);
    state.now = 10_000;
    await write(1);
    expect(state.attempts).toBe(2);
    // The second failure doubles the wait to 20 s.
    state.now = 29_999;
    await write(1);
    expect(state.attempts).toBe(2);
    state.full = false;
    state.now = 30_000;
    await write(1);
    expect(state.attempts).toBe(3);
    expect(scheduler.failures).toBe(0);
    expect(state.warnings).toHaveLength(2);
    expect(state.warnings[1]).toMatch(/checkpoints succeed again, after 2 failed background attempt\(s\)/);
    // Back to normal: the next time the log outgrows the limit, it checkpoints at once.
    for (let i = 0; i < 11; i++) await write(100);
    expect(state.attempts).toBe(4);
  });

  test('a checkpoint of any kind that succeeds ends the streak', async () => {
    const { state, scheduler, write } = setUp(1000);
    for (let i = 0; i < 11; i++) await write(100);
    expect(scheduler.failures).toBe(1);
    scheduler.checkpointed();
    expect(scheduler.failures).toBe(0);
    expect(state.warnings).toHaveLength(2);
  });
});

describe('CheckpointScheduler with background checkpoints', () => {
  test('a due checkpoint starts in the background, never two at once; lagging while the log passes twice its limit', async () => {
    const log = { logBytes: 0, checkpointLimit: 1000 };
    const warnings: string[] = [];
    let started = 0;
    let enqueued = 0;
    let finish: (error?: Error) => void = () => undefined;
    const scheduler = new CheckpointScheduler({
      log,
      enqueue: async (task) => {
        enqueued++;
        await task();
      },
      checkpoint: async () => undefined,
      background: () => {
        started++;
        return new Promise<void>((resolve, reject) => {
          finish = (error) => (error ? reject(error) : resolve());
        });
      },
      warn: (message) => warnings.push(message),
    });
    log.logBytes = 1500;
    scheduler.afterWrite();
    expect(started).toBe(1);
    expect(enqueued).toBe(0);
    expect(scheduler.lagging).toBe(false);
    log.logBytes = 2500;
    scheduler.afterWrite();
    expect(started).toBe(1);
    expect(scheduler.lagging).toBe(true);
    log.logBytes = 0;
    finish();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(scheduler.lagging).toBe(false);
    // A failed one counts as a failure, as a checkpoint in the queue does.
    log.logBytes = 1500;
    scheduler.afterWrite();
    expect(started).toBe(2);
    finish(new Error('ENOSPC'));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(scheduler.failures).toBe(1);
    expect(warnings.some((w) => w.includes('ENOSPC'))).toBe(true);
    expect(scheduler.lagging).toBe(false);
  });

  test('falls back to the queue when no background checkpoint can be taken now', async () => {
    const log = { logBytes: 1500, checkpointLimit: 1000 };
    let enqueued = 0;
    const scheduler = new CheckpointScheduler({
      log,
      enqueue: async (task) => {
        enqueued++;
        await task();
      },
      checkpoint: async () => {
        log.logBytes = 0;
      },
      background: () => null,
      warn: () => undefined,
    });
    scheduler.afterWrite();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(enqueued).toBe(1);
    expect(log.logBytes).toBe(0);
  });
});
