import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { openStore, type SQLiteStore } from 'agent-ops-store';
import { memoryAdapter } from 'agent-ops-store/adapters/memory';
import { agentOpsTelemetry } from 'agent-ops-store/integrations/ai-sdk';
import { exportMissions } from 'agent-ops-store/integrations/otel';
import { generateText, stepCountIs } from 'ai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { agentTools, scriptedModel } from '../fixtures/ai-sdk-agent.js';

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes: { key: string; value: OtlpValue }[];
  status?: { code?: number; message?: string };
  events?: { name: string; timeUnixNano: string | number; attributes: { key: string; value: OtlpValue }[] }[];
}

/** An OTLP/HTTP receiver on 127.0.0.1 that keeps what it is sent, refuses large bodies and closes itself after 30 s at most. */
async function receiver(): Promise<{ url: string; spans: OtlpSpan[]; close(): Promise<void> }> {
  const spans: OtlpSpan[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 4 * 1024 * 1024) request.destroy();
      else chunks.push(chunk);
    });
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const resource of body.resourceSpans ?? []) for (const scope of resource.scopeSpans ?? []) spans.push(...scope.spans);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const timer = setTimeout(() => server.close(), 30_000).unref();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    close: () => {
      clearTimeout(timer);
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const attributes = (span: { attributes: { key: string; value: OtlpValue }[] }) =>
  Object.fromEntries(
    span.attributes.map(({ key, value }) => [
      key,
      value.stringValue ?? (value.intValue === undefined ? value.boolValue : Number(value.intValue)),
    ]),
  );
const stored = (time: string) => BigInt(Date.parse(time.replace(' ', 'T'))) * 1_000_000n;

describe('OpenTelemetry out (exportMissions)', () => {
  let store: SQLiteStore;
  beforeEach(async () => {
    store = await openStore({ adapter: memoryAdapter() });
  });
  afterEach(() => store.close());

  it('sends stored missions to an OTLP/HTTP receiver as GenAI spans with their times and parent links', async () => {
    const result = await generateText({
      model: scriptedModel(),
      tools: agentTools,
      stopWhen: stepCountIs(5),
      prompt: 'Weather in Paris, and ticket 7?',
      telemetry: { functionId: 'weather-agent', integrations: [agentOpsTelemetry(store)] },
    });
    const uuid = result.steps[0]!.callId;
    const otlp = await receiver();
    try {
      const exporter = new OTLPTraceExporter({ url: otlp.url });
      expect(await exportMissions(store, exporter, { mission: uuid })).toEqual({ missions: 1, spans: 4 });
      await exporter.shutdown();

      const mission = (await store.missions.get(uuid))!;
      const calls = await store.toolCalls.list({ mission: uuid });
      const decisions = await store.decisions.history(uuid);
      const [root, ...children] = otlp.spans;
      expect(root).toBeDefined();
      expect(root!.name).toBe('invoke_agent weather-agent');
      expect(root!.parentSpanId || undefined).toBeUndefined();
      expect(attributes(root!)).toMatchObject({
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.agent.name': 'weather-agent',
        'agent_ops.mission.uuid': uuid,
        'agent_ops.mission.status': 'completed',
        'agent_ops.mission.phase': 'step 3',
      });
      expect(BigInt(root!.startTimeUnixNano)).toBe(stored(mission.createdAt));
      expect(BigInt(root!.endTimeUnixNano) >= stored(mission.completedAt!)).toBe(true);
      expect(
        root!.events?.map((event) => [event.name, BigInt(event.timeUnixNano), attributes(event)['agent_ops.decision.rationale']]),
      ).toEqual(decisions.map((decision) => ['agent_ops.decision', stored(decision.timestamp), decision.rationale]));

      expect(children).toHaveLength(calls.length);
      for (const call of calls) {
        const span = children.find((child) => attributes(child)['agent_ops.tool_call.id'] === call.id)!;
        expect(span.traceId).toBe(root!.traceId);
        expect(span.parentSpanId).toBe(root!.spanId);
        expect(span.name).toBe(`execute_tool ${call.toolName}`);
        expect(BigInt(span.startTimeUnixNano)).toBe(stored(call.timestamp));
        expect(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)).toBe(BigInt(call.durationMs!) * 1_000_000n);
        expect(call.toolCallId).toMatch(/^call-\d$/);
        expect(attributes(span)).toMatchObject({
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.tool.name': call.toolName,
          'gen_ai.tool.call.id': call.toolCallId,
          'gen_ai.tool.call.arguments': JSON.stringify(call.args),
          // A plain Error keeps no type, so it goes out as the conventions' '_OTHER'.
          ...(call.success ? { 'gen_ai.tool.call.result': JSON.stringify(call.result) } : { 'error.type': '_OTHER' }),
        });
        expect(span.status?.code ?? 0).toBe(call.success ? 0 : 2);
        if (!call.success) expect(span.status?.message).toBe('ticket service unavailable');
      }

      // The same mission sent again keeps its ids; `since` after it leaves it out.
      const again = await receiver();
      try {
        const second = new OTLPTraceExporter({ url: again.url });
        await exportMissions(store, second);
        expect(await exportMissions(store, second, { since: new Date(Date.now() + 60_000) })).toEqual({ missions: 0, spans: 0 });
        await second.shutdown();
        expect(again.spans.map((span) => span.spanId).sort()).toEqual(otlp.spans.map((span) => span.spanId).sort());
      } finally {
        await again.close();
      }
    } finally {
      await otlp.close();
    }
  });

  it('sends calls recorded by hand alike: the id column as gen_ai.tool.call.id, a kept error type as error.type', async () => {
    await store.missions.create({ phase: 'P', uuid: 'by-hand' });
    await store.toolCalls.record({ mission: 'by-hand', toolName: 'read', args: {}, result: [1, 2], success: true, toolCallId: 'c-1' });
    await store.toolCalls.track('by-hand', 'plain', {}, () => 'ok');
    const timeout = Object.assign(new Error('slow'), { name: 'TimeoutError' });
    await store.toolCalls.record({
      mission: 'by-hand',
      toolName: 'fetch',
      args: {},
      result: { errorType: timeout.name },
      success: false,
      errorMessage: timeout.message,
      toolCallId: 'c-3',
    });
    const exporter = new InMemorySpanExporter();
    await exportMissions(store, exporter, { mission: 'by-hand' });
    const [, ...tools] = exporter.getFinishedSpans();
    expect(tools.map((span) => span.attributes)).toEqual([
      expect.objectContaining({ 'gen_ai.tool.call.id': 'c-1', 'gen_ai.tool.call.result': '[1,2]' }),
      expect.not.objectContaining({ 'gen_ai.tool.call.id': expect.anything() }),
      expect.objectContaining({ 'gen_ai.tool.call.id': 'c-3', 'error.type': 'TimeoutError' }),
    ]);
    expect(tools[1]!.attributes['gen_ai.tool.call.result']).toBe('"ok"');
  });

  it('rejects an unknown mission with NOT_FOUND and an exporter failure with IO', async () => {
    const otlp = await receiver();
    await otlp.close();
    await expect(exportMissions(store, new OTLPTraceExporter({ url: otlp.url }), { mission: 'nope' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await store.missions.create({ phase: 'PLANNING', uuid: 'm1' });
    const closed = new OTLPTraceExporter({ url: otlp.url, timeoutMillis: 2000 });
    await expect(exportMissions(store, closed)).rejects.toMatchObject({ code: 'IO' });
    await closed.shutdown();
    await expect(exportMissions(store, closed, { since: 'yesterday' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
});
