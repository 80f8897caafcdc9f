import type { Command } from '../command.js';
import { EXIT, usageError } from '../exit-codes.js';
import { openWriter, sizeOnDisk, storePath, withStore } from '../open-store.js';

/** `agent-ops checkpoint <db>`: fold the log into the snapshot. */
export const checkpointCommand: Command = {
  name: 'checkpoint',
  summary: 'fold the log into a new snapshot',
  help: `Usage: agent-ops checkpoint <db>

Writes the database as a new snapshot and drops the log records it covers,
so the next open replays nothing. Takes the writer's lock: exit 75 while
another process holds it (that process checkpoints on its own).

Options:
  -h, --help   show this help`,
  options: {},
  async run({ positionals, io }) {
    if (positionals.length !== 1) throw usageError('checkpoint takes one <db>');
    const path = storePath(positionals);
    const before = await sizeOnDisk(path);
    await withStore(openWriter(path, io.err), (store) => store.checkpoint());
    const after = await sizeOnDisk(path);
    io.err(`checkpointed ${path}: log ${before.log} -> ${after.log} bytes`);
    return EXIT.OK;
  },
};
