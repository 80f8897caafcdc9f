import { openStore } from 'agent-ops-store';
import { indexedDbAdapter } from 'agent-ops-store/adapters/indexeddb';
import { agentOpsTelemetry } from 'agent-ops-store/integrations/ai-sdk';
import { generateText, stepCountIs } from 'ai';
import { describe, expect, it } from 'vitest';
import { agentTools, expectedRun, recordedRun, scriptedModel } from '../fixtures/ai-sdk-agent.js';
import { deleteDatabase } from './indexeddb-harness.js';

describe('AI SDK integration on IndexedDB (Chromium)', () => {
  it('records the scripted tool-calling loop, and the rows are there after a reopen', async () => {
    const name = `ai-sdk-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    try {
      const store = await openStore({ adapter: indexedDbAdapter(name) });
      const result = await generateText({
        model: scriptedModel(),
        tools: agentTools,
        stopWhen: stepCountIs(5),
        prompt: 'Weather in Paris, and ticket 7?',
        telemetry: { functionId: 'weather-agent', integrations: [agentOpsTelemetry(store)] },
      });
      const expected = expectedRun(result.steps[0]!.callId, 'weather-agent');
      expect(await recordedRun(store)).toEqual(expected);
      await store.close();

      const reopened = await openStore({ adapter: indexedDbAdapter(name) });
      expect(await recordedRun(reopened)).toEqual(expected);
      await reopened.close();
    } finally {
      await deleteDatabase(`agent-ops-store:${name}`);
    }
  });
});
