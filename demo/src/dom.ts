// Every string the page shows from the store (tool args, results, rationales, SQL results) is
// untrusted: it reaches the DOM only as textContent or as an attribute value, never as HTML.

/** Creates an element with attributes and children; strings become text nodes. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Readonly<Record<string, string>> = {},
  ...children: readonly (Node | string | null)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children) if (child !== null) node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  return node;
}

/** The element with `id`; throws if the page lacks it (a typo in index.html, not a runtime case). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`demo page: no element #${id}`);
  return node as T;
}

/** Any SQL value as the text a cell shows. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  return String(value);
}

/** A table of `rows` (plain objects), columns from the first row; text only. */
export function rowsTable(rows: readonly Record<string, unknown>[], caption?: string): HTMLElement {
  if (rows.length === 0) return el('p', { class: 'empty' }, 'No rows.');
  const columns = Object.keys(rows[0]!);
  return el(
    'div',
    { class: 'table-wrap' },
    el(
      'table',
      {},
      caption ? el('caption', {}, caption) : null,
      el('thead', {}, el('tr', {}, ...columns.map((c) => el('th', { scope: 'col' }, c)))),
      el('tbody', {}, ...rows.map((row) => el('tr', {}, ...columns.map((c) => el('td', {}, cellText(row[c])))))),
    ),
  );
}

/** Replaces the children of `node`. */
export function show(node: HTMLElement, ...children: readonly (Node | string)[]): void {
  node.replaceChildren(...children);
}

/** A failure as one line: a StoreError's code and message, or any error's message. */
export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/** Gives the event loop a turn, so the page paints and answers input between slices of work. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
