import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { importLegacyJson, type LegacyJsonInput } from 'agent-ops-store';
import type { Command } from '../command.js';
import { CliError, EXIT, oneLine, usageError } from '../exit-codes.js';
import { openWriter, storePath, withStore } from '../open-store.js';
import { Progress } from '../progress.js';

/** `agent-ops import-json <db> <file-or-folder>…`: the legacy JSON layout into the store. */
export const importJsonCommand: Command = {
  name: 'import-json',
  summary: 'import legacy JSON mission files (idempotent)',
  help: `Usage: agent-ops import-json <db> <file-or-folder>...

Imports missions in the legacy JSON layout (.agent-state/missions/<uuid>.json,
see docs/tasks/ARCH-001_migration_plan.md). Folders are searched for *.json
files, recursively. Creates the store if it does not exist.

Each file is one transaction. A mission already in the store with the same
content is skipped, so a second run imports nothing new. A file that is not
JSON, does not match the layout (the message names its first bad field), or
whose mission_id is taken by a mission with other content is refused and
rolled back; the others go on, and the exit code is 65. A file without
mission_id takes its uuid from its name. A progress bar shows on stderr
when it is a terminal and there are 100 files or more.

Options:
  -h, --help   show this help`,
  options: {},
  async run({ positionals, io }) {
    if (positionals.length < 2) throw usageError('import-json takes <db> and at least one <file-or-folder>');
    const path = storePath(positionals, true);
    const files: string[] = [];
    for (const input of positionals.slice(1)) files.push(...(await jsonFiles(input)));
    const progress = new Progress(files.length, io.progress);
    const malformed: string[] = [];
    let done = 0;
    async function* documents(): AsyncGenerator<LegacyJsonInput> {
      for (const file of files) {
        let document: unknown;
        try {
          // Editors on Windows may start a UTF-8 file with a byte order mark, which JSON.parse refuses.
          document = JSON.parse((await readFile(file, 'utf8')).replace(/^\uFEFF/, ''));
        } catch (error) {
          if (!(error instanceof SyntaxError)) throw error;
          malformed.push(`agent-ops: ${file}: not JSON: ${oneLine(error)}`);
          progress.update(++done);
          continue;
        }
        const named = document !== null && typeof document === 'object' && 'mission_id' in document;
        yield { source: file, document, ...(!named && { fileUuid: decodeURIComponent(basename(file, '.json')) }) };
      }
    }
    const report = await withStore(openWriter(path, io.err), (store) =>
      importLegacyJson(store, documents(), { onProgress: () => progress.update(++done) }),
    );
    progress.done();
    // After the bar, so no message is drawn over.
    for (const line of malformed) io.err(line);
    for (const { error } of report.refused) io.err(`agent-ops: ${oneLine(error)}`);
    const refused = report.refused.length + malformed.length;
    io.err(`imported ${report.imported}, already present ${report.skipped}, refused ${refused} (of ${files.length} files)`);
    return refused > 0 ? EXIT.DATA : EXIT.OK;
  },
};

/** The .json files at `input`: the file itself, or every one under the folder, sorted; 66 when it does not exist. */
async function jsonFiles(input: string): Promise<string[]> {
  const info = await stat(input).catch(() => null);
  if (!info) throw new CliError(EXIT.NO_INPUT, `no file or folder at ${input}`);
  if (!info.isDirectory()) return [input];
  const entries = await readdir(input, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.json'))
    .map((entry) => join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name))
    .sort();
}
