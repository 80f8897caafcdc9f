import type { SQLiteStore } from 'agent-ops-store';
import { byId, el, show } from './dom.js';

/** The counts the page shows at the top, each the answer of one SELECT COUNT(*). */
export const COUNTS = {
  missions: 'SELECT COUNT(*) AS n FROM missions',
  'tool calls': 'SELECT COUNT(*) AS n FROM tool_calls',
  'failed tool calls': 'SELECT COUNT(*) AS n FROM tool_calls WHERE success = 0',
  decisions: 'SELECT COUNT(*) AS n FROM decisions',
  'playbook runs': 'SELECT COUNT(*) AS n FROM playbook_runs',
  'memory entries': 'SELECT COUNT(*) AS n FROM agent_memory',
} as const;

const MAX_WATERFALL_CALLS = 60;

interface MissionRow {
  id: number;
  mission_uuid: string;
  phase: string;
  status: string;
  created_at: string;
  completed_at: string | null;
  calls: number;
  failures: number;
}

/** Redraws every view from the store; `selected` is the mission whose waterfall is shown (default: the latest). */
export async function renderViews(store: SQLiteStore, selected: { uuid: string | null }, onSelect: (uuid: string) => void): Promise<void> {
  await renderCounts(store);
  const missions = await store.query<MissionRow>(
    `SELECT m.id, m.mission_uuid, m.phase, m.status, m.created_at, m.completed_at,
            COUNT(t.id) AS calls, COALESCE(SUM(t.success = 0), 0) AS failures
     FROM missions m LEFT JOIN tool_calls t ON t.mission_id = m.id
     GROUP BY m.id ORDER BY m.id DESC LIMIT 20`,
  );
  const current = missions.find((m) => m.mission_uuid === selected.uuid) ?? missions[0];
  renderMissions(missions, current?.mission_uuid ?? null, onSelect);
  await renderWaterfall(store, current ?? null);
  await renderToolStats(store);
  await renderDecisions(store);
  await renderPlaybooks(store);
  await renderMemory(store);
}

async function renderCounts(store: SQLiteStore): Promise<void> {
  const items: HTMLElement[] = [];
  for (const [label, sql] of Object.entries(COUNTS)) {
    const [row] = await store.query<{ n: number }>(sql);
    items.push(el('div', { class: 'count' }, el('dt', {}, label), el('dd', { 'data-count': label }, String(row?.n ?? 0))));
  }
  show(byId('counts'), ...items);
}

function renderMissions(missions: readonly MissionRow[], current: string | null, onSelect: (uuid: string) => void): void {
  if (missions.length === 0) {
    show(byId('missions'), el('p', { class: 'empty' }, 'No missions yet: press "Run sample mission".'));
    return;
  }
  const list = el('ol', { class: 'missions' });
  for (const m of missions) {
    const terminal = m.status === 'failed' || m.status === 'cancelled' ? m.status : 'completed';
    const path = ['pending', 'in_progress', terminal];
    const at = path.indexOf(m.status);
    const steps = path.map((step, i) => el('li', { class: `step ${i < at ? 'done' : i === at ? 'now' : 'todo'}` }, step.replace('_', ' ')));
    const button = el(
      'button',
      { type: 'button', class: 'mission-pick', 'aria-pressed': String(m.mission_uuid === current), 'data-mission': m.mission_uuid },
      m.mission_uuid,
    );
    button.addEventListener('click', () => onSelect(m.mission_uuid));
    list.append(
      el(
        'li',
        { class: `mission status-${m.status}` },
        button,
        el('span', { class: 'phase' }, m.phase),
        el('span', { class: 'status', 'data-status': m.status }, m.status),
        el('ol', { class: 'lifecycle', 'aria-label': `lifecycle of ${m.mission_uuid}` }, ...steps),
        el('span', { class: 'muted' }, `${m.calls} tool calls, ${m.failures} failed`),
      ),
    );
  }
  show(byId('missions'), list);
}

async function renderWaterfall(store: SQLiteStore, mission: MissionRow | null): Promise<void> {
  const target = byId('waterfall');
  if (!mission) {
    show(target, el('p', { class: 'empty' }, 'No mission to show.'));
    return;
  }
  const calls = await store.query<{
    tool_name: string;
    args: string;
    timestamp: string;
    duration_ms: number | null;
    success: number;
    error_message: string | null;
  }>(
    `SELECT tool_name, args, timestamp, duration_ms, success, error_message FROM tool_calls
     WHERE mission_id = ? ORDER BY timestamp, id LIMIT ${MAX_WATERFALL_CALLS}`,
    [mission.id],
  );
  const title = el('p', { class: 'muted' }, `Mission ${mission.mission_uuid}: ${mission.calls} tool calls`);
  if (calls.length === 0) {
    show(target, title, el('p', { class: 'empty' }, 'No tool calls yet.'));
    return;
  }
  const times = calls.map((c) => Date.parse(c.timestamp.replace(' ', 'T')));
  const start = Math.min(...times);
  const end = Math.max(...calls.map((c, i) => times[i]! + (c.duration_ms ?? 0)));
  const span = Math.max(end - start, 1);
  const rows = calls.map((c, i) => {
    const left = ((times[i]! - start) / span) * 100;
    const width = Math.max(((c.duration_ms ?? 0) / span) * 100, 0.6);
    const label = `${c.tool_name} ${c.duration_ms ?? '?'} ms${c.success ? '' : ' (failed)'}`;
    return el(
      'li',
      { class: c.success ? 'call ok' : 'call failed' },
      el('span', { class: 'call-name', title: c.args }, c.success ? c.tool_name : `✗ ${c.tool_name}`),
      el(
        'span',
        { class: 'call-track' },
        el('span', { class: 'bar', style: `left:${left.toFixed(2)}%;width:${width.toFixed(2)}%`, role: 'img', 'aria-label': label }),
      ),
      el('span', { class: 'call-ms' }, `${c.duration_ms ?? '?'} ms`),
      c.error_message ? el('span', { class: 'call-error' }, c.error_message) : null,
    );
  });
  const more = mission.calls > calls.length ? el('p', { class: 'muted' }, `First ${calls.length} of ${mission.calls} shown.`) : null;
  show(target, title, el('ol', { class: 'waterfall' }, ...rows), ...(more ? [more] : []));
}

async function renderToolStats(store: SQLiteStore): Promise<void> {
  const stats = await store.toolCalls.stats();
  if (stats.length === 0) {
    show(byId('tool-stats'), el('p', { class: 'empty' }, 'No tool calls yet.'));
    return;
  }
  const slowest = Math.max(...stats.map((s) => s.p95Ms ?? 0), 1);
  const rows = stats.map((s) =>
    el(
      'tr',
      {},
      el('th', { scope: 'row' }, s.toolName),
      el('td', {}, String(s.calls)),
      el('td', { class: s.failures > 0 ? 'bad' : '' }, String(s.failures)),
      el('td', {}, s.p50Ms === null ? '–' : `${s.p50Ms} ms`),
      el('td', {}, s.p95Ms === null ? '–' : `${s.p95Ms} ms`),
      el(
        'td',
        { class: 'latency', 'aria-hidden': 'true' },
        el('span', { class: 'p95', style: `width:${(((s.p95Ms ?? 0) / slowest) * 100).toFixed(1)}%` }),
        el('span', { class: 'p50', style: `width:${(((s.p50Ms ?? 0) / slowest) * 100).toFixed(1)}%` }),
      ),
    ),
  );
  show(
    byId('tool-stats'),
    el(
      'div',
      { class: 'table-wrap' },
      el(
        'table',
        {},
        el(
          'thead',
          {},
          el('tr', {}, ...['tool', 'calls', 'failures', 'p50', 'p95', 'p50 / p95'].map((h) => el('th', { scope: 'col' }, h))),
        ),
        el('tbody', {}, ...rows),
      ),
    ),
  );
}

async function renderDecisions(store: SQLiteStore): Promise<void> {
  const rows = await store.query<{ timestamp: string; mission_uuid: string; agent_name: string; decision_type: string; rationale: string }>(
    `SELECT d.timestamp, m.mission_uuid, d.agent_name, d.decision_type, d.rationale
     FROM decisions d JOIN missions m ON m.id = d.mission_id ORDER BY d.id DESC LIMIT 30`,
  );
  if (rows.length === 0) {
    show(byId('decisions'), el('p', { class: 'empty' }, 'No decisions yet.'));
    return;
  }
  show(
    byId('decisions'),
    el(
      'ol',
      { class: 'decisions' },
      ...rows.map((d) =>
        el(
          'li',
          {},
          el(
            'p',
            {},
            el('strong', {}, d.decision_type),
            ' by ',
            el('em', {}, d.agent_name),
            el('span', { class: 'muted' }, ` · ${d.mission_uuid} · ${d.timestamp}`),
          ),
          el('blockquote', {}, d.rationale),
        ),
      ),
    ),
  );
}

async function renderPlaybooks(store: SQLiteStore): Promise<void> {
  const rows = await store.query<{ playbook_name: string; runs: number; finished: number; succeeded: number; running: number }>(
    `SELECT playbook_name, COUNT(*) AS runs, COUNT(success) AS finished, COALESCE(SUM(success), 0) AS succeeded,
            SUM(completed_at IS NULL) AS running
     FROM playbook_runs GROUP BY playbook_name ORDER BY playbook_name`,
  );
  if (rows.length === 0) {
    show(byId('playbooks'), el('p', { class: 'empty' }, 'No playbook runs yet.'));
    return;
  }
  show(
    byId('playbooks'),
    el(
      'ul',
      { class: 'playbooks' },
      ...rows.map((p) => {
        const rate = p.finished === 0 ? 0 : p.succeeded / p.finished;
        const percent = `${Math.round(rate * 100)}%`;
        return el(
          'li',
          {},
          el('span', { class: 'playbook-name' }, p.playbook_name),
          el('meter', { min: '0', max: '1', value: String(rate), 'aria-label': `${p.playbook_name} success rate` }),
          el(
            'span',
            {},
            `${percent} of ${p.finished} finished run${p.finished === 1 ? '' : 's'} succeeded${p.running ? `, ${p.running} running` : ''}`,
          ),
        );
      }),
    ),
  );
}

/** Time until `expiresAt` (ISO text) from now, as "1m 05s", or "expired". */
export function timeToExpiry(expiresAt: string | null, now: number): string {
  if (expiresAt === null) return 'never';
  const left = Math.round((Date.parse(expiresAt.replace(' ', 'T')) - now) / 1000);
  if (left <= 0) return 'expired';
  const minutes = Math.floor(left / 60);
  return minutes > 0 ? `${minutes}m ${String(left % 60).padStart(2, '0')}s` : `${left}s`;
}

/** Redraws the memory entries (their time to expiry counts down). */
export async function renderMemory(store: SQLiteStore): Promise<void> {
  const rows = await store.query<{ mission_uuid: string; key: string; value: string; expires_at: string | null }>(
    `SELECT m.mission_uuid, a.key, a.value, a.expires_at FROM agent_memory a JOIN missions m ON m.id = a.mission_id
     ORDER BY a.id DESC LIMIT 30`,
  );
  if (rows.length === 0) {
    show(byId('memory'), el('p', { class: 'empty' }, 'No memory entries yet.'));
    return;
  }
  const now = store.now().getTime();
  show(
    byId('memory'),
    el(
      'div',
      { class: 'table-wrap' },
      el(
        'table',
        {},
        el('thead', {}, el('tr', {}, ...['mission', 'key', 'value', 'expires in'].map((h) => el('th', { scope: 'col' }, h)))),
        el(
          'tbody',
          {},
          ...rows.map((r) =>
            el(
              'tr',
              {},
              el('td', {}, r.mission_uuid),
              el('td', {}, r.key),
              el('td', { class: 'mono' }, r.value),
              el('td', { 'data-expires': r.expires_at ?? '' }, timeToExpiry(r.expires_at, now)),
            ),
          ),
        ),
      ),
    ),
  );
}
