import type { Row, SQLiteStore } from 'agent-ops-store';
import type { Command } from '../command.js';
import { EXIT, usageError } from '../exit-codes.js';
import { openReader, storePath } from '../open-store.js';
import { recordLine } from '../rows.js';

const FOLLOWED = ['tool_calls', 'decisions'] as const;

/** `agent-ops tail <db> [--follow]`: tool calls and decisions as NDJSON, as they are committed. */
export const tailCommand: Command = {
  name: 'tail',
  summary: 'print the latest tool calls and decisions as NDJSON; --follow for new ones',
  help: `Usage: agent-ops tail <db> [--follow] [--lines <n>]

Prints the last <n> tool calls and decisions (10 by default), oldest first,
one line each: {"table":"tool_calls","row":{...}}. With --follow it then
prints each new one as the writer commits it (read from the change feed of a
reader, beside the writer) until interrupted.

Options:
  -f, --follow       keep printing new rows
  -n, --lines <n>    how many to print first (default 10)
  -h, --help         show this help`,
  options: { follow: { type: 'boolean', short: 'f' }, lines: { type: 'string', short: 'n' } },
  async run({ positionals, values, io }) {
    if (positionals.length !== 1) throw usageError('tail takes one <db>');
    const lines = values.lines === undefined ? 10 : Number(values.lines);
    if (!Number.isSafeInteger(lines) || lines < 0) throw usageError(`--lines takes an integer >= 0, got '${String(values.lines)}'`);
    const path = storePath(positionals);
    const store = await openReader(path, io.err);
    try {
      const last: Record<string, number> = {};
      // Subscribed before the first read: a commit in between is printed by the first catch-up.
      let chain: Promise<void> = Promise.resolve();
      let failure: unknown = null;
      const catchUp = () => {
        chain = chain
          .then(() => printNew(store, last, io.out))
          .catch((error: unknown) => {
            failure ??= error;
          });
      };
      const off = values.follow === true ? store.subscribe(catchUp) : () => undefined;
      const recent: { table: string; row: Row }[] = [];
      for (const table of FOLLOWED) {
        const rows = await store.query(`SELECT * FROM (SELECT * FROM ${table} ORDER BY id DESC LIMIT ?) ORDER BY id`, [lines]);
        const [{ top }] = (await store.query<{ top: number | null }>(`SELECT max(id) AS top FROM ${table}`)) as [{ top: number | null }];
        last[table] = Math.max(top ?? 0, ...rows.map((r) => Number(r.id)));
        recent.push(...rows.map((row) => ({ table, row })));
      }
      recent.sort((a, b) => String(a.row.timestamp).localeCompare(String(b.row.timestamp)));
      for (const { table, row } of recent) await io.out(recordLine(table, row));
      if (values.follow !== true) return EXIT.OK;
      catchUp();
      await untilStopped(() => failure);
      off();
      await chain;
      if (failure) throw failure;
      return EXIT.OK;
    } finally {
      await store.close();
    }
  },
};

/** Prints the rows committed since the ids in `last`, table by table, and moves `last` on. */
async function printNew(store: SQLiteStore, last: Record<string, number>, out: (text: string) => Promise<void>): Promise<void> {
  for (const table of FOLLOWED) {
    const rows = await store.query(`SELECT * FROM ${table} WHERE id > ? ORDER BY id`, [last[table]!]);
    for (const row of rows) {
      await out(recordLine(table, row));
      last[table] = Number(row.id);
    }
  }
}

/** Resolves on SIGINT or SIGTERM, when stdout closes, or once `failed()` returns an error; keeps the process alive till then. */
function untilStopped(failed: () => unknown): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (failed()) stop();
    }, 200);
    const stop = () => {
      clearInterval(timer);
      process.off('SIGINT', stop).off('SIGTERM', stop);
      process.stdout.off('error', stop);
      resolve();
    };
    process.on('SIGINT', stop).on('SIGTERM', stop);
    process.stdout.on('error', stop);
  });
}
