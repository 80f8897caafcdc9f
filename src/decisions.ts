import type { Row } from './connection.js';
import type { Executor } from './executor.js';
import { formatTimestamp, normalizeTimestamp } from './timestamp.js';
import {
  type MissionRef,
  optionalObject,
  type PageOptions,
  pageParams,
  requireMissionRef,
  requireObject,
  requireString,
  requireText,
  resolveMission,
} from './validate.js';

/** One decision as stored. */
export interface Decision {
  readonly id: number;
  readonly missionId: number;
  readonly decisionType: string;
  readonly rationale: string;
  readonly timestamp: string;
  readonly agentName: string;
}

/** What `decisions.record` takes. */
export interface RecordDecisionInput {
  readonly mission: MissionRef;
  readonly decisionType: string;
  readonly rationale: string;
  readonly agentName: string;
  /** When it was decided; the store's clock when omitted. */
  readonly timestamp?: Date | string;
}

/** The provenance of every decision: what was decided, by whom, and why. */
export class DecisionRepository {
  readonly #exec: Executor;

  constructor(exec: Executor) {
    this.#exec = exec;
  }

  /** Records one decision. */
  async record(input: RecordDecisionInput): Promise<Decision> {
    requireObject('decisions.record input', input);
    const mission = requireMissionRef(input.mission);
    const decisionType = requireText('decisionType', input.decisionType);
    const rationale = requireString('rationale', input.rationale);
    const agentName = requireText('agentName', input.agentName);
    const given = input.timestamp === undefined ? null : normalizeTimestamp('timestamp', input.timestamp);
    return this.#exec.write((conn) => {
      const missionId = resolveMission(conn, mission);
      const row = conn.get(
        'INSERT INTO decisions (mission_id, decision_type, rationale, timestamp, agent_name) VALUES (?, ?, ?, ?, ?) RETURNING *',
        [missionId, decisionType, rationale, given ?? formatTimestamp(this.#exec.now()), agentName],
      );
      return toDecision(row!);
    });
  }

  /** A mission's decisions, oldest first (by timestamp, then by insertion); pages with `limit` and `offset`. */
  async history(ref: MissionRef, options?: PageOptions): Promise<Decision[]> {
    const mission = requireMissionRef(ref);
    const [limit, offset] = pageParams(optionalObject('decisions.history options', options));
    return this.#exec.read((conn) =>
      conn
        .all('SELECT * FROM decisions WHERE mission_id = ? ORDER BY timestamp, id LIMIT ? OFFSET ?', [
          resolveMission(conn, mission),
          limit,
          offset,
        ])
        .map(toDecision),
    );
  }
}

function toDecision(row: Row): Decision {
  return {
    id: Number(row.id),
    missionId: Number(row.mission_id),
    decisionType: String(row.decision_type),
    rationale: String(row.rationale),
    timestamp: String(row.timestamp),
    agentName: String(row.agent_name),
  };
}
