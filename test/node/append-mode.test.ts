import { describe, expect, it } from 'vitest';
import { AppendMode, BLOCKING_APPEND_BUDGET_MS, BLOCKING_APPEND_MAX_BYTES } from '../../adapters/append-mode.js';

describe('fs append mode', () => {
  it('true and false force the way, whatever the disk does', () => {
    const always = new AppendMode(true);
    const never = new AppendMode(false);
    for (const mode of [always, never]) mode.observe(50 * BLOCKING_APPEND_BUDGET_MS);
    expect(always.blocking(10 * BLOCKING_APPEND_MAX_BYTES)).toBe(true);
    expect(never.blocking(1)).toBe(false);
  });

  it('by default writes small records synchronously while the disk is quick, big ones through the pool', () => {
    const mode = new AppendMode(undefined);
    expect(mode.blocking(1400)).toBe(true);
    for (let i = 0; i < 20; i++) mode.observe(BLOCKING_APPEND_BUDGET_MS / 4);
    expect(mode.blocking(BLOCKING_APPEND_MAX_BYTES)).toBe(true);
    expect(mode.blocking(BLOCKING_APPEND_MAX_BYTES + 1)).toBe(false);
  });

  it('moves appends to the pool once flushes get slow, and back once they are quick again', () => {
    const mode = new AppendMode(undefined);
    mode.observe(0.4);
    // A lone stall, however long, among quick flushes does not tip the average.
    mode.observe(1000);
    expect(mode.blocking(1400)).toBe(true);
    expect(mode.averageMs).toBeLessThan(BLOCKING_APPEND_BUDGET_MS);
    let slow = 0;
    while (mode.blocking(1400)) {
      mode.observe(BLOCKING_APPEND_BUDGET_MS * 2);
      slow++;
    }
    expect(slow).toBeGreaterThan(1);
    // A disk that stays slow keeps them there.
    for (let i = 0; i < 20; i++) mode.observe(BLOCKING_APPEND_BUDGET_MS * 2);
    expect(mode.blocking(1400)).toBe(false);
    expect(mode.averageMs).toBeGreaterThan(BLOCKING_APPEND_BUDGET_MS);
    let quick = 0;
    while (!mode.blocking(1400)) {
      mode.observe(0.4);
      quick++;
    }
    expect(quick).toBeGreaterThan(1);
    expect(mode.averageMs).toBeLessThanOrEqual(BLOCKING_APPEND_BUDGET_MS);
  });
});
