// What the page's rounds loop times: one awaited operation per round, whatever the engine.

/** One thing timed per round: a store's record(), a bare append, or an anchor engine's insert. */
export interface Contender {
  readonly name: string;
  op(i: number): Promise<void>;
  readonly samples: number[];
  /**
   * A part of each op timed from inside: for stores on IndexedDB, the adapter.append; for an
   * engine in a Worker, the time spent in the worker. Empty when there is no such part.
   */
  readonly appends: number[];
  teardown(): Promise<void>;
}

/** What building a contender reports back to the Node script: its size and how it was set up. */
export interface Built {
  readonly name: string;
  readonly bytes?: number;
  readonly rows?: number;
  readonly fillMs?: number;
  readonly openMs?: number;
  /** For the anchor engines: the settings read back from the engine after setting them. */
  readonly settings?: string;
}
