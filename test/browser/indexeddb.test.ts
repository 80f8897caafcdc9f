import { adapterContract } from '../contract/adapter-contract.js';
import { edgeSuites } from '../contract/edge-suites.js';
import { shareSuite } from '../contract/share-suite.js';
import { storeSuite } from '../contract/store-suite.js';
import { indexedDbHarness } from './indexeddb-harness.js';

adapterContract('indexeddb (Chromium)', indexedDbHarness);
storeSuite('indexeddb (Chromium)', indexedDbHarness);
edgeSuites('indexeddb (Chromium)', indexedDbHarness, { readers: false });
shareSuite('indexeddb (Chromium)', indexedDbHarness);
