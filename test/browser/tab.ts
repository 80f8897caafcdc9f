/** What a tab reports when an operation fails: the StoreError code and message, across postMessage. */
export interface TabError {
  readonly code?: string;
  readonly name?: string;
  readonly message: string;
}

/** A same-origin iframe running `fixtures/tab.ts`: a second (third...) browser tab for a test. */
export interface Tab {
  readonly frame: HTMLIFrameElement;
  /** Runs one operation in the tab; rejects with the tab's TabError. */
  call<T = unknown>(op: string, args?: Record<string, unknown>): Promise<T>;
  /** Reloads the page in the tab (the store in it is never closed) and waits for it. */
  reload(): Promise<void>;
  /** Removes the iframe at once, as a tab closed or killed: no close(), no goodbye. */
  remove(): void;
}

let nextId = 1;

/** Opens a tab and waits until its page is ready. */
export async function openTab(): Promise<Tab> {
  const frame = document.createElement('iframe');
  frame.src = new URL('./fixtures/tab.html', import.meta.url).href;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: TabError) => void }>();
  let ready: (() => void) | null = null;
  const onMessage = (event: MessageEvent) => {
    if (event.source !== frame.contentWindow) return;
    const data = event.data ?? {};
    if (data.ready) ready?.();
    const waiter = typeof data.id === 'number' ? pending.get(data.id) : undefined;
    if (!waiter) return;
    pending.delete(data.id);
    if (data.ok) waiter.resolve(data.value);
    else waiter.reject(data.error);
  };
  window.addEventListener('message', onMessage);
  const loaded = () =>
    new Promise<void>((resolve) => {
      ready = resolve;
    });
  const first = loaded();
  document.body.append(frame);
  await first;
  return {
    frame,
    call<T>(op: string, args: Record<string, unknown> = {}) {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        frame.contentWindow!.postMessage({ id, op, args }, '*');
      });
    },
    async reload() {
      const next = loaded();
      frame.contentWindow!.location.reload();
      await next;
    },
    remove() {
      window.removeEventListener('message', onMessage);
      frame.remove();
    },
  };
}

/** Resolves with the tab's acknowledgements as they arrive, until `until` returns true; rejects if its writes stop with an error. */
export function watchAcks(tab: Tab, until: (acknowledged: number) => boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const onMessage = (event: MessageEvent) => {
      if (event.source !== tab.frame.contentWindow) return;
      if (typeof event.data?.writeError === 'string') {
        window.removeEventListener('message', onMessage);
        reject(new Error(`the tab's writes stopped: ${event.data.writeError}`));
        return;
      }
      if (typeof event.data?.acknowledged !== 'number') return;
      if (until(event.data.acknowledged)) {
        window.removeEventListener('message', onMessage);
        resolve(event.data.acknowledged);
      }
    };
    window.addEventListener('message', onMessage);
  });
}

/** The keys an adapter's IndexedDB database holds: log record numbers, the snapshot's manifest and chunks, the epoch. */
/** Every value under a chunk key (['chunk', …]) of the IndexedDB database `database`. */
export function storedChunks(database: string): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(database);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const request = db
        .transaction('aos', 'readonly')
        .objectStore('aos')
        .getAll(IDBKeyRange.bound(['chunk'], ['chunk', []]));
      request.onsuccess = () => {
        db.close();
        resolve(request.result);
      };
      request.onerror = () => reject(request.error);
    };
  });
}

export function storedKeys(database: string): Promise<IDBValidKey[]> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(database);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const request = db.transaction('aos', 'readonly').objectStore('aos').getAllKeys();
      request.onsuccess = () => {
        db.close();
        resolve(request.result);
      };
      request.onerror = () => reject(request.error);
    };
  });
}
