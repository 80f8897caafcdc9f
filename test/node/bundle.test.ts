import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { build, createLogger, type PreviewServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium } from '../../scripts/chromium.js';

// A user's Vite app with no configuration at all, importing the package by name the way an
// install would give it (node_modules/agent-ops-store -> this repo, dist/ and exports map).
const root = new URL('../..', import.meta.url).pathname;
const app = join(root, 'test/.tmp/bundle-app');
const out = join(app, 'dist');

const mainTs = `
import { openStore, StoreError } from 'agent-ops-store';
import { indexedDbAdapter } from 'agent-ops-store/adapters/indexeddb';

async function run() {
  const name = 'bundle-' + Math.random().toString(36).slice(2);
  const store = await openStore({ adapter: indexedDbAdapter(name) });
  const m = await store.missions.create({ phase: 'PLANNING', uuid: 'bundle-1' });
  await store.toolCalls.record({ mission: m.id, toolName: 'read_file', args: { path: 'a.ts' }, success: true, durationMs: 3 });
  await store.close();
  const again = await openStore({ adapter: indexedDbAdapter(name) });
  const rows = await again.query('SELECT tool_name FROM tool_calls');
  const fk = await again.query('PRAGMA foreign_keys');
  await again.close();
  return { rows, fk, storeError: new StoreError('IO', 'x') instanceof Error };
}

// ?mode=write and ?mode=read: the two halves of a browser restart on the same profile.
async function restart(mode: string) {
  const store = await openStore({ adapter: indexedDbAdapter('restart', { lock: 'wait' }) });
  if (mode === 'write') {
    const m = await store.missions.create({ phase: 'CODING', uuid: 'restart-1' });
    for (let i = 0; i < 3; i++) await store.toolCalls.record({ mission: m.id, toolName: 'run_tests', args: { i }, success: i !== 1 });
    await store.decisions.record({ mission: m.id, decisionType: 'retry', rationale: 'flaky', agentName: 'coder' });
    // No close(): the browser quits with the store open.
    return { written: 3 };
  }
  const count = async (table: string) => (await store.query('SELECT count(*) AS n FROM ' + table))[0].n;
  const before = { toolCalls: await count('tool_calls'), decisions: await count('decisions'), failed: await count('tool_calls WHERE success = 0') };
  let orphanRefused = false;
  try {
    await store.query("INSERT INTO decisions (mission_id, decision_type, rationale, timestamp, agent_name) VALUES (999, 'x', 'y', '2026-01-01 00:00:00.000Z', 'z')");
  } catch (error) {
    orphanRefused = error instanceof StoreError;
  }
  await store.missions.delete('restart-1');
  const after = { toolCalls: await count('tool_calls'), decisions: await count('decisions') };
  await store.close();
  return { before, orphanRefused, after };
}

const mode = new URLSearchParams(location.search).get('mode');
(mode ? restart(mode) : run()).then(
  (result) => { (window as any).__result = { ok: true, ...result }; },
  (error) => { (window as any).__result = { ok: false, message: String(error && error.stack || error) }; },
);
`;

let files: { name: string; bytes: Buffer }[] = [];
const warnings: string[] = [];

beforeAll(async () => {
  expect(existsSync(join(root, 'dist/adapters/indexeddb.js')), 'run npm run build first (npm test does it in pretest)').toBe(true);
  rmSync(app, { recursive: true, force: true });
  mkdirSync(join(app, 'node_modules'), { recursive: true });
  symlinkSync(root, join(app, 'node_modules/agent-ops-store'), 'dir');
  writeFileSync(
    join(app, 'index.html'),
    '<!doctype html><html lang="en"><body><script type="module" src="/main.ts"></script></body></html>',
  );
  writeFileSync(join(app, 'main.ts'), mainTs);
  // Vite warns, rather than fails, when a browser build pulls in a Node built-in: collect its warnings.
  const logger = createLogger('warn');
  logger.warn = (message) => warnings.push(message);
  logger.warnOnce = (message) => warnings.push(message);
  await build({
    root: app,
    configFile: false,
    customLogger: logger,
    build: { outDir: out, emptyOutDir: true, chunkSizeWarningLimit: 4096 },
  });
  files = walk(out).map((file) => ({ name: relative(out, file), bytes: readFileSync(file) }));
}, 120_000);

afterAll(() => rmSync(app, { recursive: true, force: true }));

/** Serves the built app on 127.0.0.1, on a free port. */
function servePreview(): Promise<PreviewServer> {
  return preview({ root: app, configFile: false, logLevel: 'warn', build: { outDir: out }, preview: { host: '127.0.0.1', port: 0 } });
}

function originOf(server: PreviewServer): string {
  return `http://127.0.0.1:${(server.httpServer.address() as AddressInfo).port}`;
}

describe('a zero-config Vite app importing agent-ops-store and its IndexedDB adapter', () => {
  it('builds without any node: module, fs or path, and with no wasm URL off its origin', () => {
    expect(warnings.filter((w) => /externali[sz]ed for browser|node:|built-?in/i.test(w))).toEqual([]);
    const js = files.filter((f) => f.name.endsWith('.js'));
    expect(js.length).toBeGreaterThan(0);
    for (const { name, bytes } of js) {
      const text = bytes.toString('utf8');
      expect(text.match(/["'`]node:[a-z_/]+["'`]/g), name).toBeNull();
      expect(text.match(/require\(\s*["'`](fs|path|crypto|os|url)["'`]\s*\)/g), name).toBeNull();
      expect(text.match(/https?:\/\/[^"'`\s]*\.wasm/g), name).toBeNull();
      expect(text).not.toContain('idb://');
    }
    // The wasm travels inside the JS (sql.js's inline data URL), or as a file of the app itself.
    const wasmFiles = files.filter((f) => f.name.endsWith('.wasm'));
    const inlined = js.some((f) => f.bytes.includes('data:application/wasm;base64,'));
    expect(inlined || wasmFiles.length > 0).toBe(true);

    const raw = files.filter((f) => /\.(js|wasm)$/.test(f.name)).reduce((n, f) => n + f.bytes.length, 0);
    const gzip = files.filter((f) => /\.(js|wasm)$/.test(f.name)).reduce((n, f) => n + gzipSync(f.bytes, { level: 9 }).length, 0);
    console.log(`bundle size (JS + wasm): ${(raw / 1024).toFixed(1)} KiB raw, ${(gzip / 1024).toFixed(1)} KiB gzip`);
    writeFileSync(
      join(root, 'test/.tmp/bundle-size.json'),
      JSON.stringify({ rawBytes: raw, gzipBytes: gzip, files: files.map((f) => f.name) }),
    );
    // A sanity bound, not a target: sql.js alone is ~650 KiB of wasm.
    expect(gzip).toBeLessThan(2 * 1024 * 1024);
  });

  it('the package modules a browser loads (dist/index.js, dist/adapters/indexeddb.js and their chunks) import no node: module', () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      expect(text.match(/from\s*["'`]node:[^"'`]+["'`]|import\(\s*["'`]node:/g), relative(root, file)).toBeNull();
      for (const [, spec] of text.matchAll(/from\s*["'`](\.{1,2}\/[^"'`]+)["'`]/g)) visit(join(file, '..', spec!));
    };
    visit(join(root, 'dist/index.js'));
    visit(join(root, 'dist/adapters/indexeddb.js'));
    expect(seen.size).toBeGreaterThan(2);
  });

  it('runs in Chromium: opens a store, writes, reads back, and requests nothing off its origin', async () => {
    let server: PreviewServer | undefined;
    const browser = await chromium.launch({ ...(await findChromium()).launchOptions, headless: true });
    try {
      server = await servePreview();
      const origin = originOf(server);
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on('request', (request) => requests.push(request.url()));
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(String(error)));
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => (window as { __result?: unknown }).__result !== undefined, undefined, { timeout: 30_000 });
      const result = await page.evaluate(() => (window as { __result?: unknown }).__result);
      expect(errors).toEqual([]);
      expect(result).toEqual({ ok: true, rows: [{ tool_name: 'read_file' }], fk: [{ foreign_keys: 1 }], storeError: true });
      const offOrigin = requests.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:') && !url.startsWith('blob:'));
      expect(offOrigin).toEqual([]);
      expect(requests.length).toBeGreaterThan(1);
    } finally {
      await browser.close();
      await new Promise<void>((resolve) => server?.httpServer.close(() => resolve()) ?? resolve());
    }
  }, 60_000);

  it('keeps what a page wrote across a browser restart on the same profile, foreign keys still enforced', async () => {
    const profile = join(root, 'test/.tmp/bundle-profile');
    rmSync(profile, { recursive: true, force: true });
    const server = await servePreview();
    const origin = originOf(server);
    const { launchOptions } = await findChromium();
    const visit = async (mode: 'write' | 'read') => {
      const context = await chromium.launchPersistentContext(profile, { ...launchOptions, headless: true });
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        await page.goto(`${origin}/?mode=${mode}`);
        await page.waitForFunction(() => (window as { __result?: unknown }).__result !== undefined, undefined, { timeout: 30_000 });
        return await page.evaluate(() => (window as { __result?: unknown }).__result);
      } finally {
        // The whole browser goes away, store still open in the page.
        await context.close();
      }
    };
    try {
      expect(await visit('write')).toEqual({ ok: true, written: 3 });
      expect(await visit('read')).toEqual({
        ok: true,
        before: { toolCalls: 3, decisions: 1, failed: 1 },
        orphanRefused: true,
        after: { toolCalls: 0, decisions: 0 },
      });
    } finally {
      await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
      rmSync(profile, { recursive: true, force: true });
    }
  }, 90_000);
});

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}
