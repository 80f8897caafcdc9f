/**
 * The AI SDK (`ai` 7) integration: every generate, stream or agent call becomes a mission,
 * its steps the mission's phase, its tool executions tool calls and the model's choice of
 * tools in each step a decision.
 */
import type { SQLiteStore } from 'agent-ops-store';
import type {
  GenerateTextAbortEvent,
  GenerateTextEndEvent,
  GenerateTextStartEvent,
  GenerateTextStepEndEvent,
  GenerateTextStepStartEvent,
  InferTelemetryEvent,
  LanguageModelCallEndEvent,
  Telemetry,
  ToolExecutionEndEvent,
  ToolExecutionStartEvent,
} from 'ai';
import {
  beginMission,
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

/** What `agentOpsTelemetry` takes. */
export interface AgentOpsTelemetryOptions {
  /** Told about every event that could not be recorded. Default: console.warn. */
  readonly onWarning?: WarningSink;
  /** The mission's uuid for a call. Default: the AI SDK's call id. */
  readonly missionUuid?: (call: { readonly callId: string; readonly functionId: string | undefined }) => string;
  /** The mission's phase while a step runs (steps count from 0). Default: `step 1`, `step 2`, ... as `@ai-sdk/otel` names its step spans. */
  readonly phase?: (stepNumber: number) => string;
  /** Who made the calls and decisions. Default: the call's `functionId`, else 'ai-sdk'. */
  readonly agentName?: string;
}

/** An AI SDK telemetry integration that records into a store; `flush()` resolves once every event so far is durable. */
export interface AgentOpsTelemetry extends Telemetry {
  flush(): Promise<void>;
}

/** The operations that are agent runs; embeddings, speech and the like are not missions. */
const RUNS = new Set(['ai.generateText', 'ai.streamText', 'ai.generateObject', 'ai.streamObject']);

interface CallState {
  readonly uuid: string;
  readonly agentName: string;
  phase: string;
  /** When the model answered in the current step: the time of its tool-choice decision. */
  decidedAt: Date | undefined;
  readonly toolStarts: Map<string, Date>;
}

/**
 * Records AI SDK calls into the store. Each event costs at most one durable write, queued in
 * order; the SDK awaits the event, so a call resolves only once its record is durable. A write
 * that fails is reported to `onWarning` and never reaches the agent.
 *
 * @example
 * const telemetry = agentOpsTelemetry(store);
 * await generateText({ model, tools, prompt, telemetry: { functionId: 'triage', integrations: [telemetry] } });
 * // or for every call: registerTelemetry(agentOpsTelemetry(store));
 */
export function agentOpsTelemetry(store: SQLiteStore, options: AgentOpsTelemetryOptions = {}): AgentOpsTelemetry {
  requireStoreAndOptions('agentOpsTelemetry', store, options);
  const queue = new WriteQueue(options.onWarning ?? consoleWarning('ai-sdk'));
  const phaseOf = options.phase ?? ((stepNumber: number) => `step ${stepNumber + 1}`);
  const calls = new Map<string, CallState>();
  const at = (event: { readonly timestamp?: number }) => (event.timestamp === undefined ? new Date() : new Date(event.timestamp));

  const finish = (callId: string, status: EndStatus) => {
    const call = calls.get(callId);
    if (!call) return undefined;
    calls.delete(callId);
    return queue.run(`the end of mission '${call.uuid}'`, () => store.transaction((tx) => endMission(tx, call.uuid, status)));
  };

  return {
    onStart(event: InferTelemetryEvent<GenerateTextStartEvent>) {
      if (!RUNS.has(event.operationId)) return undefined;
      const functionId = event.functionId;
      const uuid = options.missionUuid ? options.missionUuid({ callId: event.callId, functionId }) : event.callId;
      const call: CallState = {
        uuid,
        agentName: options.agentName ?? functionId ?? 'ai-sdk',
        phase: phaseOf(0),
        decidedAt: undefined,
        toolStarts: new Map(),
      };
      calls.set(event.callId, call);
      const metadata = jsonSafe({ functionId, operationId: event.operationId, provider: event.provider, modelId: event.modelId });
      return queue.run(`mission '${uuid}'`, () => store.transaction((tx) => beginMission(tx, uuid, call.phase, metadata)));
    },

    onStepStart(event: InferTelemetryEvent<GenerateTextStepStartEvent>) {
      const call = calls.get(event.callId);
      if (!call) return undefined;
      call.decidedAt = undefined;
      const phase = phaseOf(event.stepNumber);
      if (phase === call.phase) return undefined;
      call.phase = phase;
      return queue.run(`the phase of mission '${call.uuid}'`, () => store.missions.setPhase(call.uuid, phase));
    },

    onLanguageModelCallEnd(event: InferTelemetryEvent<LanguageModelCallEndEvent>) {
      // No write here: the decision is recorded with the whole step, at the time the model answered.
      const call = calls.get(event.callId);
      if (call) call.decidedAt = at(event);
    },

    onToolExecutionStart(event: InferTelemetryEvent<ToolExecutionStartEvent>) {
      calls.get(event.callId)?.toolStarts.set(event.toolCall.toolCallId, at(event));
    },

    onToolExecutionEnd(event: InferTelemetryEvent<ToolExecutionEndEvent>) {
      const call = calls.get(event.callId);
      if (!call) return undefined;
      const { toolCall, toolOutput } = event;
      const started = call.toolStarts.get(toolCall.toolCallId) ?? new Date(at(event).getTime() - event.toolExecutionMs);
      call.toolStarts.delete(toolCall.toolCallId);
      const failed = toolOutput.type === 'tool-error';
      return queue.run(`tool call '${toolCall.toolCallId}'`, () =>
        store.toolCalls.record({
          mission: call.uuid,
          toolName: wellFormed(toolCall.toolName),
          args: jsonSafe(toolCall.input),
          result: failed ? toolResult({ errorType: errorType(toolOutput.error) }) : toolResult({ output: toolOutput.output }),
          durationMs: Math.max(0, Math.round(event.toolExecutionMs)),
          success: !failed,
          ...(failed ? { errorMessage: errorText(toolOutput.error) } : {}),
          agentName: call.agentName,
          timestamp: started,
          toolCallId: toolCallIdOf(toolCall.toolCallId),
        }),
      );
    },

    onStepEnd(event: InferTelemetryEvent<GenerateTextStepEndEvent>) {
      const call = calls.get(event.callId);
      if (!call || event.toolCalls.length === 0) return undefined;
      const why = [event.reasoningText ?? '', event.text].filter((part) => part.trim() !== '').join('\n');
      const chosen = event.toolCalls.map((toolCall) => ({ toolName: toolCall.toolName, toolCallId: toolCall.toolCallId }));
      const decidedAt = call.decidedAt ?? at(event);
      return queue.run(`the tool choice of step ${event.stepNumber} in mission '${call.uuid}'`, () =>
        store.decisions.record({
          mission: call.uuid,
          decisionType: TOOL_CHOICE,
          rationale: toolChoiceRationale(why, chosen),
          agentName: call.agentName,
          timestamp: decidedAt,
        }),
      );
    },

    onEnd(event: InferTelemetryEvent<GenerateTextEndEvent>) {
      return finish(event.callId, 'finishReason' in event && event.finishReason === 'error' ? 'failed' : 'completed');
    },

    onError(event: unknown) {
      // The SDK reports { callId, error }; anything else cannot be placed.
      const callId = event !== null && typeof event === 'object' && 'callId' in event ? String(event.callId) : undefined;
      return callId === undefined ? undefined : finish(callId, 'failed');
    },

    onAbort(event: InferTelemetryEvent<GenerateTextAbortEvent>) {
      return finish(event.callId, 'cancelled');
    },

    flush: () => queue.flush(),
  };
}
