import type { Command } from '../command.js';
import { EXIT, usageError } from '../exit-codes.js';
import { openReader, sizeOnDisk, storePath, withStore } from '../open-store.js';
import { table } from '../rows.js';

/** `agent-ops stats <db>`: missions, tool calls and size at a glance. */
export const statsCommand: Command = {
  name: 'stats',
  summary: 'missions by status and phase, tool calls per tool, size on disk and log length',
  help: `Usage: agent-ops stats <db> [--json]

Prints missions by status and by phase; tool calls per tool with failures and
p50/p95 duration in ms; the size on disk (snapshot + log) and the log's length
in bytes. Opens the store as a reader, so it works while an agent writes.

Options:
  --json       one JSON object instead of tables
  -h, --help   show this help`,
  options: { json: { type: 'boolean' } },
  async run({ positionals, values, io }) {
    if (positionals.length !== 1) throw usageError('stats takes one <db>');
    const path = storePath(positionals);
    const stats = await withStore(openReader(path, io.err), async (store) => ({
      missionsByStatus: await store.query<{ status: string; missions: number }>(
        'SELECT status, count(*) AS missions FROM missions GROUP BY status ORDER BY status',
      ),
      missionsByPhase: await store.query<{ phase: string; missions: number }>(
        'SELECT phase, count(*) AS missions FROM missions GROUP BY phase ORDER BY phase',
      ),
      toolCalls: await store.toolCalls.stats(),
    }));
    const size = await sizeOnDisk(path);
    const report = { ...stats, sizeOnDiskBytes: size.total, snapshotBytes: size.snapshot, logBytes: size.log };
    if (values.json === true) {
      await io.out(`${JSON.stringify(report, null, 2)}\n`);
      return EXIT.OK;
    }
    const tools = stats.toolCalls.map((t) => ({
      tool: t.toolName,
      calls: t.calls,
      failures: t.failures,
      p50_ms: t.p50Ms,
      p95_ms: t.p95Ms,
    }));
    await io.out(
      [
        'Missions by status',
        table(stats.missionsByStatus),
        'Missions by phase',
        table(stats.missionsByPhase),
        'Tool calls',
        table(tools),
        `Size on disk: ${size.total} bytes (snapshot ${size.snapshot}, log ${size.log})`,
        `Log length: ${size.log} bytes`,
        '',
      ].join('\n'),
    );
    return EXIT.OK;
  },
};
