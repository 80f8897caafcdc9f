import type { ParseArgsConfig } from 'node:util';
import type { Io } from './io.js';

/** The parsed arguments of one command. */
export interface CommandInput {
  readonly positionals: readonly string[];
  readonly values: Readonly<Record<string, string | boolean | string[] | boolean[] | undefined>>;
  readonly io: Io;
}

/** One `agent-ops` command: its name, help text, options (node:util parseArgs) and what it does. */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The full `--help` text. */
  readonly help: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  /** Runs the command; resolves with the exit code. */
  run(input: CommandInput): Promise<number>;
}
