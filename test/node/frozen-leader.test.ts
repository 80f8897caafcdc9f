import type { AddressInfo } from 'node:net';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium } from '../../scripts/chromium.js';
import { wasmInline } from '../../scripts/vite-wasm-inline.js';

// Tabs sharing one IndexedDB store, as real tabs of one Chromium (pages in their own renderer
// processes, not iframes of the test page, which share its thread). The leading tab is frozen the
// way a frozen tab looks to the others: it keeps its Web Lock and runs none of its tasks (messages,
// IndexedDB events, the lock's steal) until it resumes, then runs them all. The DevTools
// Protocol's Page.setWebLifecycleState({ state: 'frozen' }) would be the direct way, but headless
// Chromium keeps running a page's timers and messages after it (its pages never become hidden),
// so the tab is held instead in one long synchronous task, which stops its event loop just the same.
const root = new URL('../..', import.meta.url).pathname;
let server: ViteDevServer;
let browser: Browser;
let context: BrowserContext;
let url: string;

beforeAll(async () => {
  server = await createServer({
    root,
    configFile: false,
    logLevel: 'warn',
    plugins: [wasmInline()],
    // Scanned up front, so no dependency found late reloads a page in the middle of the test.
    optimizeDeps: { entries: ['test/browser/fixtures/tab.html'] },
    server: { host: '127.0.0.1', port: 0 },
  });
  await server.listen();
  const { port } = server.httpServer!.address() as AddressInfo;
  url = `http://127.0.0.1:${port}/test/browser/fixtures/tab.html`;
  const found = await findChromium();
  browser = await chromium.launch({ ...found.launchOptions, headless: true });
  // One context: its pages are tabs of one origin, with one Web Lock manager and one BroadcastChannel space.
  context = await browser.newContext();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** A tab running `test/browser/fixtures/tab.ts`, counting the acknowledgements its `writeForever` posts. */
async function tab(): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => process.stderr.write(`page error: ${error}\n`));
  await page.addInitScript(() => {
    const w = window as unknown as { __acks: number; __writeError: string | null };
    w.__acks = 0;
    w.__writeError = null;
    window.addEventListener('message', (event: MessageEvent) => {
      if (typeof event.data?.acknowledged === 'number') w.__acks = event.data.acknowledged;
      if (typeof event.data?.writeError === 'string') w.__writeError = event.data.writeError;
    });
  });
  await page.goto(url);
  await page.waitForFunction(() => document.readyState === 'complete');
  // The fixture posts { ready } once its script ran; a first round trip shows it listens.
  await call(page, 'warnings');
  return page;
}

/** Runs one of the fixture's operations in `page`; rejects with its error as JSON. */
function call<T = unknown>(page: Page, op: string, args: Record<string, unknown> = {}): Promise<T> {
  return page.evaluate(
    ([o, a]) =>
      new Promise<T>((resolve, reject) => {
        const id = Math.random();
        const onMessage = (event: MessageEvent) => {
          if (event.data?.id !== id || typeof event.data.ok !== 'boolean') return;
          window.removeEventListener('message', onMessage);
          if (event.data.ok) resolve(event.data.value as T);
          else reject(new Error(JSON.stringify(event.data.error)));
        };
        window.addEventListener('message', onMessage);
        window.postMessage({ id, op: o, args: a }, '*');
      }),
    [op, args] as const,
  );
}

/** Waits until the page's writer has `n` acknowledgements; fails at once if its writes stopped with an error. */
async function acks(page: Page, n: number, timeoutMs: number): Promise<number> {
  const handle = await page.waitForFunction(
    (want) => {
      const w = window as unknown as { __acks: number; __writeError: string | null };
      return w.__writeError !== null || w.__acks >= want ? { acks: w.__acks, error: w.__writeError } : false;
    },
    n,
    { timeout: timeoutMs, polling: 20 },
  );
  const { acks: got, error } = (await handle.jsonValue()) as { acks: number; error: string | null };
  if (error !== null) throw new Error(`the writer's writes stopped: ${error}`);
  return got;
}

const ackRows = async (page: Page) =>
  (await call<{ tool_name: string }[]>(page, 'query', { sql: "SELECT tool_name FROM tool_calls WHERE tool_name LIKE 'ack-%'" })).map(
    (row) => row.tool_name,
  );

describe('a frozen leading tab (Page Lifecycle freeze)', () => {
  it('a follower takes over within seconds; the thawed leader writes nothing; every acknowledged write is there once, after a reload too', async () => {
    const name = `frozen-${Date.now().toString(36)}`;
    const leader = await tab();
    const next = await tab();
    const writer = await tab();
    // The default leaderTimeoutMs (3000 ms).
    for (const page of [leader, next, writer]) await call(page, 'open', { name });
    await call(leader, 'createMission', { uuid: 'm-frozen' });
    await call(writer, 'writeForever', { mission: 'm-frozen' });
    const atFreeze = await acks(writer, 30, 20_000);

    // Frozen for 8 s, well past the default leaderTimeoutMs, in the middle of the burst.
    const frozenFor = 8000;
    await leader.evaluate((ms) => {
      setTimeout(() => {
        const until = Date.now() + ms;
        while (Date.now() < until) {
          // Nothing runs in this tab meanwhile: no message, no IndexedDB event, no timer.
        }
      }, 0);
    }, frozenFor);
    const frozenAt = Date.now();
    // Forwarded writes were in flight: they stall, then a follower takes the lock and answers them.
    const afterTakeover = await acks(writer, atFreeze + 30, 20_000);
    const stalled = Date.now() - frozenAt;
    expect(stalled, 'takeover within a few seconds, while the leader is still frozen').toBeLessThan(frozenFor);
    expect(afterTakeover).toBeGreaterThanOrEqual(atFreeze + 30);

    // Resumed: the frozen task ends, and the tab runs what queued up meanwhile.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, frozenAt + frozenFor + 200 - Date.now())));
    // Thawed, the old leader finds the lock gone: its own write is refused, and never lands.
    const refused = await call(leader, 'call', {
      target: 'toolCalls',
      method: 'record',
      args: [{ mission: 'm-frozen', toolName: 'by-thawed-leader', args: {}, success: true }],
    }).then(
      () => null,
      (error: Error) => error.message,
    );
    expect(refused).toMatch(/LOCKED/);
    // The others go on after the thaw, with the old leader's queued messages delivered.
    const late = await acks(writer, afterTakeover + 20, 20_000);
    const acknowledged = await writer.evaluate(() => (window as unknown as { __acks: number }).__acks);
    expect(acknowledged).toBeGreaterThanOrEqual(late);
    await writer.close();

    const check = async (page: Page) => {
      const have = await ackRows(page);
      expect(new Set(have).size, 'no write applied twice').toBe(have.length);
      const missing = [];
      for (let n = 1; n <= acknowledged; n++) if (!have.includes(`ack-${n}`)) missing.push(n);
      expect(missing, 'acknowledged writes missing').toEqual([]);
      expect(
        await call<{ n: number }[]>(page, 'query', { sql: "SELECT count(*) AS n FROM tool_calls WHERE tool_name = 'by-thawed-leader'" }),
      ).toEqual([{ n: 0 }]);
    };
    await check(next);
    await leader.close();
    await next.reload();
    await call(next, 'open', { name });
    await check(next);
    const fresh = await tab();
    await call(fresh, 'open', { name });
    await check(fresh);
    await call(fresh, 'close');
    await call(next, 'close');
  }, 120_000);
});
