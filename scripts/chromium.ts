import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Flags for headless Chromium in the browser tests, the bundle test and the browser bench. */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** The Chromium that the browser tests, the bundle test and the browser bench launch, and where it came from. */
export interface Chromium {
  /** How it was found: the `CHROMIUM_PATH` variable, Debian's package, or the binary inside the npm package. */
  readonly source: 'CHROMIUM_PATH' | '/usr/bin/chromium' | '@sparticuz/chromium';
  /** Options for Playwright's `launch()`: spread them in, then add `headless`. */
  readonly launchOptions: { executablePath: string; args: string[]; env?: Record<string, string> };
}

const systemChromium = '/usr/bin/chromium';

/**
 * Finds the Chromium to launch, needing no system package: `CHROMIUM_PATH` if set, else `/usr/bin/chromium`
 * if present, else the headless build shipped inside `@sparticuz/chromium`, unpacked into the
 * temp folder on first use. Never resolves to nothing: a test that launches a browser fails
 * rather than skips.
 *
 * @example
 * const { launchOptions } = await findChromium();
 * const browser = await chromium.launch({ ...launchOptions, headless: true });
 */
export async function findChromium(): Promise<Chromium> {
  const chosen = process.env.CHROMIUM_PATH;
  if (chosen) {
    if (!existsSync(chosen)) throw new Error(`CHROMIUM_PATH is ${chosen}, and no file is there`);
    return { source: 'CHROMIUM_PATH', launchOptions: { executablePath: chosen, args: chromiumArgs } };
  }
  if (existsSync(systemChromium)) return { source: systemChromium, launchOptions: { executablePath: systemChromium, args: chromiumArgs } };
  // Loaded only here: a machine with a system Chromium never unpacks the npm one.
  const { default: sparticuz, inflate } = await import('@sparticuz/chromium');
  const executablePath = await sparticuz.executablePath();
  // The package unpacks its own NSS libraries only on Amazon Linux; a Debian without Chromium
  // lacks them too (libnss3, libnspr4), so unpack them always and put them first on the path.
  const libs = join(await inflate(join(binFolder(), 'al2023.tar.br')), 'lib');
  const libraryPath = [libs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(delimiter);
  const env: Record<string, string> = { ...definedEnv(), LD_LIBRARY_PATH: libraryPath };
  env.FONTCONFIG_PATH ??= join(tmpdir(), 'fonts');
  return { source: '@sparticuz/chromium', launchOptions: { executablePath, args: chromiumArgs, env } };
}

const testChromium = Symbol.for('agent-ops-store.test-chromium');

/**
 * findChromium() once per process, saying which Chromium on the first call. Vitest loads the
 * config once per project, and Vite bundles this file into each load, so the memo lives on
 * globalThis rather than in a module variable.
 */
export function chromiumForTests(): Promise<Chromium> {
  const memo = globalThis as { [testChromium]?: Promise<Chromium> };
  memo[testChromium] ??= findChromium().then((found) => {
    console.log(describeChromium(found));
    return found;
  });
  return memo[testChromium];
}

/** One line for the test and bench output: which Chromium runs, its version, and how it was found. */
export function describeChromium({ source, launchOptions }: Chromium): string {
  let version: string;
  try {
    // Debian's launcher is a shell script that chatters on stderr: keep stdout only.
    const out = execFileSync(launchOptions.executablePath, ['--version'], {
      encoding: 'utf8',
      env: launchOptions.env ?? process.env,
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    });
    version = out.trim();
  } catch (error) {
    version = `--version failed: ${(error as Error).message.split('\n')[0]}`;
  }
  const how = source === 'CHROMIUM_PATH' ? 'from CHROMIUM_PATH' : source === systemChromium ? 'the system one' : `unpacked from ${source}`;
  return `Chromium: ${launchOptions.executablePath} (${how}; ${version})`;
}

/** The folder of compressed archives inside `@sparticuz/chromium`, found the way Node resolves the package. */
function binFolder(): string {
  return join(createRequire(import.meta.url).resolve('@sparticuz/chromium'), '..', '..', 'bin');
}

/** process.env without the keys whose value is undefined, as Playwright's `env` option wants. */
function definedEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) out[key] = value;
  return out;
}
