import { type JsonValue, type MissionStatus, type SQLiteStore, StoreError, type StoreTransaction } from 'agent-ops-store';

/**
 * What an integration keeps in a tool call's `result` column: the id the model gave the call
 * (the schema has no column of its own for it), the tool's output when it succeeded, and the
 * error's type when it failed (its message goes to `error_message`).
 */
export interface RecordedToolResult {
  readonly toolCallId?: string;
  readonly output?: JsonValue;
  readonly errorType?: string;
}

/** The decision type integrations give the model's choice of tools in a step. */
export const TOOL_CHOICE = 'tool_choice';

/** A tool the model chose to call, as a decision's rationale names it. */
export interface ChosenTool {
  readonly toolName: string;
  readonly toolCallId?: string;
}

/** The rationale of a tool-choice decision: the model's own words (reasoning, then text), then the calls it chose. */
export function toolChoiceRationale(why: string, calls: readonly ChosenTool[]): string {
  const chosen = `calls: ${calls.map((call) => (call.toolCallId ? `${call.toolName} (${call.toolCallId})` : call.toolName)).join(', ')}`;
  const said = wellFormed(why.trim());
  return said ? `${said}\n${chosen}` : chosen;
}

/** The `result` value for a tool call, with undefined members left out. */
export function toolResult(toolCallId: string | undefined, output: unknown, errorType?: string): RecordedToolResult {
  return {
    ...(toolCallId === undefined ? {} : { toolCallId }),
    ...(output === undefined ? {} : { output: jsonSafe(output) }),
    ...(errorType === undefined ? {} : { errorType }),
  };
}

/** Reads a `result` column written by an integration; anything else is taken as a plain output. */
export function readToolResult(result: JsonValue): RecordedToolResult {
  if (result !== null && typeof result === 'object' && !Array.isArray(result) && typeof result.toolCallId === 'string') {
    return {
      toolCallId: result.toolCallId,
      ...(result.output === undefined ? {} : { output: result.output }),
      ...(typeof result.errorType === 'string' ? { errorType: result.errorType } : {}),
    };
  }
  return result === null ? {} : { output: result };
}

/**
 * A JSON value for what a framework hands over (tool inputs and outputs can be anything): the
 * store refuses values JSON would change, and losing the whole row over one odd field helps
 * nobody. BigInt becomes a string, undefined null; what JSON cannot hold at all becomes its text.
 */
export function jsonSafe(value: unknown): JsonValue {
  if (value === undefined) return null;
  try {
    const text = JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? item.toString() : item));
    return text === undefined ? null : (JSON.parse(text) as JsonValue);
  } catch {
    return String(value);
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text the store's text columns accept: a lone surrogate (a character cut by streaming) becomes U+FFFD, a leading U+FEFF goes. */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD').replace(/^\uFEFF+/, '');
}

/** The message of anything thrown, as text the store accepts. */
export function errorText(error: unknown): string {
  const message =
    error instanceof Error ? error.message || error.name : typeof error === 'string' ? error : JSON.stringify(jsonSafe(error));
  return wellFormed(message || 'unknown error');
}

/** The type of anything thrown, for `error.type`: the error's name, else '_OTHER' as the GenAI conventions say. */
export function errorType(error: unknown): string {
  return error instanceof Error && error.name ? error.name : '_OTHER';
}

/**
 * Opens a mission (call it inside `store.transaction`, so it is one write): creates it in_progress, or, when the uuid is taken (a
 * LangGraph thread run again, a uuid the caller chose), continues it, moving it to
 * in_progress if it is still pending.
 */
export async function beginMission(tx: StoreTransaction, uuid: string, phase: string, metadata: JsonValue): Promise<void> {
  const existing = await tx.missions.get(uuid);
  if (!existing) await tx.missions.create({ uuid, phase, metadata });
  if (!existing || existing.status === 'pending') await tx.missions.setStatus(uuid, 'in_progress');
}

/**
 * Ends a mission (inside `store.transaction`). A mission that has already ended keeps its status: the
 * lifecycle allows no way back, and a later run on the same thread does not rewrite history.
 */
export async function endMission(tx: StoreTransaction, uuid: string, status: EndStatus): Promise<void> {
  const mission = await tx.missions.get(uuid);
  if (mission?.status === 'in_progress') await tx.missions.setStatus(uuid, status);
}

/** How a mission can end. */
export type EndStatus = Exclude<MissionStatus, 'pending' | 'in_progress'>;

/** Refuses, before any agent runs, a store or options that are not what an integration needs: INVALID_INPUT naming the call. */
export function requireStoreAndOptions(where: string, store: SQLiteStore, options: unknown): void {
  if (store === null || typeof store !== 'object' || typeof store.transaction !== 'function' || typeof store.missions !== 'object') {
    throw new StoreError('INVALID_INPUT', `${where} needs an open store from openStore()`);
  }
  if (options === null || typeof options !== 'object') throw new StoreError('INVALID_INPUT', `${where} options must be an object`);
}
