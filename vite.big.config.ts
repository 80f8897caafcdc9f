import { defineConfig } from 'vitest/config';
import { wasmInline } from './scripts/vite-wasm-inline.js';

// `npm run test:big` only: the tests that need minutes and gigabytes (test/big/), kept out of
// `npm test`'s projects so a default run neither runs nor skips them.
export default defineConfig({
  // The same wasm loading as the library build and the other test projects.
  plugins: [wasmInline()],
  test: {
    include: ['test/big/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30 * 60_000,
    hookTimeout: 30 * 60_000,
  },
});
