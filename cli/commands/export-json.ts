import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportLegacyJson } from 'agent-ops-store';
import type { Command } from '../command.js';
import { EXIT, usageError } from '../exit-codes.js';
import { count } from '../io.js';
import { openReader, storePath, withStore } from '../open-store.js';

/** `agent-ops export-json <db> <folder>`: the store back into the legacy JSON layout. */
export const exportJsonCommand: Command = {
  name: 'export-json',
  summary: 'write missions back in the legacy JSON layout',
  help: `Usage: agent-ops export-json <db> <folder> [--mission <uuid>]...

Writes each mission as <folder>/missions/<uuid>.json in the legacy layout of
docs/tasks/ARCH-001_migration_plan.md: the backward-compatibility path, since
import-json of these files gives the same rows. Each mission is read in one
statement, so the store may be written meanwhile. A uuid is percent-encoded
in the file name where it holds characters a file name cannot.

Options:
  --mission <uuid>  only this mission (repeatable)
  -h, --help        show this help`,
  options: { mission: { type: 'string', multiple: true } },
  async run({ positionals, values, io }) {
    if (positionals.length !== 2) throw usageError('export-json takes <db> and <folder>');
    const path = storePath(positionals);
    const folder = join(positionals[1]!, 'missions');
    const missions = values.mission as string[] | undefined;
    await mkdir(folder, { recursive: true });
    const written = await withStore(openReader(path, io.err), async (store) => {
      let count = 0;
      for await (const { uuid, document } of exportLegacyJson(store, missions ? { missions } : {})) {
        const file = join(folder, `${encodeURIComponent(uuid)}.json`);
        // Whole or not at all: a reader of the folder never sees half a file.
        await writeFile(`${file}.tmp`, `${JSON.stringify(document, null, 2)}\n`);
        await rename(`${file}.tmp`, file);
        count++;
      }
      return count;
    });
    io.err(`exported ${count(written, 'mission')} to ${folder}`);
    return EXIT.OK;
  },
};
