import type { SQLiteStore } from 'agent-ops-store';
import { byId, el, errorText, rowsTable, show } from './dom.js';

const MAX_ROWS = 500;

/**
 * Runs one statement from the console. Read-only unless "Allow writes" is ticked: then it goes
 * through `store.iterate`, which refuses any statement that writes (INVALID_INPUT) before it
 * runs, and streams rows so a huge SELECT shows its first MAX_ROWS without holding the rest.
 * With writes allowed it goes through `store.query`, journaled like any write.
 */
export async function runConsoleQuery(store: SQLiteStore, sql: string, allowWrites: boolean): Promise<void> {
  const output = byId('console-output');
  show(output, el('p', { class: 'muted' }, 'Running…'));
  const started = performance.now();
  try {
    let rows: Record<string, unknown>[];
    let more = false;
    if (allowWrites) {
      rows = await store.query(sql);
    } else {
      rows = [];
      for await (const row of store.iterate(sql, [], { batchSize: 100 })) {
        if (rows.length === MAX_ROWS) {
          more = true;
          break;
        }
        rows.push(row);
      }
    }
    const ms = (performance.now() - started).toFixed(1);
    const shown = rows.slice(0, MAX_ROWS);
    const summary = `${more || rows.length > MAX_ROWS ? `first ${MAX_ROWS} rows` : `${rows.length} row${rows.length === 1 ? '' : 's'}`} in ${ms} ms`;
    show(output, el('p', { class: 'muted', role: 'status' }, summary), rowsTable(shown));
  } catch (error) {
    const hint =
      !allowWrites && (error as { code?: unknown }).code === 'INVALID_INPUT'
        ? ' (the console is read-only: tick "Allow writes" to change data)'
        : '';
    show(output, el('p', { class: 'error', role: 'alert' }, `${errorText(error)}${hint}`));
  }
}

/** Wires the console's form. */
export function setUpConsole(store: () => SQLiteStore): void {
  const form = byId<HTMLFormElement>('console');
  const sql = byId<HTMLTextAreaElement>('sql');
  const allow = byId<HTMLInputElement>('allow-writes');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void runConsoleQuery(store(), sql.value, allow.checked);
  });
  // Ctrl/Cmd+Enter runs the query from the text area, as in most SQL tools.
  sql.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
}
