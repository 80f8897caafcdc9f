import type { Command } from '../command.js';
import { EXIT, usageError } from '../exit-codes.js';
import { openReader, storePath, withStore } from '../open-store.js';
import { recordLine } from '../rows.js';
import { timeArg } from '../time-arg.js';

// The column that says when a row was written, by preference; a table without one is exported
// whole, or left out with --since.
const TIME_COLUMNS = ['timestamp', 'updated_at', 'started_at', 'created_at'];

/** `agent-ops export <db> --ndjson`: every row of every table, one per line. */
export const exportCommand: Command = {
  name: 'export',
  summary: 'stream every row as NDJSON, one record per line with its table',
  help: `Usage: agent-ops export <db> --ndjson [--since <time>]

Streams every row of every table to stdout, one line each:
  {"table":"tool_calls","row":{"id":1,"mission_id":1,...}}
for bulk loads elsewhere. Tables come one after another (missions first);
each is read as the reader sees it then, beside any writer.

Options:
  --ndjson          the format (required; the only one so far)
  --since <time>    only rows written at or after <time>: a duration back
                    from now (30d, 12h, 90m) or an ISO 8601 time. The row's
                    time is its timestamp, updated_at, started_at or
                    created_at column; tables without one are left out.
  -h, --help        show this help`,
  options: { ndjson: { type: 'boolean' }, since: { type: 'string' } },
  async run({ positionals, values, io }) {
    if (positionals.length !== 1) throw usageError('export takes one <db>');
    if (values.ndjson !== true) throw usageError('export needs --ndjson (the only format so far)');
    const path = storePath(positionals);
    await withStore(openReader(path, io.err), async (store) => {
      const since = typeof values.since === 'string' ? timeArg('--since', values.since, store.now()) : null;
      const tables = await store.query<{ name: string }>(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name <> 'missions', name",
      );
      for (const { name } of tables) {
        const quoted = `"${name.replaceAll('"', '""')}"`;
        const columns = (await store.query<{ name: string }>('SELECT name FROM pragma_table_info(?)', [name])).map((c) => c.name);
        const timeColumn = TIME_COLUMNS.find((c) => columns.includes(c));
        if (since !== null && !timeColumn) continue;
        const rows =
          since === null
            ? store.iterate(`SELECT * FROM ${quoted}`)
            : store.iterate(`SELECT * FROM ${quoted} WHERE "${timeColumn}" >= ?`, [since]);
        for await (const row of rows) await io.out(recordLine(name, row));
      }
    });
    return EXIT.OK;
  },
};
