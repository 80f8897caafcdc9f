import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FsAdapterOptions, fsAdapter } from '../../adapters/fs.js';
import { adapterContract } from '../contract/adapter-contract.js';
import { edgeSuites } from '../contract/edge-suites.js';
import type { AdapterHarness } from '../contract/harness.js';
import { storeSuite } from '../contract/store-suite.js';

async function fsHarness(options: FsAdapterOptions = {}): Promise<AdapterHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'aos-fs-'));
  const path = join(dir, 'agent-ops.db');
  return {
    open: () => fsAdapter(path, options),
    // In one process the lock's owner is alive; a dead owner's lock file is what remains.
    crash: () => unlink(`${path}.aos-lock`).catch(() => undefined),
    destroy: () => rm(dir, { recursive: true, force: true }),
  };
}

adapterContract('fs (Node)', () => fsHarness());
storeSuite('fs (Node)', () => fsHarness());
edgeSuites('fs (Node)', () => fsHarness());
// The opt-in synchronous appends make the same promises.
adapterContract('fs, blocking appends (Node)', () => fsHarness({ blockingAppends: true }));
storeSuite('fs, blocking appends (Node)', () => fsHarness({ blockingAppends: true }));
