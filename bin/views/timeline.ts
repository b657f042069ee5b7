import type { JobOutcome } from '../../shared/domain/outcome.ts';
import type { Timed } from '../../tools/local-stack.ts';
import { formatTime, table } from './format.ts';

/** The local run's timeline: one row per job outcome the worker reported (never parsed from logs), with its Graph calls. */

type GraphCalls = Array<{ operation: string; outcome: string; code?: number }>;

/** One job outcome, as the timeline shows it. */
interface OutcomeLine {
  at: number;
  phoneNumberId?: string;
  action?: string;
  outcome: string;
  code?: number;
  graphCalls: GraphCalls;
  detail: string;
}

function toOutcomeLine({ at, outcome }: Timed<JobOutcome>): OutcomeLine {
  const code = outcome.graphCalls.findLast((call) => call.code !== undefined)?.code;
  return {
    at,
    ...(outcome.phoneNumberId ? { phoneNumberId: outcome.phoneNumberId } : {}),
    ...(outcome.action ? { action: outcome.action } : {}),
    outcome: outcome.status === 'dead_lettered' ? `dead-lettered: ${outcome.category}` : outcome.status,
    ...(code !== undefined ? { code } : {}),
    graphCalls: outcome.graphCalls,
    detail: outcome.detail,
  };
}

/** `read_state→known, register→success`, or `none`. */
export function graphCallsText(outcome: { graphCalls: GraphCalls }): string {
  return outcome.graphCalls.length === 0 ? 'none' : outcome.graphCalls.map((call) => `${call.operation}→${call.code ?? call.outcome}`).join(', ');
}

/** The timeline table, indented; without the header row for rows printed under an earlier table. Never a PIN or token. */
export function renderTimeline(outcomes: Array<Timed<JobOutcome>>, header = true): string {
  const rows = outcomes.map(toOutcomeLine).map((line) => [
    formatTime(line.at).slice(11, 16) + new Date(line.at).toISOString().slice(16, 19),
    line.phoneNumberId,
    line.action,
    line.outcome,
    line.code,
    graphCallsText(line),
    line.detail,
  ]);
  const text = table(['TIME', 'NUMBER', 'ACTION', 'OUTCOME', 'CODE', 'GRAPH CALLS', 'WHY'], rows);
  return (header ? text : text.split('\n').slice(1).join('\n'))
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
