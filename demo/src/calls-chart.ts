import type { SQLiteStore } from 'agent-ops-store';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { byId, el, show } from './dom.js';

/**
 * Tool calls over time, succeeded and failed, as two stacked-looking series of counts per
 * bucket. The bucket grows with the span shown (a second for a live mission, minutes for hours
 * of generated calls), so the chart never has more than a few hundred points.
 */
export class CallsChart {
  readonly #store: SQLiteStore;
  #plot: uPlot | null = null;
  #width = 0;

  constructor(store: SQLiteStore) {
    this.#store = store;
    window.addEventListener('resize', () => this.#resize());
  }

  /** Re-reads the buckets and redraws. */
  async render(): Promise<void> {
    const target = byId('chart');
    const [range] = await this.#store.query<{ first: number | null; last: number | null }>(
      `SELECT MIN(unixepoch(timestamp)) AS first, MAX(unixepoch(timestamp)) AS last FROM tool_calls`,
    );
    if (!range || range.first === null || range.last === null) {
      this.#plot?.destroy();
      this.#plot = null;
      show(target, el('p', { class: 'empty' }, 'No tool calls yet.'));
      return;
    }
    const span = range.last - range.first;
    const bucket = span <= 120 ? 1 : span <= 2 * 3600 ? 60 : span <= 2 * 86400 ? 600 : 3600;
    const rows = await this.#store.query<{ t: number; ok: number; failed: number }>(
      `SELECT (unixepoch(timestamp) / ?) * ? AS t, SUM(success) AS ok, SUM(success = 0) AS failed
       FROM tool_calls GROUP BY t ORDER BY t`,
      [bucket, bucket],
    );
    const data: uPlot.AlignedData = [rows.map((r) => r.t), rows.map((r) => r.ok), rows.map((r) => r.failed)];
    const label = byId('chart-caption');
    label.textContent = `Tool calls per ${bucket === 1 ? 'second' : bucket === 60 ? 'minute' : `${bucket / 60} minutes`}, succeeded and failed.`;
    if (this.#plot) {
      this.#plot.setData(data);
      return;
    }
    target.replaceChildren();
    this.#width = target.clientWidth || 600;
    this.#plot = new uPlot(
      {
        width: this.#width,
        height: 220,
        series: [
          {},
          { label: 'succeeded', stroke: '#2f7d4f', fill: 'rgba(47,125,79,0.15)', paths: uPlot.paths.stepped?.({ align: 1 }) },
          { label: 'failed', stroke: '#c0392b', fill: 'rgba(192,57,43,0.2)', paths: uPlot.paths.stepped?.({ align: 1 }) },
        ],
        // Counts start at zero, whatever the data's own minimum.
        scales: { y: { range: (_u, _min, max) => [0, Math.max(max, 1)] } },
        axes: [{}, { label: 'calls' }],
      },
      data,
      target,
    );
  }

  #resize(): void {
    const target = byId('chart');
    if (!this.#plot || target.clientWidth === this.#width) return;
    this.#width = target.clientWidth;
    this.#plot.setSize({ width: this.#width, height: 220 });
  }
}
