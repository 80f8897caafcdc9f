import type { Row } from 'agent-ops-store';

/** How rows are printed: an aligned table (default), a JSON array, NDJSON, or CSV. */
export type RowFormat = 'table' | 'json' | 'ndjson' | 'csv';

/**
 * A cell as JSON: bytes become { "$base64": … } and integers beyond 2^53 { "$int": "…" }, so a
 * row survives a trip through JSON exactly (decodeRow reverses it). Text stays text: a JSON column
 * is printed as the JSON text it holds.
 */
export function encodeCell(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $base64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (typeof value === 'bigint') return { $int: value.toString() };
  return value ?? null;
}

/** A row with every cell encoded for JSON. */
export function encodeRow(row: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) out[column] = encodeCell(value);
  return out;
}

/** The row of an encoded one: { $base64 } back to bytes, { $int } back to a bigint. */
export function decodeRow(encoded: Record<string, unknown>): Row {
  const out: Row = {};
  for (const [column, value] of Object.entries(encoded)) {
    if (value !== null && typeof value === 'object') {
      const tagged = value as { $base64?: string; $int?: string };
      if (typeof tagged.$base64 === 'string') out[column] = new Uint8Array(Buffer.from(tagged.$base64, 'base64'));
      else if (typeof tagged.$int === 'string') out[column] = BigInt(tagged.$int);
      else throw new Error(`column ${column} holds an object that is no encoded cell`);
    } else out[column] = value as string | number | null;
  }
  return out;
}

/** One NDJSON line of a row with its table: {"table": …, "row": {…}}. */
export function recordLine(table: string, row: Row): string {
  return `${JSON.stringify({ table, row: encodeRow(row) })}\n`;
}

/** Rows in `format`, as text ready for stdout. */
export function formatRows(rows: readonly Row[], format: RowFormat, bold = false): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(rows.map(encodeRow), null, 2)}\n`;
    case 'ndjson':
      return rows.map((row) => `${JSON.stringify(encodeRow(row))}\n`).join('');
    case 'csv':
      return csv(rows);
    case 'table':
      return table(rows, bold);
  }
}

function columnsOf(rows: readonly Row[]): string[] {
  const columns = new Set<string>();
  for (const row of rows) for (const column of Object.keys(row)) columns.add(column);
  return [...columns];
}

function textOf(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  return String(value).replace(/\r?\n/g, '\\n');
}

/** An aligned table: header, a rule, one line per row; "(n rows)" at the end. */
export function table(rows: readonly Row[], bold = false): string {
  const columns = columnsOf(rows);
  if (columns.length === 0) return `(${rows.length} rows)\n`;
  const cells = rows.map((row) => columns.map((column) => textOf(row[column])));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((line) => line[i]!.length)));
  const pad = (line: string[]) =>
    line
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const header = pad(columns);
  return [
    bold ? `\x1b[1m${header}\x1b[0m` : header,
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.map(pad),
    `(${rows.length} ${rows.length === 1 ? 'row' : 'rows'})`,
    '',
  ].join('\n');
}

/** RFC 4180 CSV with a header; NULL is an empty field, bytes are base64. */
function csv(rows: readonly Row[]): string {
  const columns = columnsOf(rows);
  const field = (value: unknown): string => {
    if (value === null || value === undefined) return '';
    const text = value instanceof Uint8Array ? Buffer.from(value).toString('base64') : String(value);
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const lines = [columns.map(field).join(','), ...rows.map((row) => columns.map((c) => field(row[c])).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}
