import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { JsonValue, SQLiteStore, StoreTransaction } from 'agent-ops-store';
import { fromHrTime, GEN_AI, STATUS_ERROR, textAttribute } from './otel-spans.js';
import {
  beginMission,
  type ChosenTool,
  type EndStatus,
  endMission,
  jsonSafe,
  requireStoreAndOptions,
  TOOL_CHOICE,
  toolCallIdOf,
  toolChoiceRationale,
  toolResult,
  wellFormed,
} from './records.js';
import { consoleWarning, type WarningSink, WriteQueue } from './write-queue.js';

type ExportResult = Parameters<Parameters<SpanExporter['export']>[1]>[0];
const SUCCESS = 0 as ExportResult['code'];
const FAILED = 1 as ExportResult['code'];

/** What `AgentOpsSpanExporter` takes. */
export interface AgentOpsSpanExporterOptions {
  /** Told about spans that could not be recorded. Default: console.warn. */
  readonly onWarning?: WarningSink;
  /** The uuid of the mission an agent span becomes. Default: `<trace id>-<span id>`. */
  readonly missionUuid?: (span: ReadableSpan) => string;
  /** How many spans may wait for their agent span to end before the oldest are dropped. Default 10 000. */
  readonly maxPendingSpans?: number;
}

const MISSION_OPERATIONS = new Set(['invoke_agent', 'invoke_workflow']);
/** Spans kept until their agent span ends: children end, and are exported, before their parents. */
const WAITING_OPERATIONS = new Set(['execute_tool', 'chat', 'agent_step']);

interface KnownMission {
  readonly uuid: string;
  readonly agentName: string;
}

/**
 * An OpenTelemetry `SpanExporter` that turns GenAI semantic-convention spans into rows:
 * `invoke_agent` / `invoke_workflow` spans into missions, `execute_tool` spans into tool
 * calls, and a model's `chat` span that chose tools into a decision. Each export is one durable
 * write. Spans that end before their agent span (all of them, normally) wait for it.
 *
 * @example
 * const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new AgentOpsSpanExporter(store))] });
 */
export class AgentOpsSpanExporter implements SpanExporter {
  readonly #store: SQLiteStore;
  readonly #queue: WriteQueue;
  readonly #missionUuid: (span: ReadableSpan) => string;
  readonly #maxPending: number;
  /** span key -> parent span key, for every span seen lately: how a tool span finds its agent. */
  readonly #parents = new Map<string, string>();
  /** agent span key -> its mission, once written. */
  readonly #missions = new Map<string, KnownMission>();
  #pending: ReadableSpan[] = [];
  #shutdown = false;

  constructor(store: SQLiteStore, options: AgentOpsSpanExporterOptions = {}) {
    requireStoreAndOptions('AgentOpsSpanExporter', store, options);
    this.#store = store;
    this.#queue = new WriteQueue(options.onWarning ?? consoleWarning('otel'));
    this.#missionUuid = options.missionUuid ?? ((span) => `${span.spanContext().traceId}-${span.spanContext().spanId}`);
    this.#maxPending = options.maxPendingSpans ?? 10_000;
  }

  /** Records a batch of spans in one write; reports FAILED (and warns) when it could not. */
  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.#shutdown) {
      resultCallback({ code: FAILED, error: new Error('agent-ops-store span exporter is shut down') });
      return;
    }
    let failure: unknown;
    const agents: ReadableSpan[] = [];
    for (const span of spans) {
      const parent = span.parentSpanContext?.spanId;
      if (parent) this.#remember(this.#parents, keyOf(span), `${span.spanContext().traceId}:${parent}`, this.#maxPending * 4);
      const operation = textAttribute(span.attributes, GEN_AI.operation);
      if (operation && MISSION_OPERATIONS.has(operation)) agents.push(span);
      else if (operation && WAITING_OPERATIONS.has(operation)) this.#pending.push(span);
    }
    this.#dropOverflow();
    const plan = this.#plan(agents);
    if (plan.missions.length === 0 && plan.children.length === 0) {
      resultCallback({ code: SUCCESS });
      return;
    }
    const write = () =>
      this.#store
        .transaction(async (tx) => {
          for (const mission of plan.missions) await mission(tx);
          for (const child of plan.children) await child(tx);
        })
        .catch((error: unknown) => {
          failure = error;
          throw error;
        });
    void this.#queue
      .run(`${spans.length} span(s)`, write)
      .then(() => resultCallback(failure === undefined ? { code: SUCCESS } : { code: FAILED, error: asError(failure) }));
  }

  /** Resolves once every export so far is written. */
  forceFlush(): Promise<void> {
    return this.#queue.flush();
  }

  /** Writes what is queued; spans still waiting for an agent span that never came are reported and dropped. */
  async shutdown(): Promise<void> {
    this.#shutdown = true;
    await this.#queue.flush();
    const orphans = this.#pending.filter((span) => textAttribute(span.attributes, GEN_AI.operation) === 'execute_tool');
    if (orphans.length > 0) this.#queue.warn(`${orphans.length} tool span(s) had no agent span and were not recorded`);
    this.#pending = [];
  }

  /** The writes for this batch: its agent spans' missions first, then every waiting span that now has its mission. */
  #plan(agents: readonly ReadableSpan[]) {
    const missions: ((tx: StoreTransaction) => Promise<void>)[] = [];
    const fresh = new Map<string, ReadableSpan>();
    for (const agent of agents) {
      const mission: KnownMission = {
        uuid: wellFormed(this.#missionUuid(agent)),
        agentName: wellFormed(textAttribute(agent.attributes, GEN_AI.agentName) ?? 'otel'),
      };
      this.#remember(this.#missions, keyOf(agent), mission, this.#maxPending);
      fresh.set(keyOf(agent), agent);
    }
    const children: ((tx: StoreTransaction) => Promise<void>)[] = [];
    const phases = new Map<string, ReadableSpan>();
    const waiting: ReadableSpan[] = [];
    for (const span of this.#pending) {
      const owner = this.#ownerOf(span);
      if (owner === undefined) {
        waiting.push(span);
        continue;
      }
      const mission = this.#missions.get(owner)!;
      const operation = textAttribute(span.attributes, GEN_AI.operation);
      if (operation === 'execute_tool') children.push((tx) => recordTool(tx, mission, span));
      else if (operation === 'chat') {
        const decision = decisionOf(span);
        if (decision) children.push((tx) => recordDecision(tx, mission, span, decision));
      } else if (operation === 'agent_step' && fresh.has(owner)) {
        const latest = phases.get(owner);
        if (!latest || fromHrTime(span.startTime) >= fromHrTime(latest.startTime)) phases.set(owner, span);
      }
    }
    this.#pending = waiting;
    for (const [key, agent] of fresh) {
      const mission = this.#missions.get(key)!;
      // Step spans are named 'step 1', 'step 2', ...: the last one is where the run ended, as the direct integration leaves it.
      const phase = wellFormed(phases.get(key)?.name ?? textAttribute(agent.attributes, GEN_AI.operation) ?? 'invoke_agent');
      missions.push(async (tx) => {
        await beginMission(tx, mission.uuid, phase, missionMetadata(agent));
        await endMission(tx, mission.uuid, statusOf(agent));
      });
    }
    return { missions, children };
  }

  /** The agent span a span belongs to: its nearest ancestor that is a known agent span. */
  #ownerOf(span: ReadableSpan): string | undefined {
    let key: string | undefined = keyOf(span);
    for (let depth = 0; key !== undefined && depth < 256; depth++) {
      key = this.#parents.get(key);
      if (key !== undefined && this.#missions.has(key)) return key;
    }
    return undefined;
  }

  #dropOverflow(): void {
    const excess = this.#pending.length - this.#maxPending;
    if (excess <= 0) return;
    this.#pending.splice(0, excess);
    this.#queue.warn(`${excess} span(s) waited too long for their agent span and were dropped`);
  }

  /** Map with a size bound: the oldest entries go first (a Map keeps insertion order). */
  #remember<V>(map: Map<string, V>, key: string, value: V, bound: number): void {
    map.set(key, value);
    if (map.size > bound) map.delete(map.keys().next().value!);
  }
}

function keyOf(span: ReadableSpan): string {
  const context = span.spanContext();
  return `${context.traceId}:${context.spanId}`;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function spanError(span: ReadableSpan): { type: string; message: string } | undefined {
  const type = textAttribute(span.attributes, GEN_AI.errorType);
  if (span.status.code !== STATUS_ERROR && type === undefined) return undefined;
  const exception = span.events.find((event) => event.name === 'exception')?.attributes ?? {};
  const exceptionType = textAttribute(exception, 'exception.type');
  const message = span.status.message || textAttribute(exception, 'exception.message') || type || exceptionType || 'error';
  return { type: type ?? exceptionType ?? '_OTHER', message: wellFormed(message) };
}

function statusOf(agent: ReadableSpan): EndStatus {
  const error = spanError(agent);
  if (!error) return 'completed';
  return error.type === 'AbortError' ? 'cancelled' : 'failed';
}

function missionMetadata(agent: ReadableSpan): JsonValue {
  const context = agent.spanContext();
  return jsonSafe({
    functionId: textAttribute(agent.attributes, GEN_AI.agentName),
    operation: textAttribute(agent.attributes, GEN_AI.operation),
    provider: textAttribute(agent.attributes, GEN_AI.provider),
    modelId: textAttribute(agent.attributes, GEN_AI.model),
    traceId: context.traceId,
    spanId: context.spanId,
  });
}

function parseJson(text: string | undefined): JsonValue | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

async function recordTool(tx: StoreTransaction, mission: KnownMission, span: ReadableSpan): Promise<void> {
  const error = spanError(span);
  const toolName = textAttribute(span.attributes, GEN_AI.toolName) ?? span.name.replace(/^execute_tool /, '');
  const started = fromHrTime(span.startTime);
  await tx.toolCalls.record({
    mission: mission.uuid,
    toolName: wellFormed(toolName),
    args: parseJson(textAttribute(span.attributes, GEN_AI.toolArguments)) ?? null,
    result: error
      ? toolResult({ errorType: error.type })
      : toolResult({ output: parseJson(textAttribute(span.attributes, GEN_AI.toolResult)) }),
    durationMs: Math.max(0, Math.round(fromHrTime(span.endTime) - started)),
    success: error === undefined,
    ...(error ? { errorMessage: error.message } : {}),
    agentName: mission.agentName,
    timestamp: new Date(started),
    toolCallId: toolCallIdOf(textAttribute(span.attributes, GEN_AI.toolCallId)),
  });
}

interface Decision {
  readonly why: string;
  readonly calls: ChosenTool[];
}

/** The tools a model chose in a `chat` span, from its output messages (when outputs were recorded). */
function decisionOf(span: ReadableSpan): Decision | undefined {
  const messages = parseJson(textAttribute(span.attributes, GEN_AI.outputMessages));
  if (!Array.isArray(messages)) return undefined;
  const reasoning: string[] = [];
  const text: string[] = [];
  const calls: ChosenTool[] = [];
  for (const message of messages) {
    const parts = message !== null && typeof message === 'object' && !Array.isArray(message) ? message.parts : undefined;
    if (!Array.isArray(parts)) continue;
    for (const part of parts) {
      if (part === null || typeof part !== 'object' || Array.isArray(part)) continue;
      if (part.type === 'reasoning' && typeof part.content === 'string') reasoning.push(part.content);
      else if (part.type === 'text' && typeof part.content === 'string') text.push(part.content);
      else if (part.type === 'tool_call' && typeof part.name === 'string') {
        calls.push({ toolName: part.name, ...(typeof part.id === 'string' ? { toolCallId: part.id } : {}) });
      }
    }
  }
  if (calls.length === 0) return undefined;
  // Reasoning parts are one stream cut into pieces, text the answer beside it: as the AI SDK joins them.
  const why = [reasoning.join(''), text.join('')].filter((part) => part.trim() !== '').join('\n');
  return { why, calls };
}

async function recordDecision(tx: StoreTransaction, mission: KnownMission, span: ReadableSpan, decision: Decision): Promise<void> {
  await tx.decisions.record({
    mission: mission.uuid,
    decisionType: TOOL_CHOICE,
    rationale: toolChoiceRationale(decision.why, decision.calls),
    agentName: mission.agentName,
    timestamp: new Date(fromHrTime(span.endTime)),
  });
}
