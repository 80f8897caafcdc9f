import initSqlJs from 'sql.js/dist/sql-wasm-browser.js';
import wasmDataUrl from 'sql.js/dist/sql-wasm-browser.wasm?inline';
import type { SqlJsStatic } from './sql-js.js';

let engine: Promise<SqlJsStatic> | undefined;

/**
 * Loads sql.js once per realm. The wasm is inlined into the build, so neither Node nor a
 * bundler has to locate or serve a .wasm file, and no request leaves the page's origin.
 */
export function loadSqlEngine(): Promise<SqlJsStatic> {
  engine ??= initSqlJs({ wasmBinary: decodeDataUrl(wasmDataUrl) }).catch((error: unknown) => {
    engine = undefined;
    throw error;
  });
  return engine;
}

function decodeDataUrl(url: string): ArrayBuffer {
  const base64 = url.slice(url.indexOf(',') + 1);
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}
