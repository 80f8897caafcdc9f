import { StoreError } from './errors.js';

/**
 * Formats a Date the way the store writes every timestamp: UTC, 'YYYY-MM-DD HH:MM:SS.SSSZ'.
 * The space (allowed by RFC 3339) matters: SQLite's datetime() returns 'YYYY-MM-DD HH:MM:SS',
 * and text comparison with it is only correct when both use the same separator.
 */
export function formatTimestamp(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new StoreError('INVALID_INPUT', 'timestamp is an invalid Date');
  return date.toISOString().replace('T', ' ');
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Normalises a caller's timestamp (a Date, or an ISO 8601 / SQLite-style string) to the
 * store's format. A string without a zone is taken as UTC, as SQLite does.
 */
export function normalizeTimestamp(field: string, value: Date | string): string {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new StoreError('INVALID_INPUT', `${field} is an invalid Date`);
    return formatTimestamp(value);
  }
  if (typeof value !== 'string') {
    throw new StoreError('INVALID_INPUT', `${field} must be a Date or an ISO 8601 string`);
  }
  const match = TIMESTAMP.exec(value.trim());
  if (!match) throw new StoreError('INVALID_INPUT', `${field} is not an ISO 8601 timestamp: '${value}'`);
  const [, y, mo, d, h, mi, s = '00', frac = '0', zone = 'Z'] = match;
  const millis = Number(frac.padEnd(3, '0').slice(0, 3));
  let epoch = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), millis);
  const check = new Date(epoch);
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
  if (zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    epoch -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return formatTimestamp(new Date(epoch));
}

/** The timestamp `seconds` after `timestamp` (both in the store's format). */
export function addSeconds(timestamp: string, seconds: number): string {
  return formatTimestamp(new Date(Date.parse(timestamp.replace(' ', 'T')) + seconds * 1000));
}
