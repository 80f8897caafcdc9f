import type { Connection } from './connection.js';
import { isStoreError, StoreError } from './errors.js';

/** A mission, by its integer id or its uuid string. */
export type MissionRef = number | string;

/** Throws INVALID_INPUT unless `value` is a non-empty string the store gives back exactly (see `requireString`). */
export function requireText(field: string, value: unknown): string {
  // SQLite's length() stops at U+0000, so the schema's length(x) > 0 checks see such text as empty.
  if (typeof value !== 'string' || value.length === 0 || value.charCodeAt(0) === 0) {
    throw new StoreError('INVALID_INPUT', `${field} must be a non-empty string not starting with U+0000, got ${describe(value)}`);
  }
  return exact(field, value);
}

/** Like requireText, but undefined and null give null. */
export function optionalText(field: string, value: unknown): string | null {
  return value === undefined || value === null ? null : requireText(field, value);
}

/**
 * Throws INVALID_INPUT unless `value` is a string (empty allowed) that comes back from SQLite
 * exactly as given: well-formed UTF-16 (no lone surrogate, which sql.js would store as bytes
 * that read back as U+FFFD) and not starting with U+FEFF (which sql.js drops when it reads).
 */
export function requireString(field: string, value: unknown): string {
  if (typeof value !== 'string') throw new StoreError('INVALID_INPUT', `${field} must be a string, got ${describe(value)}`);
  return exact(field, value);
}

/** Like requireString, but undefined and null give null. */
export function optionalString(field: string, value: unknown): string | null {
  return value === undefined || value === null ? null : requireString(field, value);
}

/** `text` changed as little as needed to pass requireString: lone surrogates become U+FFFD, leading U+FEFF go. */
export function exactText(text: string): string {
  return toWellFormed(text).replace(/^\ufeff+/, '');
}

/** The input or options object a method was given; INVALID_INPUT naming `what` for null, arrays and non-objects. */
export function requireObject<T>(what: string, value: T): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StoreError('INVALID_INPUT', `${what} must be an object, got ${describe(value)}`);
  }
  return value;
}

/** Like requireObject, but undefined gives an empty object. */
export function optionalObject<T extends object>(what: string, value: T | undefined): T {
  return value === undefined ? ({} as T) : requireObject(what, value);
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

/** How a list method pages: `limit` rows (all when omitted) after skipping `offset` (0), in the method's stable order. */
export interface PageOptions {
  readonly limit?: number;
  readonly offset?: number;
}

/** `limit` and `offset` to bind (-1 is SQLite's "no limit"); INVALID_INPUT naming the one that is not an integer >= 0. */
export function pageParams(options: PageOptions): [limit: number, offset: number] {
  const check = (field: string, value: unknown, fallback: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new StoreError('INVALID_INPUT', `${field} must be an integer >= 0, got ${describe(value)}`);
    }
    return value;
  };
  return [check('limit', options.limit, -1), check('offset', options.offset, 0)];
}

/** Throws INVALID_INPUT unless `value` is a mission id (positive integer) or uuid (non-empty string). */
export function requireMissionRef(value: unknown): MissionRef {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  if (typeof value === 'string' && value.length > 0) return exact('mission', value);
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

/**
 * The error of a write that named mission `id` directly: a foreign key failure means no such
 * mission, NOT_FOUND as `resolveMission` says it; anything else is passed on.
 */
export function missingMission(error: unknown, id: number): unknown {
  if (!isStoreError(error, 'CONSTRAINT') || !/FOREIGN KEY constraint failed/i.test(error.message)) return error;
  return new StoreError('NOT_FOUND', `mission ${id} not found`, { cause: error });
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

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
type WellFormedString = { isWellFormed?: () => boolean; toWellFormed?: () => string };
const native = String.prototype as WellFormedString;

/** False when `text` holds a lone UTF-16 surrogate, which has no UTF-8 form. */
export function isWellFormed(text: string): boolean {
  if (native.isWellFormed) return (text as WellFormedString).isWellFormed!();
  LONE_SURROGATE.lastIndex = 0;
  return !LONE_SURROGATE.test(text);
}

function toWellFormed(text: string): string {
  return native.toWellFormed ? (text as WellFormedString).toWellFormed!() : text.replace(LONE_SURROGATE, '\ufffd');
}

function exact(field: string, text: string): string {
  if (!isWellFormed(text)) {
    throw new StoreError('INVALID_INPUT', `${field} must be well-formed text: it holds a lone UTF-16 surrogate (a character cut in half)`);
  }
  if (text.charCodeAt(0) === 0xfeff) {
    throw new StoreError('INVALID_INPUT', `${field} cannot start with U+FEFF (a byte order mark): SQLite would give it back without it`);
  }
  return text;
}
