import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** The OpenTelemetry types the integration names, taken from the one package it declares. */
export type HrTime = ReadableSpan['startTime'];
export type Attributes = ReadableSpan['attributes'];
export type SpanKind = ReadableSpan['kind'];
export type SpanStatusCode = ReadableSpan['status']['code'];

// The enums' values are fixed by the OpenTelemetry specification; naming them here keeps the
// integration free of a run-time import of @opentelemetry/api.
export const SPAN_KIND_INTERNAL = 0 as SpanKind;
export const STATUS_UNSET = 0 as SpanStatusCode;
export const STATUS_ERROR = 2 as SpanStatusCode;

/** GenAI semantic-convention attribute names the integration reads and writes. */
export const GEN_AI = {
  operation: 'gen_ai.operation.name',
  agentName: 'gen_ai.agent.name',
  provider: 'gen_ai.provider.name',
  model: 'gen_ai.request.model',
  toolName: 'gen_ai.tool.name',
  toolCallId: 'gen_ai.tool.call.id',
  toolArguments: 'gen_ai.tool.call.arguments',
  toolResult: 'gen_ai.tool.call.result',
  outputMessages: 'gen_ai.output.messages',
  errorType: 'error.type',
} as const;

/** A time in milliseconds since the epoch as OpenTelemetry's [seconds, nanoseconds]. */
export function toHrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

/** OpenTelemetry's [seconds, nanoseconds] as milliseconds since the epoch. */
export function fromHrTime(time: HrTime): number {
  return time[0] * 1000 + time[1] / 1e6;
}

/** An attribute as text, or undefined when it is absent or not a string. */
export function textAttribute(attributes: Attributes, name: string): string | undefined {
  const value = attributes[name];
  return typeof value === 'string' ? value : undefined;
}
