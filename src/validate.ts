import type { Connection } from './connection.js';
import { StoreError } from './errors.js';

/** A mission, by its integer id or its uuid string. */
export type MissionRef = number | string;

/** Throws INVALID_INPUT unless `value` is a non-empty string. */
export function requireText(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new StoreError('INVALID_INPUT', `${field} must be a non-empty string, got ${describe(value)}`);
  }
  return value;
}

/** Like requireText, but undefined and null give null. */
export function optionalText(field: string, value: unknown): string | null {
  return value === undefined || value === null ? null : requireText(field, value);
}

/** Throws INVALID_INPUT unless `value` is a boolean. */
export function requireBoolean(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new StoreError('INVALID_INPUT', `${field} must be true or false, got ${describe(value)}`);
  return value;
}

/** A finite number >= 0 (rounded to an integer), or null when absent. */
export function optionalNonNegative(field: string, value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new StoreError('INVALID_INPUT', `${field} must be a number >= 0, got ${describe(value)}`);
  }
  return Math.round(value);
}

/** Throws INVALID_INPUT unless `value` is a mission id (positive integer) or uuid (non-empty string). */
export function requireMissionRef(value: unknown): MissionRef {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  if (typeof value === 'string' && value.length > 0) return value;
  throw new StoreError('INVALID_INPUT', `mission must be an id (positive integer) or a uuid (string), got ${describe(value)}`);
}

/** The mission's integer id; NOT_FOUND when there is no such mission. */
export function resolveMission(conn: Connection, ref: MissionRef): number {
  const row =
    typeof ref === 'number'
      ? conn.get('SELECT id FROM missions WHERE id = ?', [ref])
      : conn.get('SELECT id FROM missions WHERE mission_uuid = ?', [ref]);
  if (!row) throw new StoreError('NOT_FOUND', `mission ${typeof ref === 'number' ? ref : `'${ref}'`} not found`);
  return Number(row.id);
}

/** A short description of a bad value for messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return value.length === 0 ? 'an empty string' : `'${value.slice(0, 40)}'`;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}
