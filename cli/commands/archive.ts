import { openStore, storeArchiveSink } from 'agent-ops-store';
import { fsAdapter } from 'agent-ops-store/adapters/fs';
import type { Command } from '../command.js';
import { EXIT, usageError } from '../exit-codes.js';
import { count } from '../io.js';
import { ndjsonArchiveSink } from '../ndjson-archive.js';
import { openWriter, sizeOnDisk, storePath, withStore } from '../open-store.js';
import { table } from '../rows.js';
import { timeArg } from '../time-arg.js';

/** `agent-ops archive <db> --older-than 30d --to archive.sqlite`: move old finished missions out. */
export const archiveCommand: Command = {
  name: 'archive',
  summary: 'move finished missions older than a cutoff into an archive, then compact',
  help: `Usage: agent-ops archive <db> --older-than <30d> --to <file.sqlite | file.ndjson> [--dry-run]

Moves finished missions (completed, failed, cancelled) that finished before
the cutoff, with every row that references them, into an archive; then
deletes them from the store in one transaction and compacts it (VACUUM), so
the file shrinks. Nothing is deleted unless the archive was written, fsynced
and read back equal. Run after run may use the same archive: a .sqlite
archive is a store of its own (rows keep their ids); an .ndjson archive gets
lines appended, in the format of "export --ndjson".

Options:
  --older-than <t>  the cutoff: a duration back from now (30d, 12h, 2w) or an
                    ISO 8601 time
  --to <file>       the archive: .sqlite (or .db) or .ndjson
  --dry-run         print the missions that would move; write nothing
  -h, --help        show this help

Takes the writer's lock: exit 75 while another process holds it.`,
  options: { 'older-than': { type: 'string' }, to: { type: 'string' }, 'dry-run': { type: 'boolean' } },
  async run({ positionals, values, io }) {
    if (positionals.length !== 1) throw usageError('archive takes one <db>');
    const olderThan = values['older-than'];
    if (typeof olderThan !== 'string') throw usageError('archive needs --older-than, e.g. --older-than 30d');
    const dryRun = values['dry-run'] === true;
    const to = values.to;
    if (typeof to !== 'string' && !dryRun) throw usageError('archive needs --to <file.sqlite | file.ndjson>');
    const sink = typeof to === 'string' ? sinkFor(to) : undefined;
    const path = storePath(positionals);
    const before = await sizeOnDisk(path);
    const result = await withStore(openWriter(path, io.err), (store) =>
      store.archive({ olderThan: timeArg('--older-than', olderThan, store.now()), dryRun, ...(sink && { to: sink }) }),
    );
    const rowCount = Object.values(result.rows).reduce((sum, n) => sum + n, 0);
    if (dryRun) {
      await io.out(table(result.missions.map((uuid) => ({ mission: uuid }))));
      io.err(`would move ${count(result.missions.length, 'mission')} (${count(rowCount, 'row')}) finished before ${result.cutoff}`);
      return EXIT.OK;
    }
    const after = await sizeOnDisk(path);
    io.err(
      `moved ${count(result.missions.length, 'mission')} (${count(rowCount, 'row')}) finished before ${result.cutoff} to ${to}; ` +
        `store ${before.total} -> ${after.total} bytes on disk`,
    );
    return EXIT.OK;
  },
};

function sinkFor(to: string) {
  if (/\.ndjson$/i.test(to)) return ndjsonArchiveSink(to);
  if (/\.(sqlite3?|db)$/i.test(to)) {
    return storeArchiveSink(to, () => openStore({ adapter: fsAdapter(to, { lock: 'fail' }), onWarning: () => undefined }));
  }
  throw usageError(`--to must name a .sqlite, .db or .ndjson file, got '${to}'`);
}
