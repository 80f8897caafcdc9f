import { existsSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ArchiveBatch, ArchiveSink, Row } from 'agent-ops-store';
import { decodeRow, recordLine } from './rows.js';

/**
 * An archive that is an NDJSON file, one {"table", "row"} line per row (the format of `export
 * --ndjson`). Each run appends; `write` resolves once the file (and, when it was new, its folder)
 * is fsynced, and `read` parses the file again from disk. Identical lines count once, so a run
 * that appended but stopped before deleting does not block the next.
 */
export function ndjsonArchiveSink(path: string): ArchiveSink {
  return {
    location: path,
    async write(batch) {
      const created = !existsSync(path);
      const file = await open(path, 'a');
      try {
        const lines = batch.tables.flatMap((table) => table.rows.map((row) => recordLine(table.name, row)));
        await file.writeFile(lines.join(''));
        await file.sync();
      } finally {
        await file.close();
      }
      if (created) await syncFolder(dirname(path));
    },
    async read(batch) {
      const wanted = new Set(batch.missionIds);
      const found = new Map<string, Row[]>(batch.tables.map((t) => [t.name, []]));
      // A run that appended but stopped before deleting left the same lines: count each row once.
      const seen = new Set<string>();
      const lines = (await readFile(path, 'utf8')).split('\n');
      for (const [i, line] of lines.entries()) {
        if (line.trim() === '' || seen.has(line)) continue;
        seen.add(line);
        let record: { table?: unknown; row?: unknown };
        try {
          record = JSON.parse(line) as typeof record;
        } catch (error) {
          throw new Error(`line ${i + 1} of ${path} is not JSON`, { cause: error });
        }
        const table = batch.tables.find((t) => t.name === record.table);
        if (!table || typeof record.row !== 'object' || record.row === null) continue;
        const row = decodeRow(record.row as Record<string, unknown>);
        if (wanted.has(Number(row[table.missionColumn]))) found.get(table.name)!.push(row);
      }
      return { missionIds: batch.missionIds, tables: batch.tables.map((t) => ({ ...t, rows: found.get(t.name)! })) } satisfies ArchiveBatch;
    },
  };
}

/** Makes a new file's directory entry durable. */
async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
