import { closeSync, lstatSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { messageOf, StoreError } from '../src/errors.js';

/** How a second opener behaves while another process holds the store. */
export type LockMode = 'fail' | 'wait';

interface Owner {
  readonly pid: number;
  readonly host: string;
  /** The process's start time from /proc, so a recycled pid is not taken for the holder. */
  readonly started: string | null;
}

const me: Owner = { pid: process.pid, host: hostname(), started: startTimeOf(process.pid) };

/**
 * A lock file beside the store: created with O_EXCL, holding the owner's pid, host and start
 * time. A lock whose owner is dead (same host, no such process, or a different process under
 * a recycled pid) is stale and taken over, under a second short-lived lock so two openers
 * recovering it at once cannot both win.
 */
export class FileLock {
  readonly #path: string;
  #held = false;

  constructor(path: string) {
    this.#path = path;
  }

  /** Takes the lock; with 'wait', retries until `timeoutMs` has passed. */
  async acquire(mode: LockMode, timeoutMs: number): Promise<void> {
    if (this.#held) return;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const holder = this.#tryAcquire();
      if (holder === null) {
        this.#held = true;
        return;
      }
      if (mode === 'fail' || Date.now() >= deadline) {
        const by =
          holder === UNKNOWN
            ? 'is held by an opener that has not yet written its pid (an unreadable lock file is taken over once 5 s old)'
            : `is held by process ${holder.pid} on ${holder.host}`;
        throw new StoreError('LOCKED', `${this.#path} ${by}; one writer at a time${mode === 'wait' ? ` (waited ${timeoutMs} ms)` : ''}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Releases the lock if held. */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    try {
      if (sameOwner(readOwner(this.#path), me)) unlinkSync(this.#path);
    } catch {
      // Already gone: nothing to release.
    }
  }

  /** Null when acquired; otherwise the live holder. */
  #tryAcquire(): Owner | null {
    if (createExclusive(this.#path, JSON.stringify(me))) return null;
    refuseNonFile(this.#path);
    const holder = readOwner(this.#path);
    if (holder && isAlive(holder)) return holder;
    // Stale (or unreadable and old): recover it under a second lock.
    const recovery = `${this.#path}.recover`;
    if (!createExclusive(recovery, JSON.stringify(me))) {
      refuseNonFile(recovery);
      const recoverer = readOwner(recovery);
      if (!recoverer || !isAlive(recoverer)) unlinkQuietly(recovery);
      return holder ?? UNKNOWN;
    }
    try {
      const again = readOwner(this.#path);
      if (again && isAlive(again)) return again;
      if (!again && !isOld(this.#path)) return UNKNOWN;
      unlinkQuietly(this.#path);
      return createExclusive(this.#path, JSON.stringify(me)) ? null : (readOwner(this.#path) ?? UNKNOWN);
    } finally {
      unlinkQuietly(recovery);
    }
  }
}

/** The holder of a lock file that exists but names no owner yet (being written, or garbage). */
const UNKNOWN: Owner = { pid: 0, host: 'unknown', started: null };

/**
 * A directory (or socket, fifo...) where the lock file belongs can never be taken over: say so
 * as IO rather than report a lock held forever. A symlink is left to the usual stale checks.
 */
function refuseNonFile(path: string): void {
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(path);
  } catch {
    return; // Gone meanwhile: the next attempt creates it.
  }
  if (stat.isFile() || stat.isSymbolicLink()) return;
  const kind = stat.isDirectory() ? 'a directory' : 'not a regular file';
  throw new StoreError('IO', `the lock path ${path} is ${kind}; remove it or open the store at another path`);
}

function createExclusive(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new StoreError('IO', `cannot create lock file ${path}: ${messageOf(error)}`, { cause: error });
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readOwner(path: string): Owner | null {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as Owner;
    return typeof owner.pid === 'number' && typeof owner.host === 'string' ? owner : null;
  } catch {
    return null;
  }
}

/** A lock file with no readable owner is taken as abandoned once it is a few seconds old. */
function isOld(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > 5_000;
  } catch {
    return true;
  }
}

function isAlive(owner: Owner): boolean {
  if (owner.host !== me.host) return true; // cannot check another machine: assume alive
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  // A killed process its parent has not reaped yet (a zombie) still answers kill(pid, 0).
  const stat = procStat(owner.pid);
  if (stat?.[0] === 'Z' || stat?.[0] === 'X') return false;
  return owner.started === null || owner.started === (stat?.[19] ?? null);
}

function sameOwner(a: Owner | null, b: Owner): boolean {
  return a !== null && a.pid === b.pid && a.host === b.host && a.started === b.started;
}

function startTimeOf(pid: number): string | null {
  return procStat(pid)?.[19] ?? null;
}

/** The fields of /proc/<pid>/stat after the command name, from the state on; null without /proc. */
function procStat(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}
