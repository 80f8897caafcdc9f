import { ENGINE_MAX_BYTES, schemaMigrations } from 'agent-ops-store';
import { inspectFsLog } from 'agent-ops-store/adapters/fs';
import type { Command } from '../command.js';
import { EXIT, usageError } from '../exit-codes.js';
import { openReader, sizeOnDisk, storePath, withStore } from '../open-store.js';

/** `agent-ops check <db>`: integrity, log health, schema version, size and size limit. */
export const checkCommand: Command = {
  name: 'check',
  summary: 'integrity check, log health, schema version, size and size limit',
  help: `Usage: agent-ops check <db> [--json]

Runs SQLite's integrity check and foreign key check on the store as a reader
sees it (beside any writer), and reports the log's health (its intact records,
and any damage: a torn last append, which the writer drops on open, or
corrupt acknowledged records), the schema version against the newest this
agent-ops knows, the size on disk, and the size limit: past it the store
refuses writes with FULL (ENGINE_MAX_BYTES, or SQLite's page size x max page
count when that is lower). Nothing is locked or repaired. Exit 65 when a check fails or the
log is corrupt.

Options:
  --json       one JSON object
  -h, --help   show this help`,
  options: { json: { type: 'boolean' } },
  async run({ positionals, values, io }) {
    if (positionals.length !== 1) throw usageError('check takes one <db>');
    const path = storePath(positionals);
    const logWarnings: string[] = [];
    const found = await withStore(
      openReader(path, (message) => logWarnings.push(message)),
      async (store) => {
        const one = async <T>(sql: string) => ((await store.query(sql))[0] ?? {}) as T;
        return {
          integrity: (await store.query<{ integrity_check: string }>('PRAGMA integrity_check')).map((r) => r.integrity_check),
          foreignKeyViolations: (await store.query('PRAGMA foreign_key_check')).length,
          schemaVersion: (await one<{ user_version: number }>('PRAGMA user_version')).user_version,
          pageSize: (await one<{ page_size: number }>('PRAGMA page_size')).page_size,
          maxPageCount: (await one<{ max_page_count: number }>('PRAGMA max_page_count')).max_page_count,
          pageCount: (await one<{ page_count: number }>('PRAGMA page_count')).page_count,
        };
      },
    );
    const size = await sizeOnDisk(path);
    const log = await inspectFsLog(path);
    const logOk = log.damage === null || log.damage.kind === 'torn';
    const ok = found.integrity.length === 1 && found.integrity[0] === 'ok' && found.foreignKeyViolations === 0 && logOk;
    const report = {
      ok,
      integrity: found.integrity,
      foreignKeyViolations: found.foreignKeyViolations,
      log: {
        bytes: log.bytes,
        records: log.records,
        damage: log.damage,
        healthy: log.damage === null && logWarnings.length === 0,
        warnings: logWarnings,
      },
      schemaVersion: found.schemaVersion,
      newestKnownSchemaVersion: schemaMigrations.length,
      sizeOnDiskBytes: size.total,
      snapshotBytes: size.snapshot,
      databaseBytes: found.pageSize * found.pageCount,
      // What the store itself enforces (FULL): the engine's limit, unless SQLite's own is lower.
      sizeLimitBytes: Math.min(ENGINE_MAX_BYTES, found.pageSize * found.maxPageCount),
    };
    const used = ((100 * report.databaseBytes) / report.sizeLimitBytes).toFixed(1);
    if (values.json === true) await io.out(`${JSON.stringify(report, null, 2)}\n`);
    else {
      await io.out(
        [
          `integrity: ${found.integrity.join('; ')}`,
          `foreign keys: ${found.foreignKeyViolations === 0 ? 'ok' : `${found.foreignKeyViolations} violations`}`,
          `log: ${log.bytes} bytes, ${log.records} records, ${describeLog(log.damage, logWarnings)}`,
          `schema version: ${found.schemaVersion} (newest known: ${schemaMigrations.length})`,
          `size on disk: ${size.total} bytes (snapshot ${size.snapshot}, log ${size.log})`,
          `size limit: ${report.sizeLimitBytes} bytes; the database is ${report.databaseBytes} bytes, ${used}% of it (writes past it are refused with FULL)`,
          '',
        ].join('\n'),
      );
    }
    return ok ? EXIT.OK : EXIT.DATA;
  },
};

function describeLog(damage: { kind: string; offset: number; reason: string } | null, warnings: readonly string[]): string {
  if (damage?.kind === 'torn')
    return `torn last append at byte ${damage.offset} (${damage.reason}): unacknowledged, dropped when the writer opens`;
  if (damage) return `${damage.kind} at byte ${damage.offset}: ${damage.reason}`;
  return warnings.length === 0 ? 'healthy' : `warnings: ${warnings.join('; ')}`;
}
