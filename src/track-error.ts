import { StoreError } from './errors.js';

/**
 * What `toolCalls.track` throws when the tool ran but its call could not be recorded (the
 * mission was deleted meanwhile, the store closed). The tool's side effect has happened, so
 * its outcome travels with the error: `result` when it succeeded, `toolError` (also the
 * `cause`) when it threw. `code` is the recording failure's code.
 *
 * @example
 * try { out = await store.toolCalls.track(m, 'send', args, send); }
 * catch (e) { if (e instanceof TrackError && e.toolSucceeded) out = e.result; else throw e; }
 */
export class TrackError<T = unknown> extends StoreError {
  /** True when the tool returned, false when it threw. */
  readonly toolSucceeded: boolean;
  /** What the tool returned; undefined when it threw. */
  readonly result: T | undefined;
  /** What the tool threw; undefined when it returned. */
  readonly toolError: unknown;
  /** Why the call could not be recorded. */
  readonly recordingError: StoreError;

  constructor(
    toolName: string,
    outcome: { readonly succeeded: true; readonly result: T } | { readonly succeeded: false; readonly error: unknown },
    recordingError: StoreError,
  ) {
    const what = outcome.succeeded ? 'succeeded' : 'threw';
    super(recordingError.code, `tool '${toolName}' ${what} but its call could not be recorded: ${recordingError.message}`, {
      cause: outcome.succeeded ? recordingError : outcome.error,
    });
    this.name = 'TrackError';
    this.toolSucceeded = outcome.succeeded;
    this.result = outcome.succeeded ? outcome.result : undefined;
    this.toolError = outcome.succeeded ? undefined : outcome.error;
    this.recordingError = recordingError;
  }
}
