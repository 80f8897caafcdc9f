// Realistic tool calls for the benches (Node and the browser page): ~1 KB of args + result
// JSON, varied text, from a fixed seed. No Node imports: the browser page uses it too.

const TOOLS = ['read_file', 'search_code', 'run_tests', 'write_file', 'http_get', 'list_dir'] as const;
const WORDS = (
  'agent mission plan tool call result error retry timeout cache index query schema table row ' +
  'commit journal snapshot checkpoint durable latency source module function import export ' +
  'config option value string number array object parse render fetch request response status'
).split(' ');

let seed = 0x2545f491;
function random(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
}
function text(chars: number): string {
  let out = '';
  while (out.length < chars) out += `${WORDS[Math.floor(random() * WORDS.length)]} `;
  return out.slice(0, chars);
}

/** One tool call's inputs. */
export interface Payload {
  readonly toolName: string;
  readonly args: Record<string, unknown>;
  readonly result: Record<string, unknown>;
  readonly durationMs: number;
  readonly success: boolean;
}

/** 512 tool calls, the same in every run and in both benches. */
export const PAYLOADS: Payload[] = Array.from({ length: 512 }, (_, i) => ({
  toolName: TOOLS[i % TOOLS.length]!,
  args: {
    path: `src/${text(12).trim().replaceAll(' ', '-')}/file-${i}.ts`,
    query: text(60),
    options: { recursive: i % 2 === 0, maxResults: 50, include: ['*.ts', '*.tsx', '*.json'], encoding: 'utf8' },
    context: text(280),
  },
  result: {
    ok: true,
    matches: Array.from({ length: 4 }, (_, k) => ({ line: 10 + k * 7, text: text(70) })),
    summary: text(180),
    tokens: 1200 + i,
  },
  durationMs: 5 + (i % 200),
  success: i % 17 !== 0,
}));

/** The i-th payload, cycling. */
export function payload(i: number): Payload {
  return PAYLOADS[i % PAYLOADS.length]!;
}
