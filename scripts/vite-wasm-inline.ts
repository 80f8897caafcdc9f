import { readFileSync } from 'node:fs';
import type { Plugin } from 'vite';

/**
 * Resolves `import x from '….wasm?inline'` to the file as a base64 data URL, at build time.
 * This is how the sql.js wasm travels inside dist/: no loader to configure, no extra request.
 */
export function wasmInline(): Plugin {
  return {
    name: 'agent-ops-store:wasm-inline',
    enforce: 'pre',
    load(id) {
      if (!id.endsWith('.wasm?inline')) return null;
      const file = id.slice(0, -'?inline'.length);
      const base64 = readFileSync(file).toString('base64');
      return `export default ${JSON.stringify(`data:application/wasm;base64,${base64}`)};`;
    },
  };
}
