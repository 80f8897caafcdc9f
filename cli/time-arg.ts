import { formatTimestamp } from 'agent-ops-store';
import { usageError } from './exit-codes.js';

const UNIT_MS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A time given on the command line, in the store's timestamp format: a duration back from `now`
 * ('30d', '12h', '2w', '90m') or an ISO 8601 date and time ('2026-10-01', '2026-10-01T12:00:00Z').
 * Exit 64 for anything else, naming the option.
 */
export function timeArg(option: string, value: string, now: Date): string {
  const duration = /^(\d+)([mhdw])$/.exec(value.trim());
  if (duration) return formatTimestamp(new Date(now.getTime() - Number(duration[1]) * UNIT_MS[duration[2]!]!));
  const date = /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) throw usageError(`${option} takes a duration (30d, 12h, 2w, 90m) or an ISO 8601 time, got '${value}'`);
  return formatTimestamp(date);
}
