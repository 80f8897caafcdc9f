import { playwright } from '@vitest/browser-playwright';
import { defineConfig, type ViteUserConfig } from 'vitest/config';
import { chromiumForTests } from './scripts/chromium.js';
import { wasmInline } from './scripts/vite-wasm-inline.js';

// The library build (dist/) and the test projects: Node, and real Chromium.
export default defineConfig(async (): Promise<ViteUserConfig> => {
  // Only a test run looks for a browser (Vitest sets VITEST before loading this file), so
  // `vite build` never unpacks one. The lookup prints its answer once per run.
  const chromium = process.env.VITEST ? await chromiumForTests() : undefined;
  return {
    plugins: [wasmInline()],
    base: './',
    // The checkpoint replica's Web Worker (adapters/replica-browser.ts): a module worker, bundled
    // whole (sql.js and its inlined wasm too: the worker build does not get the plugins above).
    worker: { format: 'es', plugins: () => [wasmInline()] },
    build: {
      target: 'es2022',
      outDir: 'dist',
      // Emptied first: chunk names carry a hash, so an earlier build's chunks would otherwise stay
      // beside the new ones and ship with `npm pack` (the types that tsc writes next land after).
      emptyOutDir: true,
      minify: false,
      sourcemap: false,
      lib: {
        entry: {
          index: 'src/index.ts',
          'adapters/memory': 'adapters/memory.ts',
          'adapters/fs': 'adapters/fs.ts',
          'adapters/replica-worker-node': 'adapters/replica-worker-node.ts',
          'adapters/indexeddb': 'adapters/indexeddb.ts',
          'integrations/ai-sdk': 'integrations/ai-sdk.ts',
          'integrations/langchain': 'integrations/langchain.ts',
          'integrations/langgraph': 'integrations/langgraph.ts',
          'integrations/otel': 'integrations/otel.ts',
          testing: 'testing/adapter-contract.ts',
          'cli/agent-ops': 'cli/agent-ops.ts',
        },
        formats: ['es'],
      },
      rollupOptions: {
        // The CLI is the package's bin: it runs as a script, so it starts with a shebang.
        output: { banner: (chunk) => (chunk.name === 'cli/agent-ops' ? '#!/usr/bin/env node' : '') },
        // The integrations and the CLI import the package by name (the main entry stays one copy at run time) and
        // their frameworks are the user's own, optional peer dependencies: none of them is bundled.
        external: [
          /^node:/,
          'sql.js',
          /^sql\.js\/dist\/.*\.js$/,
          'idb-keyval',
          /^agent-ops-store(\/|$)/,
          /^ai(\/|$)/,
          /^@langchain\//,
          /^@opentelemetry\//,
        ],
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
              ...(chromium && { provider: playwright({ launchOptions: chromium.launchOptions }) }),
              instances: [{ browser: 'chromium' }],
            },
          },
        },
      ],
    },
  };
});
