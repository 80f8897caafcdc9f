import { legacyArchiveSuite } from '../contract/legacy-archive-suite.js';
import { indexedDbHarness } from './indexeddb-harness.js';

legacyArchiveSuite('indexeddb (Chromium)', indexedDbHarness);
