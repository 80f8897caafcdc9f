import type { SQLiteStore } from 'agent-ops-store';
import { byId, el, errorText, rowsTable, show } from './dom.js';

/** A question from the seed spec (ARCH-001), with the SQL the README gives for it. */
interface SeedQuestion {
  readonly question: string;
  readonly sql: string;
  /** Bound parameters, read from the store when asked. */
  readonly params?: (store: SQLiteStore) => Promise<{ values: string[]; note: string } | null>;
}

/** The seed's three debugging questions, as the README shows them; the mission asked about is the latest one, bound as a parameter. */
export const SEED_QUESTIONS: readonly SeedQuestion[] = [
  {
    question: 'What tools did the planning phase use?',
    sql: `SELECT tool_name, COUNT(*)
FROM tool_calls
JOIN missions ON tool_calls.mission_id = missions.id
WHERE missions.phase = 'PLANNING'
GROUP BY tool_name;`,
  },
  {
    question: 'Why did the agent make decision X?',
    sql: `SELECT decision_type, rationale, timestamp
FROM decisions
WHERE mission_id = (SELECT id FROM missions WHERE mission_uuid = ?)
ORDER BY timestamp;`,
    params: async (store) => {
      const [latest] = await store.query<{ mission_uuid: string }>(
        'SELECT mission_uuid FROM missions WHERE id IN (SELECT mission_id FROM decisions) ORDER BY id DESC LIMIT 1',
      );
      return latest ? { values: [latest.mission_uuid], note: `? = '${latest.mission_uuid}' (the latest mission with decisions)` } : null;
    },
  },
  {
    question: 'Show me all failed tool calls in the last hour',
    sql: `SELECT * FROM tool_calls
WHERE success = 0
  AND timestamp > datetime('now', '-1 hour');`,
  },
];

/** Makes one button per question; each shows its SQL and its result. */
export function setUpSeedQuestions(store: () => SQLiteStore): void {
  const buttons = byId('seed-buttons');
  const output = byId('seed-output');
  for (const q of SEED_QUESTIONS) {
    const button = el('button', { type: 'button' }, q.question);
    button.addEventListener('click', async () => {
      const s = store();
      const bound = q.params ? await q.params(s) : null;
      const parts: HTMLElement[] = [el('h3', {}, q.question), el('pre', { class: 'sql' }, el('code', {}, q.sql))];
      if (q.params && !bound) {
        show(output, ...parts, el('p', { class: 'empty' }, 'No mission has decisions yet: run the sample mission first.'));
        return;
      }
      if (bound) parts.push(el('p', { class: 'muted' }, bound.note));
      try {
        const rows = await s.query(q.sql, bound?.values ?? []);
        show(
          output,
          ...parts,
          rowsTable(rows.slice(0, 500)),
          el('p', { class: 'muted', role: 'status' }, `${rows.length} row${rows.length === 1 ? '' : 's'}`),
        );
      } catch (error) {
        show(output, ...parts, el('p', { class: 'error', role: 'alert' }, errorText(error)));
      }
    });
    buttons.append(button);
  }
}
