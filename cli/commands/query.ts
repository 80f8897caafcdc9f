import { isStoreError } from 'agent-ops-store';
import type { Command } from '../command.js';
import { EXIT, usageError } from '../exit-codes.js';
import { openReader, openWriter, storePath, withStore } from '../open-store.js';
import { formatRows, type RowFormat } from '../rows.js';

/** `agent-ops query <db> "<sql>"`: one SQL statement, rows to stdout. */
export const queryCommand: Command = {
  name: 'query',
  summary: 'run one SQL statement and print its rows (read-only unless --write)',
  help: `Usage: agent-ops query <db> "<sql>" [--json | --ndjson | --csv] [--write]

Runs one SQL statement and prints its rows: an aligned table by default.
The store is opened as a reader, beside any process writing it; a statement
that writes is refused (exit 64) unless --write is given, which takes the
writer's lock (exit 75 while another process holds it).

Options:
  --json       a JSON array of rows
  --ndjson     one JSON object per line
  --csv        CSV with a header row
  --write      open as the writer and allow statements that write
  -h, --help   show this help

Bytes print as {"$base64": "..."} in JSON; integers beyond 2^53 as {"$int": "..."}.`,
  options: {
    json: { type: 'boolean' },
    ndjson: { type: 'boolean' },
    csv: { type: 'boolean' },
    write: { type: 'boolean' },
  },
  async run({ positionals, values, io }) {
    if (positionals.length !== 2) throw usageError('query takes <db> and one "<sql>" statement');
    const path = storePath(positionals);
    const sql = positionals[1]!;
    const formats = (['json', 'ndjson', 'csv'] as const).filter((f) => values[f] === true);
    if (formats.length > 1) throw usageError(`choose one output format, not --${formats.join(' and --')}`);
    const format: RowFormat = formats[0] ?? 'table';
    const open = values.write === true ? openWriter(path, io.err) : openReader(path, io.err);
    const rows = await withStore(open, (store) =>
      store.query(sql).catch((error: unknown) => {
        if (isStoreError(error, 'READ_ONLY')) throw usageError('the statement writes: pass --write to run it as the writer');
        throw error;
      }),
    );
    await io.out(formatRows(rows, format, io.color));
    return EXIT.OK;
  },
};
