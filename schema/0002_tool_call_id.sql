-- agent-ops-store schema, version 2: the id an agent framework gives each tool call.
-- Frameworks name every tool call (AI SDK toolCallId, LangChain tool_call_id, OpenTelemetry
-- gen_ai.tool.call.id) and refer to it elsewhere (the model's choice of tools, the tool's
-- message back to the model); with its own column the id can be indexed, and `result` keeps
-- only what the tool returned. Rows written before this version keep NULL.

ALTER TABLE tool_calls ADD COLUMN tool_call_id TEXT         -- the framework's id for the call, e.g. 'call_3f2a'; NULL when none was given
    CHECK (tool_call_id IS NULL OR length(tool_call_id) > 0);

-- Partial: most calls recorded by hand have no id, and NULLs would only make the index bigger.
CREATE INDEX idx_tool_calls_tool_call_id ON tool_calls(tool_call_id) WHERE tool_call_id IS NOT NULL;
