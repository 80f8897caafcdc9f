import type { Command } from '../command.js';
import { EXIT, usageError } from '../exit-codes.js';
import { openWriter, sizeOnDisk, storePath, withStore } from '../open-store.js';

/** `agent-ops vacuum <db>`: rebuild the database to reclaim free pages. */
export const vacuumCommand: Command = {
  name: 'vacuum',
  summary: 'compact the store (VACUUM) and checkpoint it',
  help: `Usage: agent-ops vacuum <db>

Rebuilds the database without its free pages (SQLite's VACUUM) and writes it
as a new snapshot, so the file shrinks after deletions. Takes the writer's
lock: exit 75 while another process holds it.

Options:
  -h, --help   show this help`,
  options: {},
  async run({ positionals, io }) {
    if (positionals.length !== 1) throw usageError('vacuum takes one <db>');
    const path = storePath(positionals);
    const before = await sizeOnDisk(path);
    await withStore(openWriter(path, io.err), (store) => store.run('VACUUM'));
    const after = await sizeOnDisk(path);
    io.err(`vacuumed ${path}: ${before.total} -> ${after.total} bytes on disk`);
    return EXIT.OK;
  },
};
