import { MemoryVolume, memoryAdapter } from '../../adapters/memory.js';
import type { AdapterHarness } from '../contract/harness.js';
import { legacyArchiveSuite } from '../contract/legacy-archive-suite.js';

function memoryHarness(): AdapterHarness {
  const volume = new MemoryVolume();
  return { open: () => memoryAdapter(volume), crash: () => volume.breakLock(), destroy: async () => undefined };
}

legacyArchiveSuite('memory (Node)', memoryHarness);
