/**
 * The LangChain (`@langchain/core` 1.x) integration: a callback handler that records a root run
 * as a mission, every tool run as a tool call and the model's tool choices as decisions.
 */

import type { AgentAction } from '@langchain/core/agents';
import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import type { Serialized } from '@langchain/core/load/serializable';
import type { LLMResult } from '@langchain/core/outputs';
import type { JsonValue, SQLiteStore } from 'agent-ops-store';
import {
  beginMission,
  type ChosenTool,
  type EndStatus,
  endMission,
  errorText,
  errorType,
  jsonSafe,
  requireStoreAndOptions,
  TOOL_CHOICE,
  toolCallIdOf,
  toolChoiceRationale,
  toolResult,
  wellFormed,
} from './records.js';
import { consoleWarning, type WarningSink, WriteQueue } from './write-queue.js';

/** What `AgentOpsCallbackHandler` takes. */
export interface AgentOpsCallbackHandlerOptions {
  /** Told about every event that could not be recorded. Default: console.warn. */
  readonly onWarning?: WarningSink;
  /** Who made the calls and decisions. Default: the root run's name, else 'langchain'. */
  readonly agentName?: string;
}

interface Mission {
  readonly uuid: string;
  readonly agentName: string;
  /** Tool call ids already recorded as chosen, so an agent action repeating a model's choice is not recorded twice. */
  readonly decided: Set<string>;
  /** Set when a run inside it stopped at an interrupt: the graph ends normally, yet will resume. */
  interrupted?: boolean;
}

interface ToolRun {
  readonly toolName: string;
  readonly args: JsonValue;
  readonly toolCallId: string | undefined;
  readonly started: Date;
}

/**
 * Records LangChain and LangGraph runs into the store. Each event costs at most one durable
 * write, queued in order; the handler asks LangChain to await it, so a run resolves once its
 * record is durable. A write that fails goes to `onWarning` and never reaches the agent.
 *
 * @example
 * const handler = new AgentOpsCallbackHandler(store);
 * await graph.invoke(input, { callbacks: [handler], configurable: { thread_id: 'ticket-42' } });
 * // the mission 'ticket-42' holds the run's tool calls and the model's tool choices
 */
export class AgentOpsCallbackHandler extends BaseCallbackHandler {
  name = 'agent_ops_store';
  readonly #store: SQLiteStore;
  readonly #queue: WriteQueue;
  readonly #agentName: string | undefined;
  /** Every open run's root run id; a root maps to itself. */
  readonly #roots = new Map<string, string>();
  readonly #missions = new Map<string, Mission>();
  readonly #tools = new Map<string, ToolRun>();

  constructor(store: SQLiteStore, options: AgentOpsCallbackHandlerOptions = {}) {
    super({ _awaitHandler: true });
    requireStoreAndOptions('AgentOpsCallbackHandler', store, options);
    this.#store = store;
    this.#queue = new WriteQueue(options.onWarning ?? consoleWarning('langchain'));
    this.#agentName = options.agentName;
  }

  /** Resolves once every event so far is durable (or reported as not recorded). */
  flush(): Promise<void> {
    return this.#queue.flush();
  }

  /** The handler keeps the runs it has seen: LangChain's copies must share them, not start empty. */
  override copy(): BaseCallbackHandler {
    return this;
  }

  // LangChain declares this hook as (chain, inputs, runId, runType, tags, metadata, runName,
  // parentRunId) but its callback manager calls it with (..., runId, parentRunId, tags,
  // metadata, runType, runName), as its own tracers read it: the names follow the call.
  override handleChainStart(
    _chain: Serialized,
    _inputs: unknown,
    runId: string,
    parentRunId?: string,
    _tags?: string[],
    metadata?: Record<string, unknown>,
    runType?: string,
    runName?: string,
  ): Promise<void> | undefined {
    return this.#start(runId, parentRunId, metadata, runName ?? runType);
  }

  override handleChatModelStart(
    llm: Serialized,
    _messages: unknown,
    runId: string,
    parentRunId?: string,
    _extraParams?: Record<string, unknown>,
    _tags?: string[],
    metadata?: Record<string, unknown>,
    runName?: string,
  ): Promise<void> | undefined {
    return this.#start(runId, parentRunId, metadata, runName ?? serializedName(llm));
  }

  override handleLLMStart(
    llm: Serialized,
    _prompts: string[],
    runId: string,
    parentRunId?: string,
    _extraParams?: Record<string, unknown>,
    _tags?: string[],
    metadata?: Record<string, unknown>,
    runName?: string,
  ): Promise<void> | undefined {
    return this.#start(runId, parentRunId, metadata, runName ?? serializedName(llm));
  }

  override handleChainEnd(_outputs: unknown, runId: string): Promise<void> | undefined {
    const ended = this.#close(runId);
    // LangGraph 1.x ends an interrupted graph normally (the node that called interrupt() errs
    // with GraphInterrupt): the thread resumes later, so the mission stays in progress.
    return ended && this.#endMission(ended, ended.interrupted ? undefined : 'completed');
  }

  override handleChainError(error: unknown, runId: string): Promise<void> | undefined {
    if (statusAfter(error) === undefined) {
      const mission = this.#missionOf(runId);
      if (mission) mission.interrupted = true;
    }
    const ended = this.#close(runId);
    return ended && this.#endMission(ended, statusAfter(error));
  }

  override handleLLMEnd(output: LLMResult, runId: string): Promise<void> | undefined {
    const mission = this.#missionOf(runId);
    const ended = this.#close(runId);
    const chosen = mission ? toolChoices(output) : undefined;
    if (!mission || !chosen || chosen.calls.length === 0) return ended && this.#endMission(ended, 'completed');
    for (const call of chosen.calls) if (call.toolCallId) mission.decided.add(call.toolCallId);
    // A model run that is itself the root ends its mission in the same write as its decision.
    return this.#queue.run(`the tool choice in mission '${mission.uuid}'`, () =>
      this.#store.transaction(async (tx) => {
        await tx.decisions.record({
          mission: mission.uuid,
          decisionType: TOOL_CHOICE,
          rationale: toolChoiceRationale(chosen.why, chosen.calls),
          agentName: mission.agentName,
          timestamp: new Date(),
        });
        if (ended) await endMission(tx, ended.uuid, 'completed');
      }),
    );
  }

  override handleLLMError(error: unknown, runId: string): Promise<void> | undefined {
    const ended = this.#close(runId);
    return ended && this.#endMission(ended, statusAfter(error));
  }

  override handleAgentAction(action: AgentAction, runId: string): Promise<void> | undefined {
    const mission = this.#missionOf(runId);
    if (!mission) return undefined;
    // A tool-calling agent's action repeats the model's own choice, already recorded from its output.
    const toolCallId = 'toolCallId' in action && typeof action.toolCallId === 'string' ? action.toolCallId : undefined;
    if (toolCallId && mission.decided.has(toolCallId)) return undefined;
    const call: ChosenTool = { toolName: action.tool, ...(toolCallId ? { toolCallId } : {}) };
    return this.#queue.run(`the agent action in mission '${mission.uuid}'`, () =>
      this.#store.decisions.record({
        mission: mission.uuid,
        decisionType: TOOL_CHOICE,
        rationale: toolChoiceRationale(action.log, [call]),
        agentName: mission.agentName,
        timestamp: new Date(),
      }),
    );
  }

  override handleToolStart(
    tool: Serialized,
    input: string,
    runId: string,
    parentRunId?: string,
    _tags?: string[],
    metadata?: Record<string, unknown>,
    runName?: string,
    toolCallId?: string,
  ): Promise<void> | undefined {
    const toolName = wellFormed(runName ?? serializedName(tool));
    this.#tools.set(runId, { toolName, args: parsedInput(input), toolCallId: toolCallIdOf(toolCallId), started: new Date() });
    return this.#start(runId, parentRunId, metadata, toolName);
  }

  override handleToolEnd(output: unknown, runId: string): Promise<void> | undefined {
    // A tool may report its own failure as a ToolMessage with status 'error' instead of throwing.
    const message = toolMessage(output);
    if (message?.status === 'error') return this.#toolDone(runId, { error: message.content });
    return this.#toolDone(runId, { output: message ? message.content : output });
  }

  override handleToolError(error: unknown, runId: string): Promise<void> | undefined {
    return this.#toolDone(runId, { error });
  }

  #start(runId: string, parentRunId: string | undefined, metadata: Record<string, unknown> | undefined, runName: string | undefined) {
    const root = parentRunId === undefined ? runId : this.#roots.get(parentRunId);
    if (root === undefined) return undefined; // a child of a run this handler never saw start
    this.#roots.set(runId, root);
    if (root !== runId) return undefined;
    // LangGraph passes the thread id in the run's metadata: a thread is one mission across its runs.
    const threadId = metadata?.thread_id;
    const uuid = typeof threadId === 'string' && threadId !== '' ? wellFormed(threadId) : runId;
    const name = runName ? wellFormed(runName) : undefined;
    const mission: Mission = { uuid, agentName: this.#agentName ?? name ?? 'langchain', decided: new Set() };
    this.#missions.set(root, mission);
    const details = jsonSafe({ runName: name, runId, threadId: typeof threadId === 'string' ? threadId : undefined });
    return this.#queue.run(`mission '${uuid}'`, () => this.#store.transaction((tx) => beginMission(tx, uuid, name ?? 'run', details)));
  }

  /** Forgets a finished run; for a root run, gives back its mission, which the caller ends. */
  #close(runId: string): Mission | undefined {
    const root = this.#roots.get(runId);
    this.#roots.delete(runId);
    if (root !== runId) return undefined;
    const mission = this.#missions.get(root);
    this.#missions.delete(root);
    for (const [run, runRoot] of this.#roots) if (runRoot === root) this.#roots.delete(run);
    return mission;
  }

  #endMission(mission: Mission, status: EndStatus | undefined): Promise<void> | undefined {
    if (status === undefined) return undefined;
    return this.#queue.run(`the end of mission '${mission.uuid}'`, () =>
      this.#store.transaction((tx) => endMission(tx, mission.uuid, status)),
    );
  }

  /** Records a tool run; a root tool run's mission ends in the same write. */
  #toolDone(runId: string, outcome: { readonly output?: unknown; readonly error?: unknown }) {
    const tool = this.#tools.get(runId);
    this.#tools.delete(runId);
    const mission = this.#missionOf(runId);
    const ended = this.#close(runId);
    if (!tool || !mission) return undefined;
    const failed = 'error' in outcome;
    const status = failed ? statusAfter(outcome.error) : 'completed';
    return this.#queue.run(`tool call '${tool.toolCallId ?? tool.toolName}' in mission '${mission.uuid}'`, () =>
      this.#store.transaction(async (tx) => {
        await tx.toolCalls.record({
          mission: mission.uuid,
          toolName: tool.toolName,
          args: tool.args,
          result: failed ? toolResult({ errorType: errorType(outcome.error) }) : toolResult({ output: outcome.output }),
          durationMs: Math.max(0, Date.now() - tool.started.getTime()),
          success: !failed,
          ...(failed ? { errorMessage: errorText(outcome.error) } : {}),
          agentName: mission.agentName,
          timestamp: tool.started,
          toolCallId: tool.toolCallId,
        });
        if (ended && status) await endMission(tx, ended.uuid, status);
      }),
    );
  }

  #missionOf(runId: string): Mission | undefined {
    const root = this.#roots.get(runId);
    return root === undefined ? undefined : this.#missions.get(root);
  }
}

/** How a failed run leaves its mission: an interrupt pauses it (the thread resumes later), an abort cancels it. */
function statusAfter(error: unknown): EndStatus | undefined {
  const name = error instanceof Error ? error.name : '';
  if (name === 'GraphInterrupt' || name === 'NodeInterrupt') return undefined;
  return name === 'AbortError' ? 'cancelled' : 'failed';
}

function serializedName(serialized: Serialized): string {
  const named = (serialized as { name?: unknown }).name;
  return typeof named === 'string' && named !== '' ? named : (serialized.id.at(-1) ?? 'unknown');
}

/** LangChain hands a tool's input over as text; JSON arguments are stored as the object they were. */
function parsedInput(input: string): JsonValue {
  try {
    return jsonSafe(JSON.parse(input));
  } catch {
    return input;
  }
}

interface ToolMessageLike {
  readonly content: unknown;
  readonly status?: unknown;
}

function toolMessage(output: unknown): ToolMessageLike | undefined {
  if (output === null || typeof output !== 'object' || !('tool_call_id' in output) || !('content' in output)) return undefined;
  return output as ToolMessageLike;
}

/** The tool calls in a model's answer and what it said alongside them (reasoning first, then text). */
function toolChoices(output: LLMResult): { why: string; calls: ChosenTool[] } {
  const calls: ChosenTool[] = [];
  const said: string[] = [];
  for (const generation of output.generations.flat()) {
    const message = (generation as { message?: { content?: unknown; tool_calls?: unknown } }).message;
    if (!message) continue;
    const toolCalls = Array.isArray(message.tool_calls) ? (message.tool_calls as { name?: unknown; id?: unknown }[]) : [];
    for (const call of toolCalls) {
      if (typeof call.name !== 'string') continue;
      calls.push({ toolName: call.name, ...(typeof call.id === 'string' ? { toolCallId: call.id } : {}) });
    }
    said.push(...textOf(message.content));
  }
  return { why: said.join('\n'), calls };
}

function textOf(content: unknown): string[] {
  if (typeof content === 'string') return content.trim() ? [content] : [];
  if (!Array.isArray(content)) return [];
  const reasoning: string[] = [];
  const text: string[] = [];
  for (const block of content as { type?: unknown; text?: unknown; reasoning?: unknown; thinking?: unknown }[]) {
    if (block.type === 'text' && typeof block.text === 'string') text.push(block.text);
    else if (block.type === 'reasoning' && typeof block.reasoning === 'string') reasoning.push(block.reasoning);
    else if (block.type === 'thinking' && typeof block.thinking === 'string') reasoning.push(block.thinking);
  }
  return [...reasoning, ...text].filter((part) => part.trim() !== '');
}
