import { OpenTelemetry } from '@ai-sdk/otel';
import { context, trace } from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { openStore, type SQLiteStore } from 'agent-ops-store';
import { memoryAdapter } from 'agent-ops-store/adapters/memory';
import { agentOpsTelemetry } from 'agent-ops-store/integrations/ai-sdk';
import { AgentOpsSpanExporter } from 'agent-ops-store/integrations/otel';
import { generateText, stepCountIs } from 'ai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { agentTools, expectedRun, recordedRun, scriptedModel } from '../fixtures/ai-sdk-agent.js';

describe('OpenTelemetry in (AgentOpsSpanExporter)', () => {
  let direct: SQLiteStore;
  let viaSpans: SQLiteStore;
  beforeEach(async () => {
    direct = await openStore({ adapter: memoryAdapter() });
    viaSpans = await openStore({ adapter: memoryAdapter() });
  });
  afterEach(async () => {
    await direct.close();
    await viaSpans.close();
  });

  it('the AI SDK through @ai-sdk/otel gives the same rows as the direct integration', async () => {
    const warnings: string[] = [];
    // The AI SDK's call id rides on the agent span so both paths name the mission alike.
    const exporter = new AgentOpsSpanExporter(viaSpans, {
      onWarning: (message) => warnings.push(message),
      missionUuid: (span) => String(span.attributes['test.call_id']),
    });
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const otel = new OpenTelemetry({
      tracer: provider.getTracer('test'),
      enrichSpan: ({ spanType, callId }) => (spanType === 'operation' ? { 'test.call_id': callId } : undefined),
    });

    const result = await generateText({
      model: scriptedModel(),
      tools: agentTools,
      stopWhen: stepCountIs(5),
      prompt: 'Weather in Paris, and ticket 7?',
      telemetry: { functionId: 'weather-agent', integrations: [agentOpsTelemetry(direct), otel] },
    });
    await provider.forceFlush();
    await exporter.forceFlush();
    await provider.shutdown();

    const callId = result.steps[0]!.callId;
    expect(await recordedRun(direct)).toEqual(expectedRun(callId, 'weather-agent'));
    expect(await recordedRun(viaSpans)).toEqual(await recordedRun(direct));
    expect(warnings).toEqual([]);

    // Tool times come from the spans: the same start to within the span's own clock reading.
    const [directCalls, spanCalls] = [await direct.toolCalls.list(), await viaSpans.toolCalls.list()];
    for (const call of spanCalls) {
      const twin = directCalls.find((other) => other.toolCallId === call.toolCallId)!;
      expect(Math.abs(Date.parse(call.timestamp.replace(' ', 'T')) - Date.parse(twin.timestamp.replace(' ', 'T')))).toBeLessThan(50);
    }
    expect((await viaSpans.missions.get(callId))?.metadata).toMatchObject({ functionId: 'weather-agent', operation: 'invoke_agent' });
  });

  it('keeps tool spans until their agent span ends, across exports, and reports orphans at shutdown', async () => {
    const warnings: string[] = [];
    const exporter = new AgentOpsSpanExporter(viaSpans, { onWarning: (message) => warnings.push(message) });
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracer = provider.getTracer('test');

    const agent = tracer.startSpan('invoke_agent planner', {
      attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'planner' },
    });
    const inside = trace.setSpan(context.active(), agent);
    const toolSpan = tracer.startSpan(
      'execute_tool search',
      {
        attributes: {
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.tool.name': 'search',
          'gen_ai.tool.call.id': 'c1',
          'gen_ai.tool.call.arguments': '{"q":"argv"}',
          'error.type': 'TimeoutError',
        },
      },
      inside,
    );
    toolSpan.setStatus({ code: 2, message: 'search timed out' });
    toolSpan.end();
    // An empty id (some providers send one) is left out; the call is still recorded.
    const unnamed = tracer.startSpan(
      'execute_tool search',
      {
        attributes: {
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.tool.name': 'search',
          'gen_ai.tool.call.id': '',
          'gen_ai.tool.call.result': '{"hits":2}',
        },
        startTime: Date.now() + 1,
      },
      inside,
    );
    unnamed.end();
    await exporter.forceFlush();
    expect(await viaSpans.toolCalls.list()).toEqual([]);
    agent.setStatus({ code: 2, message: 'gave up' });
    agent.end();
    const stray = tracer.startSpan(
      'execute_tool lost',
      { attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'lost' } },
      trace.setSpan(context.active(), tracer.startSpan('unrelated')),
    );
    stray.end();
    await provider.forceFlush();
    await exporter.forceFlush();

    const { traceId, spanId } = agent.spanContext();
    const mission = await viaSpans.missions.get(`${traceId}-${spanId}`);
    expect(mission).toMatchObject({ status: 'failed', phase: 'invoke_agent' });
    expect(await viaSpans.toolCalls.list({ mission: mission!.id })).toMatchObject([
      {
        toolName: 'search',
        args: { q: 'argv' },
        success: false,
        errorMessage: 'search timed out',
        agentName: 'planner',
        toolCallId: 'c1',
        result: { errorType: 'TimeoutError' },
      },
      { toolName: 'search', success: true, errorMessage: null, toolCallId: null, result: { hits: 2 } },
    ]);
    await provider.shutdown();
    expect(warnings).toEqual(['1 tool span(s) had no agent span and were not recorded']);
  });
});
