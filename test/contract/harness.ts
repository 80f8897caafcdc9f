// One definition, shipped with the contract suite in agent-ops-store/testing.
export type { AdapterHarness, HarnessFactory } from '../../testing/adapter-contract.js';
