import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { offlineWorker } from './scripts/vite-offline-worker.js';

const built = (file: string) => fileURLToPath(new URL(`./dist/${file}`, import.meta.url));

// The demo page (`npm run demo`, `npm run build:demo` → demo/dist/). It imports the package by
// name, as an app would. Inside this repository nothing installs the package into node_modules,
// and Vite's resolver does not map a package's own name to itself, so the names are aliased to
// the files the package's `exports` name for a browser: the page runs exactly what the package
// ships in dist/ (hence `npm run build` before it; the scripts do that).
export default defineConfig({
  root: fileURLToPath(new URL('./demo', import.meta.url)),
  // Relative URLs: demo/dist/ works from any folder of any static server.
  base: './',
  // sw.js: the page opens with the network off after its first load.
  plugins: [offlineWorker()],
  resolve: {
    alias: [
      { find: /^agent-ops-store$/, replacement: built('index.js') },
      { find: /^agent-ops-store\/adapters\/indexeddb$/, replacement: built('adapters/indexeddb.js') },
      { find: /^agent-ops-store\/adapters\/memory$/, replacement: built('adapters/memory.js') },
    ],
  },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    // One JS and one CSS file, both from the page's origin; the sql.js wasm travels inside the JS.
    chunkSizeWarningLimit: 2048,
  },
  server: { host: '127.0.0.1' },
});
