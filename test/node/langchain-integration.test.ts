import { AIMessage } from '@langchain/core/messages';
import type { ChatResult } from '@langchain/core/outputs';
import { tool } from '@langchain/core/tools';
import { FakeStreamingChatModel } from '@langchain/core/utils/testing';
import { MemorySaver } from '@langchain/langgraph';
import { createReactAgent } from '@langchain/langgraph/prebuilt';
import { openStore, type SQLiteStore } from 'agent-ops-store';
import { memoryAdapter } from 'agent-ops-store/adapters/memory';
import { AgentOpsCallbackHandler } from 'agent-ops-store/integrations/langchain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

const getWeather = tool(async ({ city }) => JSON.stringify({ city, sky: 'sunny' }), {
  name: 'get_weather',
  description: 'The weather in a city',
  schema: z.object({ city: z.string() }),
});
const lookupTicket = tool(
  async (): Promise<string> => {
    throw new Error('ticket service unavailable');
  },
  { name: 'lookup_ticket', description: 'A support ticket by id', schema: z.object({ id: z.number() }) },
);

/**
 * The testing fake answers every call with its first response; an agent loop needs the next
 * one each time, so this one walks through its script (and binding tools keeps the same script).
 */
class ScriptedChatModel extends FakeStreamingChatModel {
  #next = 0;

  override bindTools(): this {
    return this;
  }

  override async _generate(): Promise<ChatResult> {
    const message = this.responses[this.#next++];
    if (!message) throw new Error('the script has no more answers');
    return { generations: [{ text: String(message.content), message }] };
  }
}

/** A chat model scripted like the AI SDK test: two tools (one throws), then one more, then an answer. */
function scriptedModel() {
  return new ScriptedChatModel({
    sleep: 0,
    responses: [
      new AIMessage({
        content: 'Checking both.',
        tool_calls: [
          { id: 'call-1', name: 'get_weather', args: { city: 'Paris' }, type: 'tool_call' },
          { id: 'call-2', name: 'lookup_ticket', args: { id: 7 }, type: 'tool_call' },
        ],
      }),
      new AIMessage({
        content: 'The ticket service is down; Lyon instead.',
        tool_calls: [{ id: 'call-3', name: 'get_weather', args: { city: 'Lyon' }, type: 'tool_call' }],
      }),
      new AIMessage('Sunny in Paris and Lyon.'),
    ],
  });
}

describe('LangChain integration (AgentOpsCallbackHandler)', () => {
  let store: SQLiteStore;
  beforeEach(async () => {
    store = await openStore({ adapter: memoryAdapter() });
  });
  afterEach(() => store.close().catch(() => undefined));

  it('records a LangGraph agent with a ToolNode and a throwing tool under its thread id', async () => {
    const agent = createReactAgent({ llm: scriptedModel(), tools: [getWeather, lookupTicket], checkpointer: new MemorySaver() });
    const handler = new AgentOpsCallbackHandler(store, { agentName: 'support-agent' });
    const out = await agent.invoke(
      { messages: [{ role: 'user', content: 'Weather in Paris, and ticket 7?' }] },
      { callbacks: [handler], configurable: { thread_id: 'ticket-42' } },
    );
    expect(out.messages.at(-1)?.content).toBe('Sunny in Paris and Lyon.');
    await handler.flush();

    const missions = await store.missions.list();
    expect(missions).toHaveLength(1);
    expect(missions[0]).toMatchObject({ uuid: 'ticket-42', status: 'completed', metadata: { threadId: 'ticket-42' } });

    const calls = (await store.toolCalls.list({ mission: 'ticket-42' })).sort((a, b) => a.toolCallId!.localeCompare(b.toolCallId!));
    expect(calls.map((call) => [call.toolCallId, call.toolName, call.args, call.success, call.errorMessage, call.agentName])).toEqual([
      ['call-1', 'get_weather', { city: 'Paris' }, true, null, 'support-agent'],
      ['call-2', 'lookup_ticket', { id: 7 }, false, 'ticket service unavailable', 'support-agent'],
      ['call-3', 'get_weather', { city: 'Lyon' }, true, null, 'support-agent'],
    ]);
    // The tool's output as it returned it; a plain Error keeps nothing beyond its message.
    expect(calls.map((call) => call.result)).toEqual(['{"city":"Paris","sky":"sunny"}', null, '{"city":"Lyon","sky":"sunny"}']);
    expect((await store.toolCalls.list({ toolCallId: 'call-2' })).map((call) => call.id)).toEqual([calls[1]!.id]);
    for (const call of calls) expect(call.durationMs).toBeGreaterThanOrEqual(0);

    const decisions = await store.decisions.history('ticket-42');
    expect(decisions.map((decision) => [decision.decisionType, decision.rationale, decision.agentName])).toEqual([
      ['tool_choice', 'Checking both.\ncalls: get_weather (call-1), lookup_ticket (call-2)', 'support-agent'],
      ['tool_choice', 'The ticket service is down; Lyon instead.\ncalls: get_weather (call-3)', 'support-agent'],
    ]);
  });

  it('records a tool run on its own as a mission, and a legacy agent action as a decision', async () => {
    const handler = new AgentOpsCallbackHandler(store);
    await expect(lookupTicket.invoke({ id: 9 }, { callbacks: [handler], runId: '5f0c6a2e-0d7a-4a59-9d1e-3c1f6f1d2b10' })).rejects.toThrow(
      'ticket service unavailable',
    );
    await handler.flush();
    const mission = await store.missions.get('5f0c6a2e-0d7a-4a59-9d1e-3c1f6f1d2b10');
    expect(mission).toMatchObject({ status: 'failed', phase: 'lookup_ticket' });
    const [call] = await store.toolCalls.list({ mission: mission!.id });
    expect(call).toMatchObject({ toolName: 'lookup_ticket', args: { id: 9 }, success: false, errorMessage: 'ticket service unavailable' });

    const root = '0b6f8f7e-1111-4c3a-9a5e-7a3c2b1d0e9f';
    await handler.handleChainStart(
      { lc: 1, type: 'not_implemented', id: ['AgentExecutor'] },
      {},
      root,
      undefined,
      [],
      {},
      'chain',
      'AgentExecutor',
    );
    await handler.handleAgentAction({ tool: 'search', toolInput: { q: 'argv' }, log: 'I should search for argv.' }, root);
    await handler.handleChainEnd({}, root);
    await handler.flush();
    expect((await store.decisions.history(root)).map((decision) => decision.rationale)).toEqual([
      'I should search for argv.\ncalls: search',
    ]);
    expect((await store.missions.get(root))?.status).toBe('completed');
  });

  it('reports recording failures to onWarning and never breaks the run', async () => {
    const warnings: string[] = [];
    const handler = new AgentOpsCallbackHandler(store, { onWarning: (message) => warnings.push(message) });
    await store.close();
    const agent = createReactAgent({ llm: scriptedModel(), tools: [getWeather, lookupTicket] });
    const out = await agent.invoke({ messages: [{ role: 'user', content: 'Weather?' }] }, { callbacks: [handler] });
    expect(out.messages.at(-1)?.content).toBe('Sunny in Paris and Lyon.');
    await handler.flush();
    expect(warnings.length).toBeGreaterThanOrEqual(5);
    expect(warnings[0]).toMatch(/^could not record mission/);
  });
});
