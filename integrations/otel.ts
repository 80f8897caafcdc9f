/**
 * The OpenTelemetry integration, both ways: `AgentOpsSpanExporter` records GenAI spans from any
 * instrumented agent, `exportMissions` sends stored missions out as GenAI spans.
 */

export { type ExportMissionsOptions, type ExportMissionsResult, exportMissions } from './otel-export-missions.js';
export { AgentOpsSpanExporter, type AgentOpsSpanExporterOptions } from './otel-span-exporter.js';
