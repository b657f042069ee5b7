import type { SimulatedFault, SimulatedReadFault } from '../../../tools/graph-simulator.ts';
import { BUSINESS_IDS, businessOf, numberIds, type MetaFact, type Program, type Step } from './program.ts';

const MINUTE = 60_000;

function duration(ms: number): string {
  const minutes = Math.round(ms / MINUTE);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor(minutes / 60) % 24;
  const rest = minutes % 60;
  return [days ? `${days}d` : '', hours ? `${hours}h` : '', rest || (!days && !hours) ? `${rest}min` : ''].join('');
}

function fault(value: SimulatedFault | SimulatedReadFault): string {
  switch (value.type) {
    case 'graph_error':
      return `error ${value.code}${value.headers ? ' (with usage header)' : ''}`;
    case 'missing_fields':
      return `state without ${value.fields.join(', ')}`;
    default:
      return value.type;
  }
}

function fact(value: MetaFact, number: (index: number) => string): string {
  switch (value.kind) {
    case 'name':
      return `the display name of ${number(value.n)} is ${value.decision}`;
    case 'security':
      return value.event === 'PIN_CHANGED' ? `someone changes ${number(value.n)}'s PIN in WhatsApp Manager (PIN_CHANGED)` : `someone requests a PIN reset for ${number(value.n)} (PIN_RESET_REQUEST)`;
    case 'account':
      return `account_update "${value.update}" for business #${value.b}`;
  }
}

/** One program step as a sentence; `number` names the number of an index. */
export function describeStep(step: Step, number: (index: number) => string): string {
  switch (step.kind) {
    case 'enqueue':
      return `enqueue ${step.action} ${number(step.n)} reason=${step.reason}${step.region ? ` region=${step.region}` : ''}${step.withBusiness ? ' (with its businessAccountId)' : ''} key=job-${step.key}${step.runAfter ? '' : ' (no poll yet)'}`;
    case 'resend':
      return `resend earlier message #${step.pick} exactly (duplicate / late redelivery)`;
    case 'redrive':
      return `dlq redrive of dead letter #${step.pick}${step.force ? ' --force' : ''}`;
    case 'graph_faults':
      return `Graph answers for ${number(step.n)}'s next requests: ${step.faults.map(fault).join(', ')}${step.repeat > 1 ? ` (× ${step.repeat})` : ''}`;
    case 'read_faults':
      return `Graph answers for ${number(step.n)}'s next state reads: ${step.faults.map(fault).join(', ')}`;
    case 'verification':
      return `${number(step.n)}'s verification becomes ${step.status}`;
    case 'external':
      return `${number(step.n)} is ${step.registered ? 'registered' : 'deregistered'} outside wa-registrar`;
    case 'incomplete_deregistration':
      return `${number(step.n)} has an incomplete deregistration (133000)${step.stuck ? ', stuck: a deregister does not fix it' : ''}`;
    case 'pin_lock':
      return `Meta locks ${number(step.n)}'s PIN checks for ${step.hours} h`;
    case 'new_name_status':
      return `${number(step.n)}'s new_name_status becomes ${step.status}`;
    case 'revoke_token':
      return `Meta revokes the stored token`;
    case 'store_token':
      return `operator stores a new token version${step.valid ? '' : ' (one Meta does not accept)'}`;
    case 'revoke_business_token':
      return `Meta revokes business #${step.b}'s own token`;
    case 'store_business_token':
      return `operator stores a new version of business #${step.b}'s own token${step.valid ? '' : ' (one Meta does not accept)'}`;
    case 'rotate_pin':
      return `pin rotate ${number(step.n)}${step.setFault ? `; Meta answers setSecret with ${fault(step.setFault)}` : ''}${step.crashAt === undefined ? '' : `; the rotation dies before its call #${step.crashAt}`}; the echo webhook ${step.echo === 'now' ? 'is resolved now' : 'waits'}`;
    case 'verify_request':
      return `verify request ${number(step.n)} (SMS)`;
    case 'verify_confirm':
      return `${step.requestFirst ? `verify request ${number(step.n)}, then ` : ''}verify confirm ${number(step.n)} with the ${step.code} code${step.redrive ? ', then redrive its needs_verification dead letters' : ''}`;
    case 'store_pin':
      return step.value === 'delete' ? `operator deletes ${number(step.n)}'s PIN secret` : `operator stores a ${step.value} PIN for ${number(step.n)} (new version)`;
    case 'hold_clear':
      return `operator: hold clear ${number(step.n)}${step.force ? ' --force' : ''}`;
    case 'hold_clear_token':
      return `operator: hold clear --token`;
    case 'infra_fault':
      return `${step.afterAnswer ? `first ${step.port} call after a Graph "${step.afterAnswer}"` : `${step.port} call #${step.nth} from now`}: ${step.effect === 'crash' ? 'the container crashes' : 'fails'} ${step.when} the call`;
    case 'clock':
      return `clock + ${duration(step.ms)}`;
    case 'meta': {
      const delivery = step.copies === 0 ? 'its webhook comes later' : `its webhook arrives ${step.copies}×${step.publishFails ? ' (the first publish fails: 500, Meta redelivers)' : ''}`;
      const older = step.olderBy === undefined ? '' : `; then the late webhook of an earlier change (${step.olderBy === 0 ? 'the same second' : `${duration(step.olderBy * MINUTE)} before`})`;
      const resolver = { now: ', then the resolver runs', twice: ', then the resolver runs (its first event delivered twice)', later: ', the resolver does not run yet' }[step.resolve];
      return `at Meta${step.ageMinutes > 0 ? `, ${duration(step.ageMinutes * MINUTE)} ago` : ''}: ${fact(step.fact, number)}; ${delivery}${older}${resolver}`;
    }
    case 'webhook':
      return `Meta (re)delivers recent change(s) #${step.picks.join(', #')} ${step.copies}× (${step.signature === 'valid' ? 'signed' : `signature ${step.signature}`})${step.resolve ? ', then the resolver runs' : ''}`;
    case 'resolve_events':
      return `the resolver takes its waiting events${step.order === 'reverse' ? ' newest first' : ''}${step.duplicate ? ', the first one twice' : ''}`;
  }
}

/** The program as a numbered list, readable without the code. */
function formatProgram(program: Program): string {
  const ids = numberIds(program.setup);
  const number = (index: number) => ids[index % ids.length]!;
  const lines = [
    `setup: batch size ${program.setup.batchSize}, ${program.setup.concurrency} concurrent invocation(s), token ${program.setup.tokenStored ? 'stored' : 'NOT stored'}, ${program.setup.businesses} business account(s) (#0 ${BUSINESS_IDS[0]}${program.setup.businesses > 1 ? `, #1 ${BUSINESS_IDS[1]}` : ''})` +
      `${(program.setup.ownTokens ?? 0) & 3 ? `, own tokens for business${[0, 1].filter((b) => b < program.setup.businesses && (program.setup.ownTokens & (1 << b))).map((b) => ` #${b}`).join(',')}` : ''}`,
    ...program.setup.numbers.map(
      (setup, index) =>
        `  number ${ids[index]} (business #${BUSINESS_IDS.indexOf(businessOf(program.setup, index) as (typeof BUSINESS_IDS)[number])}): ${setup.registered ? 'registered' : 'not registered'}, ${setup.verification}, two-step PIN ${setup.pinEnabled ? 'on' : 'off'}, stored PIN ${setup.storedPin}`,
    ),
    ...program.steps.map((step, index) => `${index + 1}. ${describeStep(step, number)}`),
  ];
  return lines.join('\n');
}

/** A failed run: the violations, then the program, then what happened (trimmed to `maxTrace` lines). */
export function formatFailure(program: Program, violations: string[], trace: string[], maxTrace = 400): string {
  const shown = trace.length > maxTrace ? [...trace.slice(0, maxTrace / 2), `  … ${trace.length - maxTrace} lines …`, ...trace.slice(-maxTrace / 2)] : trace;
  return ['Violations:', ...violations.map((text) => `  - ${text}`), '', 'Program:', formatProgram(program), '', 'What happened:', ...shown].join('\n');
}
