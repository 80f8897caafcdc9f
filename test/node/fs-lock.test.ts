import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fsAdapter } from '../../adapters/fs.js';
import { openStore } from '../../src/index.js';
import { rejection } from '../contract/store-fixture.js';

describe('fs lock file in odd states', () => {
  const dirs: string[] = [];
  const storePath = () => {
    const dir = mkdtempSync(join(tmpdir(), 'aos-lock-'));
    dirs.push(dir);
    return join(dir, 'agent-ops.db');
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('a directory at the lock path is IO naming the path, not LOCKED by process 0', async () => {
    const path = storePath();
    mkdirSync(`${path}.aos-lock`);
    const error = await rejection(openStore({ adapter: fsAdapter(path) }));
    expect(error.code).toBe('IO');
    expect(error.message).toContain(`${path}.aos-lock is a directory`);
  });

  it('a directory at the recovery lock path of a stale lock is IO naming that path', async () => {
    const path = storePath();
    writeFileSync(`${path}.aos-lock`, JSON.stringify({ pid: 2 ** 22 + 1, host: hostname(), started: null }));
    mkdirSync(`${path}.aos-lock.recover`);
    const error = await rejection(openStore({ adapter: fsAdapter(path) }));
    expect(error.code).toBe('IO');
    expect(error.message).toContain(`${path}.aos-lock.recover is a directory`);
  });

  it('a fresh lock file with no readable owner is LOCKED, saying why, without a made-up pid', async () => {
    const path = storePath();
    writeFileSync(`${path}.aos-lock`, '');
    const error = await rejection(openStore({ adapter: fsAdapter(path) }));
    expect(error.code).toBe('LOCKED');
    expect(error.message).not.toMatch(/process 0/);
    expect(error.message).toMatch(/taken over once 5 s old/);
  });

  it('the lock of a dead process on this host is taken over', async () => {
    const path = storePath();
    writeFileSync(`${path}.aos-lock`, JSON.stringify({ pid: 2 ** 22 + 1, host: hostname(), started: null }));
    const store = await openStore({ adapter: fsAdapter(path) });
    await store.close();
  });
});
