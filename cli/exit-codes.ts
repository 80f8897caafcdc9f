import { isStoreError } from 'agent-ops-store';

/** The sysexits.h codes the CLI exits with. */
export const EXIT = {
  OK: 0,
  /** EX_USAGE: bad arguments, an unknown command or option, a write without --write. */
  USAGE: 64,
  /** EX_DATAERR: bad input data (a legacy file refused, bad SQL, a store from a newer version, a damaged store). */
  DATA: 65,
  /** EX_NOINPUT: the store or an input file does not exist. */
  NO_INPUT: 66,
  /** EX_SOFTWARE: a bug, or a state the CLI did not expect. */
  SOFTWARE: 70,
  /** EX_IOERR: reading or writing a file failed. */
  IO: 74,
  /** EX_TEMPFAIL: the store is LOCKED by a writer; try again later. */
  TEMP: 75,
} as const;

// Every StoreError code, in one place. SCHEMA_TOO_NEW is a data error (65), not temporary: the
// file will not become readable by waiting, only by a newer agent-ops.
const BY_STORE_CODE: Readonly<Record<string, number>> = {
  INVALID_INPUT: EXIT.DATA,
  INVALID_TRANSITION: EXIT.DATA,
  CONFLICT: EXIT.DATA,
  CONSTRAINT: EXIT.DATA,
  SQL: EXIT.DATA,
  NOT_FOUND: EXIT.DATA,
  SCHEMA_TOO_NEW: EXIT.DATA,
  CORRUPT: EXIT.DATA,
  READ_ONLY: EXIT.USAGE,
  IO: EXIT.IO,
  FULL: EXIT.IO,
  LOCKED: EXIT.TEMP,
  CLOSED: EXIT.SOFTWARE,
  DEADLOCK: EXIT.SOFTWARE,
};

/** An error the CLI raises itself, with the exit code it means. */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(exitCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** Bad arguments: exit 64. */
export function usageError(message: string): CliError {
  return new CliError(EXIT.USAGE, message);
}

/** The exit code for anything thrown. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof CliError) return error.exitCode;
  if (isStoreError(error)) return BY_STORE_CODE[error.code] ?? EXIT.SOFTWARE;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return EXIT.NO_INPUT;
  // parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for unknown or malformed options.
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) return EXIT.USAGE;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return EXIT.IO;
  return EXIT.SOFTWARE;
}

/** The error as one line: no stack, no newlines. */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, ' ').trim();
}
