// Imports that the build resolves at build time (Vite): the SQL of the migrations as text,
// and the sql.js wasm as a data URL.
declare module '*.sql?raw' {
  const text: string;
  export default text;
}
declare module '*.wasm?inline' {
  const dataUrl: string;
  export default dataUrl;
}
declare module 'sql.js/dist/sql-wasm-browser.js' {
  import type { SqlJsStatic } from './sql-js.js';
  export default function initSqlJs(config?: { wasmBinary?: ArrayBuffer }): Promise<SqlJsStatic>;
}
