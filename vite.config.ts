import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';
import { chromiumArgs, chromiumPath } from './scripts/chromium.js';
import { wasmInline } from './scripts/vite-wasm-inline.js';

// The library build (dist/) and the test projects: Node, and real Chromium.
export default defineConfig({
  plugins: [wasmInline()],
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: false,
    minify: false,
    sourcemap: false,
    lib: {
      entry: {
        index: 'src/index.ts',
        'adapters/memory': 'adapters/memory.ts',
        'adapters/fs': 'adapters/fs.ts',
        'adapters/indexeddb': 'adapters/indexeddb.ts',
        testing: 'testing/adapter-contract.ts',
      },
      formats: ['es'],
    },
    rollupOptions: {
      external: [/^node:/, 'sql.js', /^sql\.js\/dist\/.*\.js$/, 'idb-keyval'],
    },
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/node/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({ launchOptions: { executablePath: chromiumPath, args: chromiumArgs } }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
});
