import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8');

describe('integrations in the build (dist/)', () => {
  it('the main entry neither contains nor imports any integration or framework', () => {
    const main = read('dist/index.js');
    for (const name of ['integrations/', '@langchain/', '@opentelemetry/', "from 'ai'", 'from "ai"', 'WriteQueue', 'agentOpsTelemetry']) {
      expect(main, name).not.toContain(name);
    }
  });

  it('each integration is its own file that imports the package and its framework instead of bundling them', () => {
    const langchain = read('dist/integrations/langchain.js');
    expect(langchain).toContain('from "@langchain/core/callbacks/base"');
    expect(langchain).not.toMatch(/class BaseCallbackHandler\b/);
    expect(read('dist/integrations/otel.js')).toContain('from "agent-ops-store"');
    const langgraph = read('dist/integrations/langgraph.js');
    expect(langgraph).toContain('from "@langchain/langgraph-checkpoint"');
    expect(langgraph).toContain('from "agent-ops-store"');
    expect(langgraph).not.toMatch(/class (BaseCheckpointSaver|BaseStore)\b/);
    // The AI SDK and OpenTelemetry are only types to these two: nothing of them at run time.
    expect(read('dist/integrations/ai-sdk.js')).not.toMatch(/from "ai"|@opentelemetry/);
    expect(read('dist/integrations/otel.js')).not.toMatch(/from "@opentelemetry/);
  });
});
