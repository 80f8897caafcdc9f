import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type ArchiveSink,
  exportLegacyJson,
  importLegacyJson,
  importLegacyMission,
  type LegacyMissionDocument,
  openStore,
  type SQLiteStore,
  storeArchiveSink,
} from '../../src/index.js';
import type { AdapterHarness, HarnessFactory } from './harness.js';
import { dump, rejection, TABLES, useStoreFixture } from './store-fixture.js';

/** A legacy mission file as the migration plan shows it, with every list filled. */
export function legacyMission(
  uuid: string,
  overrides: Partial<Record<keyof LegacyMissionDocument, unknown>> = {},
): Record<string, unknown> {
  return {
    mission_id: uuid,
    phase: 'CODING',
    status: 'completed',
    created_at: '2026-10-01T12:00:00Z',
    completed_at: '2026-10-01T13:00:00.250Z',
    metadata: { goal: `ship ${uuid}` },
    tool_calls: [
      {
        tool: 'read_file',
        args: { path: 'a.ts' },
        result: 'text',
        ts: '2026-10-01T12:00:05Z',
        duration_ms: 12,
        ok: true,
        error: null,
        agent: 'coder',
      },
      {
        tool: 'run_tests',
        args: {},
        result: null,
        ts: '2026-10-01T12:01:00+02:00',
        duration_ms: null,
        ok: false,
        error: 'boom',
        agent: null,
      },
    ],
    decisions: [{ type: 'choose_tool', rationale: 'grep is enough', ts: '2026-10-01T12:00:04Z', agent: 'planner' }],
    playbook_runs: [
      { name: 'tdd', phase: 'CODING', started_at: '2026-10-01T12:00:00Z', completed_at: '2026-10-01T12:30:00Z', success: true },
      { name: 'lint', phase: 'CODING', started_at: '2026-10-01T12:31:00Z', completed_at: null, success: null },
    ],
    memory: {
      plan: { value: { steps: [1, 2] }, ts: '2026-10-01T12:00:00Z', ttl: 3600 },
      notes: { value: 'x', ts: '2026-10-01T12:00:01Z', ttl: null },
    },
    ...overrides,
  };
}

/** Every row of the five tables with the store's own ids replaced by the mission's uuid: what must survive export and import. */
export async function portableRows(store: SQLiteStore): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  out.missions = await store.query(
    'SELECT mission_uuid, phase, status, created_at, completed_at, metadata FROM missions ORDER BY mission_uuid',
  );
  for (const table of TABLES.slice(1)) {
    const rows = await store.query(
      // Memory is an object in the legacy layout: its rows have no order but their keys'.
      `SELECT m.mission_uuid AS mission, t.* FROM ${table} t JOIN missions m ON m.id = t.mission_id ORDER BY m.mission_uuid, ${table === 'agent_memory' ? 't.key' : 't.id'}`,
    );
    out[table] = rows.map(({ id: _id, mission_id: _mid, ...rest }) => rest);
  }
  return out;
}

/**
 * importLegacyJson / exportLegacyJson, store.archive and retention, the same on every adapter:
 * `legacyArchiveSuite('memory (Node)', memoryHarness)`.
 */
export function legacyArchiveSuite(name: string, factory: HarnessFactory): void {
  describe(`legacy JSON, archive and retention: ${name}`, () => {
    const fixture = useStoreFixture(factory);
    const extra: AdapterHarness[] = [];
    afterEach(async () => {
      for (const harness of extra.splice(0)) await harness.destroy();
    });
    /** A second storage location, e.g. an archive. */
    const another = async () => {
      const harness = await factory();
      extra.push(harness);
      return harness;
    };

    it('imports a legacy mission with its original timestamps, and exports the same document back', async () => {
      const store = await fixture.fresh();
      const doc = legacyMission('abc-123', { status: 'done' });
      expect(await importLegacyMission(store, { source: 'abc-123.json', document: doc, fileUuid: 'abc-123' })).toBe('imported');
      const mission = await store.missions.get('abc-123');
      expect(mission).toMatchObject({
        status: 'completed',
        createdAt: '2026-10-01 12:00:00.000Z',
        completedAt: '2026-10-01 13:00:00.250Z',
      });
      const calls = await store.toolCalls.list({ mission: 'abc-123' });
      expect(calls.map((c) => [c.toolName, c.timestamp, c.success, c.errorMessage])).toEqual([
        ['run_tests', '2026-10-01 10:01:00.000Z', false, 'boom'],
        ['read_file', '2026-10-01 12:00:05.000Z', true, null],
      ]);
      const [plan] = await store.query<{ expires_at: string }>("SELECT expires_at FROM agent_memory WHERE key = 'plan'");
      expect(plan!.expires_at).toBe('2026-10-01 13:00:00.000Z');
      const exported = [];
      for await (const item of exportLegacyJson(store)) exported.push(item);
      expect(exported).toHaveLength(1);
      expect(exported[0]!.uuid).toBe('abc-123');
      expect(exported[0]!.document).toMatchObject({
        mission_id: 'abc-123',
        status: 'completed',
        created_at: '2026-10-01T12:00:00.000Z',
        tool_calls: [
          { tool: 'read_file', args: { path: 'a.ts' }, result: 'text', ok: true, agent: 'coder', duration_ms: 12 },
          { tool: 'run_tests', ts: '2026-10-01T10:01:00.000Z', ok: false, error: 'boom' },
        ],
        playbook_runs: [
          { name: 'tdd', success: true },
          { name: 'lint', success: null, completed_at: null },
        ],
        memory: { plan: { value: { steps: [1, 2] }, ttl: 3600 }, notes: { value: 'x', ttl: null } },
      });
    });

    it('is idempotent: the same document again is skipped, and a different one under a taken uuid is a CONFLICT that changes nothing', async () => {
      const store = await fixture.fresh();
      await importLegacyMission(store, { source: 'a.json', document: legacyMission('m-1') });
      const before = await dump(store);
      expect(await importLegacyMission(store, { source: 'a.json', document: legacyMission('m-1') })).toBe('skipped');
      const clash = await rejection(importLegacyMission(store, { source: 'b.json', document: legacyMission('m-1', { phase: 'REVIEW' }) }));
      expect(clash.code).toBe('CONFLICT');
      expect(clash.message).toContain('b.json');
      expect(clash.message).toContain('phase');
      expect(await dump(store)).toEqual(before);
    });

    it('refuses a bad document naming its source and first bad field, rolls it back, and imports the others', async () => {
      const store = await fixture.fresh();
      const bad = legacyMission('m-bad');
      (bad.tool_calls as Record<string, unknown>[])[1]!.ts = 'yesterday';
      (bad.decisions as Record<string, unknown>[])[0]!.agent = 7;
      const progress: string[] = [];
      const report = await importLegacyJson(
        store,
        [
          { source: 'one.json', document: legacyMission('m-1') },
          { source: 'bad.json', document: bad },
          { source: 'named.json', document: legacyMission('m-2'), fileUuid: 'other' },
          { source: 'status.json', document: legacyMission('m-3', { status: 'weird' }) },
          { source: 'two.json', document: legacyMission('m-4', { tool_calls: [], memory: undefined }) },
        ],
        { onProgress: ({ source, outcome }) => progress.push(`${source} ${outcome}`) },
      );
      expect(report.imported).toBe(2);
      expect(report.refused.map((r) => [r.source, r.error.code])).toEqual([
        ['bad.json', 'INVALID_INPUT'],
        ['named.json', 'INVALID_INPUT'],
        ['status.json', 'INVALID_INPUT'],
      ]);
      expect(report.refused[0]!.error.message).toBe("bad.json: tool_calls[1].ts is not a valid ISO 8601 timestamp: 'yesterday'");
      expect(report.refused[1]!.error.message).toContain('mission_id');
      expect(report.refused[2]!.error.message).toContain("'weird'");
      expect(progress).toEqual(['one.json imported', 'bad.json refused', 'named.json refused', 'status.json refused', 'two.json imported']);
      expect((await store.missions.list()).map((m) => m.uuid)).toEqual(['m-1', 'm-4']);
      const [{ n }] = (await store.query('SELECT count(*) AS n FROM tool_calls')) as [{ n: number }];
      expect(n).toBe(2);
    });

    it('export then import into a fresh store gives the same rows in every table', async () => {
      const store = await fixture.fresh();
      await importLegacyJson(store, [{ source: 'a', document: legacyMission('m-a') }]);
      // Rows written through the API, not the importer, survive too.
      const m = await store.missions.create({ phase: 'PLANNING', uuid: 'm-api', metadata: [1, 'two'] });
      await store.missions.setStatus(m.id, 'in_progress');
      await store.toolCalls.record({ mission: m.id, toolName: 'search', args: { q: 'x' }, success: true, toolCallId: 'call_1' });
      const run = await store.playbookRuns.start({ mission: m.id, playbookName: 'tdd', phase: 'CODING' });
      await store.playbookRuns.finish(run.id, { success: false, errorMessage: 'red', metrics: { n: 3 } });
      await store.memory.set(m.id, 'k', null);
      const documents = [];
      for await (const { uuid, document } of exportLegacyJson(store)) {
        // Through text, as the files are.
        documents.push({ source: `${uuid}.json`, document: JSON.parse(JSON.stringify(document)), fileUuid: uuid });
      }
      const copy = await openStore({ adapter: (await another()).open() });
      try {
        const report = await importLegacyJson(copy, documents);
        expect(report).toEqual({ imported: 2, skipped: 0, refused: [] });
        expect(await portableRows(copy)).toEqual(await portableRows(store));
        const again = await importLegacyJson(copy, documents);
        expect(again).toEqual({ imported: 0, skipped: 2, refused: [] });
        const only = [];
        for await (const item of exportLegacyJson(copy, { missions: ['m-api'] })) only.push(item.uuid);
        expect(only).toEqual(['m-api']);
        const missing = await rejection(
          (async () => {
            for await (const _ of exportLegacyJson(copy, { missions: ['nope'] })) break;
          })(),
        );
        expect(missing.code).toBe('NOT_FOUND');
      } finally {
        await copy.close();
      }
    });

    it('archives finished missions older than the cutoff into another store, exactly their rows, then deletes and compacts', async () => {
      const store = await fixture.fresh();
      await importLegacyJson(store, [
        { source: 'old', document: legacyMission('old-1') },
        { source: 'old2', document: legacyMission('old-2', { status: 'failed', completed_at: null }) },
        { source: 'running', document: legacyMission('old-running', { status: 'in_progress', completed_at: null }) },
        {
          source: 'recent',
          document: legacyMission('recent', { created_at: '2026-11-20T00:00:00Z', completed_at: '2026-11-21T00:00:00Z' }),
        },
      ]);
      const before = await dump(store);
      const target = await another();
      const sink = storeArchiveSink('archive', () => openStore({ adapter: target.open() }));
      const olderThan = '2026-11-01T00:00:00Z';

      const dry = await store.archive({ olderThan, dryRun: true });
      expect(dry).toMatchObject({ missions: ['old-1', 'old-2'], deleted: false, rows: { missions: 2, tool_calls: 4, decisions: 2 } });
      expect(await dump(store)).toEqual(before);

      const result = await store.archive({ olderThan, to: sink });
      expect(result).toMatchObject({ missions: ['old-1', 'old-2'], deleted: true, compacted: true, cutoff: '2026-11-01 00:00:00.000Z' });
      const archive = await openStore({ adapter: target.open() });
      try {
        for (const table of TABLES) {
          const moved = before[table]!.filter((row) => {
            const r = row as Record<string, unknown>;
            return table === 'missions' ? r.id === 1 || r.id === 2 : r.mission_id === 1 || r.mission_id === 2;
          });
          expect(await archive.query(`SELECT * FROM ${table} ORDER BY id`), table).toEqual(moved);
          const kept = before[table]!.filter((row) => !moved.includes(row));
          expect(await store.query(`SELECT * FROM ${table} ORDER BY id`), table).toEqual(kept);
        }
      } finally {
        await archive.close();
      }
      // A second run finds nothing more to move.
      expect(await store.archive({ olderThan, to: sink })).toMatchObject({ missions: [], deleted: false });
    });

    it('a run that wrote the archive but stopped before deleting does not block the next, nor doubles a row', async () => {
      const store = await fixture.fresh();
      await importLegacyJson(store, [{ source: 'old', document: legacyMission('old-1') }]);
      const before = await dump(store);
      const target = await another();
      const sink = storeArchiveSink('archive', () => openStore({ adapter: target.open() }));
      const cut: ArchiveSink = { ...sink, read: async () => Promise.reject(new Error('power cut')) };
      const error = await rejection(store.archive({ olderThan: '2026-11-01T00:00:00Z', to: cut }));
      expect(error.code).toBe('IO');
      expect(error.message).toContain('power cut');
      expect(await dump(store)).toEqual(before);
      expect(await store.archive({ olderThan: '2026-11-01T00:00:00Z', to: sink })).toMatchObject({ missions: ['old-1'], deleted: true });
      const archive = await openStore({ adapter: target.open() });
      try {
        for (const table of TABLES) expect(await archive.query(`SELECT * FROM ${table} ORDER BY id`), table).toEqual(before[table]);
      } finally {
        await archive.close();
      }
    });

    it('deletes nothing when the archive reads back different rows', async () => {
      const store = await fixture.fresh();
      await importLegacyJson(store, [{ source: 'old', document: legacyMission('old-1') }]);
      const before = await dump(store);
      const lossy: ArchiveSink = {
        location: 'lossy',
        write: async () => undefined,
        read: async (batch) => ({ ...batch, tables: batch.tables.map((t) => (t.name === 'decisions' ? { ...t, rows: [] } : t)) }),
      };
      const error = await rejection(store.archive({ olderThan: '2026-11-01T00:00:00Z', to: lossy }));
      expect(error.code).toBe('IO');
      expect(error.message).toContain('decisions');
      expect(await dump(store)).toEqual(before);
      expect((await rejection(store.archive({ olderThan: '2026-11-01T00:00:00Z' }))).code).toBe('INVALID_INPUT');
    });

    it('retention deletes finished missions past maxAgeDays by the store clock, and the oldest beyond maxToolCalls, never unfinished ones', async () => {
      let store = await fixture.fresh();
      await importLegacyJson(store, [
        { source: 'a', document: legacyMission('done-sep', { created_at: '2026-09-01T00:00:00Z', completed_at: '2026-09-02T00:00:00Z' }) },
        { source: 'b', document: legacyMission('done-oct', { completed_at: '2026-10-20T00:00:00Z' }) },
        { source: 'c', document: legacyMission('done-nov', { completed_at: '2026-11-25T00:00:00Z' }) },
        {
          source: 'd',
          document: legacyMission('running-old', { created_at: '2026-01-01T00:00:00Z', status: 'in_progress', completed_at: null }),
        },
      ]);
      // The clock says 2026-11-28T12:00Z: 30 days back is 2026-10-29T12:00Z.
      const age = await store.sweepRetention({ maxAgeDays: 30 });
      expect(age).toEqual({ cutoff: '2026-10-29 12:00:00.000Z', deleted: ['done-sep', 'done-oct'], toolCalls: 4 });
      expect((await store.missions.list()).map((m) => m.uuid)).toEqual(['done-nov', 'running-old']);
      // 4 tool calls left; a cap of 2 removes the oldest finished mission only: the running one is kept over the cap.
      const cap = await store.sweepRetention({ maxToolCalls: 1 });
      expect(cap.deleted).toEqual(['done-nov']);
      expect((await store.missions.list()).map((m) => m.uuid)).toEqual(['running-old']);
      expect((await rejection(store.sweepRetention())).code).toBe('INVALID_INPUT');

      // Configured on open: a writer sweeps at once, with the clock it was given.
      await importLegacyJson(store, [{ source: 'e', document: legacyMission('done-late', { completed_at: '2026-11-27T00:00:00Z' }) }]);
      await store.close();
      fixture.setNow(new Date('2026-12-28T00:00:00Z'));
      store = await fixture.open({ retention: { maxAgeDays: 30, sweepIntervalMs: 0 } });
      expect((await store.missions.list()).map((m) => m.uuid)).toEqual(['running-old']);
      expect((await rejection(fixture.open({ retention: { maxAgeDays: -1 } }))).code).toBe('INVALID_INPUT');
    });

    it('an open writer sweeps again on its timer, with the clock of that moment', async () => {
      let store = await fixture.fresh();
      await importLegacyJson(store, [{ source: 'a', document: legacyMission('done', { completed_at: '2026-11-27T00:00:00Z' }) }]);
      await store.close();
      store = await fixture.open({ retention: { maxAgeDays: 30, sweepIntervalMs: 20 } });
      // Not yet 30 days old: the sweep on open keeps it.
      expect((await store.missions.list()).map((m) => m.uuid)).toEqual(['done']);
      fixture.setNow(new Date('2027-01-15T00:00:00Z'));
      await vi.waitFor(async () => expect(await store.missions.list()).toEqual([]), { timeout: 10_000, interval: 20 });
    });
  });
}
