import { type JsonValue, type MissionStatus, type SQLiteStore, StoreError, type StoreTransaction, type ToolCall } from 'agent-ops-store';

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

/**
 * The `result` of a tool call, the same shape `toolCalls.track` stores: what the tool returned
 * when it succeeded; when it failed, `{ errorType }` if the error's type says more than "an
 * error" (a TimeoutError, an AbortError), else nothing. The message goes to `errorMessage`, the
 * framework's call id to `toolCallId`.
 */
export function toolResult(outcome: { readonly output: unknown } | { readonly errorType: string }): JsonValue | undefined {
  if ('output' in outcome) return jsonSafe(outcome.output);
  return GENERIC_ERROR_TYPES.has(outcome.errorType) ? undefined : { errorType: outcome.errorType };
}

/** Error types that tell nothing beyond the call having failed, so a failure with one keeps no `result`, as track() keeps none. */
const GENERIC_ERROR_TYPES = new Set(['Error', '_OTHER']);

/** What a stored call says about its outcome: the output of a call that succeeded (when there was one), the error type of one that failed (when one was kept). */
export function readToolResult(call: Pick<ToolCall, 'success' | 'result'>): { readonly output?: JsonValue; readonly errorType?: string } {
  const { result } = call;
  if (call.success) return result === null ? {} : { output: result };
  const kept = result !== null && typeof result === 'object' && !Array.isArray(result) ? result.errorType : undefined;
  return typeof kept === 'string' ? { errorType: kept } : {};
}

/**
 * A framework's id for a tool call as the store takes it, or undefined when there is none it
 * could keep: an empty id (some providers send one) must not cost the whole row.
 */
export function toolCallIdOf(id: unknown): string | undefined {
  if (typeof id !== 'string') return undefined;
  const text = wellFormed(id);
  // The store refuses text starting with U+0000, which SQLite's length() would count as empty.
  return text === '' || text.charCodeAt(0) === 0 ? undefined : text;
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
