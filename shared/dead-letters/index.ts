/**
 * The dead-letter use case: read the dead-letter queue, decide what may go back, send it back exactly once, and
 * check whether a hold that put a job there is lifted. The scheduled redrive (a Lambda) and the CLI's `dlq`
 * commands both run it. Presentation (tables, texts) lives with the CLI in bin/.
 *
 * - `port.ts`: the dead-letter queue and the redrive target; `sqs-dead-letter-queue.ts`: their SQS adapters.
 * - `redrive-policy.ts`: which messages a redrive takes (pure); `redrive.ts`: the redrive itself.
 * - `hold-probe.ts`: whether a hold is lifted (pure, plus its port); `aws-hold-probe.ts`: the adapter.
 * - `list.ts`, `purge.ts`: the operator's reads and deletes.
 */
export { AwsHoldProbe } from './aws-hold-probe.ts';
export { VIEW_CATEGORIES, type DeadLetter, type DeadLetterFilter, type ViewCategory } from './dead-letter.ts';
export { deadLetterHold, HELD_CATEGORIES, holdVerdict, memoizeProbe, type DeadLetterHold, type HoldFacts, type HoldProbe } from './hold-probe.ts';
export { findDeadLetter, listDeadLetters } from './list.ts';
export type { ScanOptions } from './port.ts';
export { purgeDeadLetters } from './purge.ts';
export { redriveDeadLetters, type RedriveDeps, type RedriveReport } from './redrive.ts';
export { decideRedrive, type RedriveMode } from './redrive-policy.ts';
export { deleteDeadLetter, readDeadLetter, SqsDeadLetterQueue, SqsRedriveTarget } from './sqs-dead-letter-queue.ts';
