/**
 * The LangGraph.js integration: a checkpointer (`AgentOpsCheckpointSaver`) and a long-term
 * memory store (`AgentOpsMemoryStore`) that keep a graph's threads and memories in the store's
 * file, next to the audit trail, durable on every call in Node and the browser.
 */

export { AgentOpsCheckpointSaver } from './langgraph-checkpoint-saver.js';
export { AgentOpsMemoryStore, type AgentOpsMemoryStoreOptions } from './langgraph-memory-store.js';
