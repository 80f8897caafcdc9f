import { StoreError } from './errors.js';

/** Any value JSON can carry: what JSON columns (args, result, metadata, memory values) accept. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * How deep arrays and objects may nest in a JSON column: SQLite's json_valid(), which guards
 * every JSON column, refuses anything deeper.
 */
export const MAX_JSON_DEPTH = 1000;

/**
 * Serialises `value` for the JSON column `field`, refusing what JSON would silently change or
 * drop: undefined (at the top level or in an array), functions, symbols, BigInt, NaN and
 * Infinity, cycles, class instances other than those with toJSON (such as Date), and nesting
 * deeper than MAX_JSON_DEPTH. Object properties that are undefined are omitted, as JSON does.
 */
export function toJsonText(field: string, value: unknown): string {
  check(field, value, [], new Set(), true);
  return JSON.stringify(value);
}

/** Like toJsonText, but undefined and null become SQL NULL. */
export function toNullableJsonText(field: string, value: unknown): string | null {
  return value === undefined || value === null ? null : toJsonText(field, value);
}

/** Parses a JSON column back; SQL NULL becomes null. */
export function fromJsonText(text: unknown): JsonValue {
  return typeof text === 'string' ? (JSON.parse(text) as JsonValue) : null;
}

/** Keys from the top value down to the one being checked; joined into a path only for errors. */
type KeyPath = (string | number)[];

/** Walks `value` as JSON.stringify would: toJSON is applied once per value, never to its result. */
function check(field: string, value: unknown, path: KeyPath, seen: Set<object>, applyToJson: boolean): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw invalid(field, path, `${value} is not a JSON number`);
      return;
    case 'undefined':
      throw invalid(field, path, 'undefined is not JSON');
    case 'bigint':
      throw invalid(field, path, 'a BigInt is not JSON');
    case 'function':
      throw invalid(field, path, 'a function is not JSON');
    case 'symbol':
      throw invalid(field, path, 'a symbol is not JSON');
  }
  if (value === null) return;
  const object = value as object;
  if (seen.has(object)) throw invalid(field, path, 'it contains a cycle');
  if (applyToJson && typeof (object as { toJSON?: unknown }).toJSON === 'function') {
    check(field, (object as { toJSON(): unknown }).toJSON(), path, seen, false);
    return;
  }
  // The path holds one key per container above this one; stopping here bounds the recursion
  // long before the stack could overflow.
  if (path.length >= MAX_JSON_DEPTH) {
    throw new StoreError(
      'INVALID_INPUT',
      `${field} must be JSON nested at most ${MAX_JSON_DEPTH} levels deep (SQLite's limit), and is deeper`,
    );
  }
  seen.add(object);
  if (Array.isArray(object)) {
    for (let index = 0; index < object.length; index++) {
      path.push(index);
      check(field, object[index], path, seen, true);
      path.pop();
    }
  } else {
    const proto = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) {
      throw invalid(field, path, `a ${object.constructor?.name ?? 'class'} instance is not JSON`);
    }
    for (const key of Object.keys(object)) {
      const item = (object as Record<string, unknown>)[key];
      if (item === undefined) continue;
      path.push(key);
      check(field, item, path, seen, true);
      path.pop();
    }
  }
  seen.delete(object);
}

function invalid(field: string, path: KeyPath, why: string): StoreError {
  const at = path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${key}`)).join('');
  return new StoreError('INVALID_INPUT', `${field} must be JSON: at ${field}${at}, ${why}`);
}
