import { MemoryVolume, memoryAdapter } from '../../adapters/memory.js';
import { adapterContract } from '../contract/adapter-contract.js';
import { edgeSuites } from '../contract/edge-suites.js';
import type { AdapterHarness } from '../contract/harness.js';
import { storeSuite } from '../contract/store-suite.js';

function memoryHarness(): AdapterHarness {
  const volume = new MemoryVolume();
  return { open: () => memoryAdapter(volume), crash: () => volume.breakLock(), destroy: async () => undefined };
}

adapterContract('memory (Chromium)', memoryHarness);
storeSuite('memory (Chromium)', memoryHarness);
edgeSuites('memory (Chromium)', memoryHarness);
