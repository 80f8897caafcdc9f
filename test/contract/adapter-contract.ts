import { afterEach, describe, expect, it } from 'vitest';
import { adapterContract as contract } from '../../testing/adapter-contract.js';
import type { HarnessFactory } from './harness.js';

/**
 * The shipped adapter contract (`agent-ops-store/testing`) on this repository's vitest. Run once
 * per adapter and runtime: `adapterContract('fs', () => fsHarness())`.
 */
export function adapterContract(name: string, factory: HarnessFactory): void {
  contract(name, factory, { describe, it, afterEach, expect });
}
