/**
 * agent-ops: inspect and maintain an agent-ops-store file from the shell. Data goes to stdout,
 * messages and progress to stderr; exit codes follow sysexits.h (see exit-codes.ts).
 *
 *   agent-ops <command> [options]    agent-ops <command> --help
 */
import { parseArgs } from 'node:util';
import type { Command } from './command.js';
import { archiveCommand } from './commands/archive.js';
import { checkCommand } from './commands/check.js';
import { checkpointCommand } from './commands/checkpoint.js';
import { exportCommand } from './commands/export.js';
import { exportJsonCommand } from './commands/export-json.js';
import { importJsonCommand } from './commands/import-json.js';
import { queryCommand } from './commands/query.js';
import { statsCommand } from './commands/stats.js';
import { tailCommand } from './commands/tail.js';
import { vacuumCommand } from './commands/vacuum.js';
import { EXIT, exitCodeOf, oneLine, usageError } from './exit-codes.js';
import { type Io, processIo } from './io.js';

const COMMANDS: readonly Command[] = [
  queryCommand,
  statsCommand,
  importJsonCommand,
  exportJsonCommand,
  exportCommand,
  archiveCommand,
  checkCommand,
  vacuumCommand,
  checkpointCommand,
  tailCommand,
];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: agent-ops <command> [options]',
    '',
    'Inspect and maintain an agent-ops-store file. Reading commands open the store',
    'as a reader and work while an agent writes it.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run "agent-ops <command> --help" for its options.',
    'Exit codes: 0 ok, 64 bad usage, 65 bad input data (also a store from a newer',
    'version), 66 missing store or input file, 74 I/O error, 75 store locked by a',
    'writer (try again later).',
    '',
  ].join('\n');
}

/** Runs one command line; resolves with the exit code. */
async function main(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === undefined) {
      io.err(mainHelp());
      return EXIT.USAGE;
    }
    await io.out(mainHelp());
    return EXIT.OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw usageError(`unknown command '${name}'; run agent-ops --help`);
  const { values, positionals } = parseArgs({
    args: [...rest],
    options: { ...command.options, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) {
    await io.out(`${command.help}\n`);
    return EXIT.OK;
  }
  return command.run({ positionals, values, io });
}

const io = processIo();
let code: number;
try {
  code = await main(process.argv.slice(2), io);
} catch (error) {
  io.err(`agent-ops: ${oneLine(error)}`);
  code = exitCodeOf(error);
}
// Exit now: nothing may keep a finished command alive, and stdout is flushed (pipes and files
// are written synchronously on POSIX).
process.exit(code);
