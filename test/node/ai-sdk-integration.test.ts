import { openStore, type SQLiteStore } from 'agent-ops-store';
import { memoryAdapter } from 'agent-ops-store/adapters/memory';
import { agentOpsTelemetry } from 'agent-ops-store/integrations/ai-sdk';
import { generateText, registerTelemetry, stepCountIs, streamText } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { agentTools, expectedRun, recordedRun, scriptedModel } from '../fixtures/ai-sdk-agent.js';

describe('AI SDK integration (agentOpsTelemetry)', () => {
  let store: SQLiteStore;
  beforeEach(async () => {
    store = await openStore({ adapter: memoryAdapter() });
  });
  afterEach(async () => {
    globalThis.AI_SDK_TELEMETRY_INTEGRATIONS = undefined;
    await store.close().catch(() => undefined);
  });

  it('records a tool-calling loop with a failing tool: mission, phases, tool calls with ids, decisions', async () => {
    const phases: number[] = [];
    const telemetry = agentOpsTelemetry(store, {
      phase: (step) => {
        phases.push(step);
        return `step ${step + 1}`;
      },
    });
    const result = await generateText({
      model: scriptedModel(),
      tools: agentTools,
      stopWhen: stepCountIs(5),
      prompt: 'Weather in Paris, and ticket 7?',
      telemetry: { functionId: 'weather-agent', integrations: [telemetry] },
    });
    expect(result.text).toBe('Sunny in Paris and Lyon.');
    // generateText awaits every event, so the rows are durable once it resolves.
    const callId = result.steps[0]!.callId;
    expect(await recordedRun(store)).toEqual(expectedRun(callId, 'weather-agent'));
    expect(phases).toEqual([0, 0, 1, 2]);
    const mission = await store.missions.get(callId);
    expect(mission?.metadata).toEqual({
      functionId: 'weather-agent',
      operationId: 'ai.generateText',
      provider: 'mock-provider',
      modelId: 'mock-model',
    });
    const [first] = await store.toolCalls.list({ mission: callId });
    const [decision] = await store.decisions.history(callId);
    expect(decision!.timestamp <= first!.timestamp).toBe(true);
  });

  it('works when registered globally, and marks a call that throws as failed', async () => {
    registerTelemetry(agentOpsTelemetry(store, { missionUuid: ({ functionId }) => `${functionId}-1` }));
    const broken = new MockLanguageModelV4({
      doGenerate: async () => {
        throw new Error('provider down');
      },
    });
    await expect(generateText({ model: broken, prompt: 'hi', maxRetries: 0, telemetry: { functionId: 'broken' } })).rejects.toThrow(
      'provider down',
    );
    const mission = await store.missions.get('broken-1');
    expect(mission).toMatchObject({ status: 'failed', phase: 'step 1', metadata: { functionId: 'broken' } });
  });

  it('marks an aborted stream as cancelled', async () => {
    const telemetry = agentOpsTelemetry(store, { missionUuid: () => 'aborted' });
    const controller = new AbortController();
    const model = new MockLanguageModelV4({
      doStream: async () => ({
        stream: new ReadableStream({
          start(stream) {
            stream.enqueue({ type: 'stream-start', warnings: [] });
            stream.enqueue({ type: 'text-start', id: 't' });
            stream.enqueue({ type: 'text-delta', id: 't', delta: 'partial' });
            controller.abort();
          },
        }),
      }),
    });
    const result = streamText({ model, prompt: 'hi', abortSignal: controller.signal, telemetry: { integrations: [telemetry] } });
    await result.consumeStream({ onError: () => undefined });
    await telemetry.flush();
    expect((await store.missions.get('aborted'))?.status).toBe('cancelled');
  });

  it('refuses a missing store or options that are not an object, before any run', () => {
    expect(() => agentOpsTelemetry(undefined as unknown as SQLiteStore)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => agentOpsTelemetry(store, null as unknown as object)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });

  it('reports recording failures to onWarning and never breaks the run', async () => {
    const warnings: string[] = [];
    const telemetry = agentOpsTelemetry(store, { onWarning: (message) => warnings.push(message) });
    await store.close();
    const result = await generateText({
      model: scriptedModel(),
      tools: agentTools,
      stopWhen: stepCountIs(5),
      prompt: 'Weather?',
      telemetry: { integrations: [telemetry] },
    });
    expect(result.text).toBe('Sunny in Paris and Lyon.');
    expect(warnings.length).toBeGreaterThanOrEqual(6);
    expect(warnings[0]).toMatch(/^could not record mission '.+': .*closed/i);
  });
});
