// The offline demo page: a scripted agent writes into an IndexedDB store shared by every tab of
// the page, and the views redraw from the store's change feed. Only the package's public API.
import { openStore, type SQLiteStore } from 'agent-ops-store';
import { indexedDbAdapter } from 'agent-ops-store/adapters/indexeddb';
import { CallsChart } from './calls-chart.js';
import { downloadDatabase, RefusedFile, replaceWithFile } from './database-file.js';
import { byId, errorText } from './dom.js';
import { generateToolCalls, runSampleMission } from './scripted-agent.js';
import { setUpSeedQuestions } from './seed-questions.js';
import { setUpConsole } from './sql-console.js';
import { renderMemory, renderViews } from './views.js';

/** The IndexedDB store every tab of the page opens ('share': one tab leads, the others follow it live). */
const STORE_NAME = 'agent-ops-demo';
const GENERATED_CALLS = 10_000;

const status = byId('status');
const say = (text: string, kind: 'info' | 'error' = 'info') => {
  status.textContent = text;
  status.className = kind;
};

/** The store, or the page says why it has none (IndexedDB off, a store written by a newer version, …) and stops. */
async function openTheStore(): Promise<SQLiteStore> {
  try {
    return await openStore({
      adapter: indexedDbAdapter(STORE_NAME),
      onWarning: (message) => console.warn(`agent-ops-store: ${message}`),
    });
  } catch (error) {
    say(`The store could not be opened: ${errorText(error)}`, 'error');
    for (const button of document.querySelectorAll('button')) button.disabled = true;
    throw error;
  }
}

const store = await openTheStore();
const chart = new CallsChart(store);
const selected: { uuid: string | null } = { uuid: null };

// Redraws are coalesced: a burst of commits (10,000 generated calls) costs one redraw per
// ~150 ms, not one per commit.
let drawing = false;
let again = false;
async function redraw(): Promise<void> {
  if (drawing) {
    again = true;
    return;
  }
  drawing = true;
  try {
    do {
      again = false;
      await renderViews(store, selected, (uuid) => {
        selected.uuid = uuid;
        void redraw();
      });
      await chart.render();
      document.body.dataset.commits = String(commits);
      if (again) await new Promise((resolve) => setTimeout(resolve, 150));
    } while (again);
  } catch (error) {
    say(`Could not draw the views: ${errorText(error)}`, 'error');
  } finally {
    drawing = false;
  }
}

let commits = 0;
store.subscribe(() => {
  commits++;
  void redraw();
});
// Time to expiry counts down on its own.
setInterval(() => void renderMemory(store).catch(() => undefined), 1000);

const runButton = byId<HTMLButtonElement>('run-mission');
runButton.addEventListener('click', async () => {
  runButton.disabled = true;
  try {
    const uuid = await runSampleMission(store, (step) => say(step));
    selected.uuid = uuid;
    say(`Mission ${uuid} completed.`);
  } catch (error) {
    say(`The mission stopped: ${errorText(error)}`, 'error');
  } finally {
    runButton.disabled = false;
    void redraw();
  }
});

const generateButton = byId<HTMLButtonElement>('generate');
const progress = byId<HTMLProgressElement>('generate-progress');
generateButton.addEventListener('click', async () => {
  generateButton.disabled = true;
  progress.max = GENERATED_CALLS;
  progress.value = 0;
  progress.hidden = false;
  const started = performance.now();
  try {
    const uuid = await generateToolCalls(store, GENERATED_CALLS, (done) => {
      progress.value = done;
      say(`Recorded ${done.toLocaleString('en')} of ${GENERATED_CALLS.toLocaleString('en')} tool calls…`);
    });
    selected.uuid = uuid;
    say(
      `Recorded ${GENERATED_CALLS.toLocaleString('en')} tool calls in ${((performance.now() - started) / 1000).toFixed(1)} s (mission ${uuid}).`,
    );
  } catch (error) {
    say(`Generating stopped: ${errorText(error)}`, 'error');
  } finally {
    generateButton.disabled = false;
  }
});

byId<HTMLButtonElement>('download').addEventListener('click', async () => {
  try {
    say(`Saved ${await downloadDatabase(store)}.`);
  } catch (error) {
    say(`Could not save the database: ${errorText(error)}`, 'error');
  }
});

const openInput = byId<HTMLInputElement>('open-file');
openInput.addEventListener('change', async () => {
  const file = openInput.files?.[0];
  openInput.value = '';
  if (!file) return;
  if (!window.confirm(`Replace everything in this store with ${file.name}? Every tab of this page will show the file's contents.`)) return;
  try {
    const { missions, toolCalls } = await replaceWithFile(store, new Uint8Array(await file.arrayBuffer()), file.name);
    selected.uuid = null;
    say(`Opened ${file.name}: ${missions} missions, ${toolCalls} tool calls.`);
  } catch (error) {
    say(error instanceof RefusedFile ? `Refused: ${error.message}` : `Could not open ${file.name}: ${errorText(error)}`, 'error');
  }
});

setUpConsole(() => store);
setUpSeedQuestions(() => store);
await redraw();
say('Ready. The store lives in this browser (IndexedDB); open the page in a second tab to watch it live.');
document.body.dataset.ready = 'true';

// The built page keeps its files in a service worker, so it opens with the network off after
// the first load (the data is in IndexedDB already). The dev server has no sw.js. (MODE, not
// PROD: PROD follows NODE_ENV, which a test runner sets to 'test' around a production build.)
if (import.meta.env.MODE === 'production' && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('./sw.js').catch((error: unknown) => say(`Offline use is unavailable: ${errorText(error)}`, 'error'));
}
