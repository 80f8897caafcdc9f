import { StoreError } from './errors.js';
import { describe } from './validate.js';

/**
 * The latest time the store writes, and what an expiry past it is clamped to. Years stay four
 * digits: SQLite's datetime() gives 'YYYY-MM-DD HH:MM:SS', and a '+010000-…' year would sort
 * before it as text.
 */
export const MAX_TIMESTAMP = '9999-12-31 23:59:59.999Z';

const MIN_EPOCH = new Date(0).setUTCFullYear(0, 0, 1);
const MAX_EPOCH = Date.parse(MAX_TIMESTAMP.replace(' ', 'T'));

/**
 * Formats a Date the way the store writes every timestamp: UTC, 'YYYY-MM-DD HH:MM:SS.SSSZ'.
 * The space (allowed by RFC 3339) matters: SQLite's datetime() returns 'YYYY-MM-DD HH:MM:SS',
 * and text comparison with it is only correct when both use the same separator. A Date
 * outside years 0000–9999 (UTC) is INVALID_INPUT naming `field`.
 */
export function formatTimestamp(date: Date, field = 'timestamp'): string {
  const epoch = date.getTime();
  if (Number.isNaN(epoch)) throw new StoreError('INVALID_INPUT', `${field} is an invalid Date`);
  if (epoch < MIN_EPOCH || epoch > MAX_EPOCH) {
    throw new StoreError('INVALID_INPUT', `${field} must lie within years 0000 to 9999 in UTC, got ${date.toISOString()}`);
  }
  return date.toISOString().replace('T', ' ');
}

/** What the store's clock says now; INVALID_INPUT unless it returns a valid Date in years 0000–9999. */
export function readClock(clock: () => Date): Date {
  let now: unknown;
  try {
    now = clock();
  } catch (error) {
    throw new StoreError('INVALID_INPUT', `the store's clock threw: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  const epoch = now instanceof Date ? now.getTime() : Number.NaN;
  if (Number.isNaN(epoch) || epoch < MIN_EPOCH || epoch > MAX_EPOCH) {
    const got = now instanceof Date ? (Number.isNaN(epoch) ? 'an invalid Date' : now.toISOString()) : describe(now);
    throw new StoreError('INVALID_INPUT', `clock must return a valid Date within years 0000 to 9999, got ${got}`);
  }
  return now as Date;
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Normalises a caller's timestamp (a Date, or an ISO 8601 / SQLite-style string) to the
 * store's format. A string without a zone is taken as UTC, as SQLite does. Years 0000–9999
 * are valid; a time that falls outside them once in UTC is INVALID_INPUT naming `field`.
 */
export function normalizeTimestamp(field: string, value: Date | string): string {
  if (value instanceof Date) return formatTimestamp(value, field);
  if (typeof value !== 'string') {
    throw new StoreError('INVALID_INPUT', `${field} must be a Date or an ISO 8601 string`);
  }
  const match = TIMESTAMP.exec(value.trim());
  if (!match) throw new StoreError('INVALID_INPUT', `${field} is not an ISO 8601 timestamp: '${value}'`);
  const [, y, mo, d, h, mi, s = '00', frac = '0', zone = 'Z'] = match;
  const millis = Number(frac.padEnd(3, '0').slice(0, 3));
  // Not Date.UTC: it takes years 0–99 as 1900–1999.
  const check = new Date(0);
  check.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  check.setUTCHours(Number(h), Number(mi), Number(s), millis);
  if (
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  ) {
    throw new StoreError('INVALID_INPUT', `${field} is not a valid date and time: '${value}'`);
  }
  let epoch = check.getTime();
  if (zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    epoch -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return formatTimestamp(new Date(epoch), field);
}

/** The timestamp `seconds` after `timestamp` (both in the store's format), clamped to MAX_TIMESTAMP. */
export function addSeconds(timestamp: string, seconds: number): string {
  const epoch = Date.parse(timestamp.replace(' ', 'T')) + seconds * 1000;
  return epoch >= MAX_EPOCH ? MAX_TIMESTAMP : formatTimestamp(new Date(epoch));
}
