/** What went wrong, as a stable string callers can switch on. */
export type StoreErrorCode =
  | 'NOT_FOUND'
  | 'INVALID_INPUT'
  | 'INVALID_TRANSITION'
  | 'CONFLICT'
  | 'CONSTRAINT'
  | 'SQL'
  | 'SCHEMA_TOO_NEW'
  | 'LOCKED'
  | 'CORRUPT'
  | 'IO'
  | 'CLOSED'
  | 'DEADLOCK'
  | 'READ_ONLY'
  /** A write would grow the database past its size limit (`openStore({ maxBytes })`); it was rolled back. */
  | 'FULL';

/**
 * The one error class of agent-ops-store: a `code` to switch on, a message that names the
 * mission, key, field or path, and the underlying error as `cause`.
 *
 * @example
 * try { await store.missions.get('nope'); }
 * catch (e) { if (e instanceof StoreError && e.code === 'NOT_FOUND') ... }
 */
export class StoreError extends Error {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}

/** True when `error` is a StoreError, and of `code` when one is given. */
export function isStoreError(error: unknown, code?: StoreErrorCode): error is StoreError {
  return error instanceof StoreError && (code === undefined || error.code === code);
}

/** The message of anything thrown, for wrapping it in a StoreError. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
