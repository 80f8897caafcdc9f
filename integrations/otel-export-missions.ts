import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import {
  type Decision,
  formatTimestamp,
  type Mission,
  type MissionRef,
  type SQLiteStore,
  StoreError,
  type ToolCall,
} from 'agent-ops-store';
import { type Attributes, GEN_AI, SPAN_KIND_INTERNAL, STATUS_ERROR, STATUS_UNSET, toHrTime } from './otel-spans.js';
import { readToolResult, requireStoreAndOptions } from './records.js';

type Resource = ReadableSpan['resource'];
type ExportResult = Parameters<Parameters<SpanExporter['export']>[1]>[0];

/** What `exportMissions` takes. */
export interface ExportMissionsOptions {
  /** Only this mission (its id or uuid). Default: every mission. */
  readonly mission?: MissionRef;
  /** Only missions created or ended at or after this time. */
  readonly since?: Date | string;
  /** The resource the spans come from. Default: `service.name` 'agent-ops-store'. */
  readonly resource?: Resource;
}

/** What `exportMissions` sent. */
export interface ExportMissionsResult {
  readonly missions: number;
  readonly spans: number;
}

const SCOPE = { name: 'agent-ops-store' };

/**
 * Sends stored missions to any OpenTelemetry `SpanExporter` as GenAI spans with their original
 * times: a mission is an `invoke_agent` span, each of its tool calls an `execute_tool` child,
 * its decisions events on the mission span. Span ids are derived from the mission, so sending
 * the same mission twice gives the same ids. One `export()` per mission; rejects with
 * StoreError IO when the exporter reports a failure, NOT_FOUND for an unknown mission.
 *
 * @example
 * const exporter = new OTLPTraceExporter({ url: 'http://collector:4318/v1/traces' });
 * await exportMissions(store, exporter, { since: new Date(Date.now() - 3_600_000) });
 */
export async function exportMissions(
  store: SQLiteStore,
  exporter: SpanExporter,
  options: ExportMissionsOptions = {},
): Promise<ExportMissionsResult> {
  requireStoreAndOptions('exportMissions', store, options);
  const resource = options.resource ?? defaultResource({ 'service.name': 'agent-ops-store' });
  const missions = await selectMissions(store, options);
  let spans = 0;
  for (const mission of missions) {
    const [toolCalls, decisions] = await Promise.all([store.toolCalls.list({ mission: mission.id }), store.decisions.history(mission.id)]);
    const batch = await missionSpans(mission, toolCalls, decisions, resource);
    await send(exporter, batch, mission);
    spans += batch.length;
  }
  return { missions: missions.length, spans };
}

async function selectMissions(store: SQLiteStore, options: ExportMissionsOptions): Promise<Mission[]> {
  let missions: Mission[];
  if (options.mission !== undefined) {
    const mission = await store.missions.get(options.mission);
    if (!mission) throw new StoreError('NOT_FOUND', `mission ${JSON.stringify(options.mission)} does not exist`);
    missions = [mission];
  } else {
    missions = await store.missions.list();
  }
  if (options.since === undefined) return missions;
  const since = sinceText(options.since);
  // Stored times sort as text; a mission counts if it began or ended in the window.
  return missions.filter((mission) => mission.createdAt >= since || (mission.completedAt !== null && mission.completedAt >= since));
}

function sinceText(since: Date | string): string {
  const date =
    since instanceof Date
      ? since
      : typeof since === 'string'
        ? new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(since) ? since : `${since}Z`)
        : undefined;
  if (!date || Number.isNaN(date.getTime()))
    throw new StoreError('INVALID_INPUT', `since must be a Date or a time string, got ${String(since)}`);
  return formatTimestamp(date);
}

function send(exporter: SpanExporter, spans: ReadableSpan[], mission: Mission): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      exporter.export(spans, (result: ExportResult) => {
        if (result.code === 0) resolve();
        else reject(new StoreError('IO', `the exporter refused the spans of mission '${mission.uuid}'`, { cause: result.error }));
      });
    } catch (error) {
      reject(new StoreError('IO', `the exporter failed on the spans of mission '${mission.uuid}'`, { cause: error }));
    }
  });
}

/** A stored time ('YYYY-MM-DD HH:MM:SS.SSSZ') in milliseconds since the epoch. */
function millis(stored: string): number {
  return Date.parse(stored.replace(' ', 'T'));
}

async function missionSpans(mission: Mission, toolCalls: ToolCall[], decisions: Decision[], resource: Resource): Promise<ReadableSpan[]> {
  // The same mission always gets the same ids: a collector that receives it twice can tell.
  const seed = `agent-ops-store mission ${mission.uuid} ${mission.createdAt}`;
  const traceId = (await digestHex(seed)).slice(0, 32);
  const rootId = (await digestHex(`${seed} span`)).slice(0, 16);
  const root = { traceId, spanId: rootId, traceFlags: 1 };
  const agentName = agentNameOf(mission, toolCalls, decisions);

  const children: ReadableSpan[] = [];
  let lastEnd = millis(mission.createdAt);
  for (const call of toolCalls) {
    const start = millis(call.timestamp);
    const end = start + (call.durationMs ?? 0);
    lastEnd = Math.max(lastEnd, end);
    const recorded = readToolResult(call);
    const attributes: Attributes = {
      [GEN_AI.operation]: 'execute_tool',
      [GEN_AI.toolName]: call.toolName,
      [GEN_AI.toolArguments]: JSON.stringify(call.args),
      'agent_ops.tool_call.id': call.id,
    };
    if (call.toolCallId !== null) attributes[GEN_AI.toolCallId] = call.toolCallId;
    if (call.success && recorded.output !== undefined) attributes[GEN_AI.toolResult] = JSON.stringify(recorded.output);
    if (!call.success) attributes[GEN_AI.errorType] = recorded.errorType ?? '_OTHER';
    if (call.agentName !== null) attributes[GEN_AI.agentName] = call.agentName;
    const spanId = (await digestHex(`${seed} tool ${call.id}`)).slice(0, 16);
    children.push(
      span({
        name: `execute_tool ${call.toolName}`,
        context: { traceId, spanId, traceFlags: 1 },
        parent: root,
        start,
        end,
        attributes,
        status: call.success ? { code: STATUS_UNSET } : { code: STATUS_ERROR, message: call.errorMessage ?? 'tool call failed' },
        events: [],
        resource,
      }),
    );
  }
  for (const decision of decisions) lastEnd = Math.max(lastEnd, millis(decision.timestamp));

  const ended = mission.status === 'failed' || mission.status === 'cancelled';
  const attributes: Attributes = {
    [GEN_AI.operation]: 'invoke_agent',
    'agent_ops.mission.id': mission.id,
    'agent_ops.mission.uuid': mission.uuid,
    'agent_ops.mission.status': mission.status,
    'agent_ops.mission.phase': mission.phase,
  };
  if (agentName !== undefined) attributes[GEN_AI.agentName] = agentName;
  if (mission.metadata !== null) attributes['agent_ops.mission.metadata'] = JSON.stringify(mission.metadata);
  if (ended) attributes[GEN_AI.errorType] = mission.status;
  const rootSpan = span({
    name: agentName === undefined ? 'invoke_agent' : `invoke_agent ${agentName}`,
    context: root,
    parent: undefined,
    start: millis(mission.createdAt),
    // A mission still running is sent as far as it has got.
    end: mission.completedAt === null ? lastEnd : Math.max(millis(mission.completedAt), lastEnd),
    attributes,
    status: ended ? { code: STATUS_ERROR, message: `mission ${mission.status}` } : { code: STATUS_UNSET },
    events: decisions.map((decision) => ({
      name: 'agent_ops.decision',
      time: toHrTime(millis(decision.timestamp)),
      attributes: {
        'agent_ops.decision.type': decision.decisionType,
        'agent_ops.decision.rationale': decision.rationale,
        [GEN_AI.agentName]: decision.agentName,
      },
    })),
    resource,
  });
  return [rootSpan, ...children];
}

function agentNameOf(mission: Mission, toolCalls: ToolCall[], decisions: Decision[]): string | undefined {
  const metadata = mission.metadata;
  if (metadata !== null && typeof metadata === 'object' && !Array.isArray(metadata) && typeof metadata.functionId === 'string') {
    return metadata.functionId;
  }
  return toolCalls.find((call) => call.agentName !== null)?.agentName ?? decisions[0]?.agentName ?? undefined;
}

interface SpanParts {
  readonly name: string;
  readonly context: { traceId: string; spanId: string; traceFlags: number };
  readonly parent: { traceId: string; spanId: string; traceFlags: number } | undefined;
  readonly start: number;
  readonly end: number;
  readonly attributes: Attributes;
  readonly status: ReadableSpan['status'];
  readonly events: ReadableSpan['events'];
  readonly resource: Resource;
}

function span(parts: SpanParts): ReadableSpan {
  const end = Math.max(parts.end, parts.start);
  return {
    name: parts.name,
    kind: SPAN_KIND_INTERNAL,
    spanContext: () => parts.context,
    ...(parts.parent ? { parentSpanContext: parts.parent } : {}),
    startTime: toHrTime(parts.start),
    endTime: toHrTime(end),
    duration: toHrTime(end - parts.start),
    status: parts.status,
    attributes: parts.attributes,
    links: [],
    events: parts.events,
    ended: true,
    resource: parts.resource,
    instrumentationScope: SCOPE,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

/** A resource with fixed attributes: enough for any exporter, without a run-time import of @opentelemetry/resources. */
function defaultResource(attributes: Attributes): Resource {
  const resource: Resource = {
    attributes,
    merge: (other) => (other ? defaultResource({ ...attributes, ...other.attributes }) : resource),
    getRawAttributes: () => Object.entries(attributes),
  };
  return resource;
}

async function digestHex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
