/**
 * The deployed stack's output keys. The stack declares its outputs under these names; the ops CLI
 * (`wa-registrar --stack NAME`) and upstream systems read them, so renaming one breaks every reader.
 * Dependency-free on purpose: the CDK app, the CLI and the tests all import it.
 */
export const STACK_OUTPUT_KEYS = {
  jobQueueUrl: 'JobQueueUrl',
  jobQueueArn: 'JobQueueArn',
  deadLetterQueueUrl: 'DeadLetterQueueUrl',
  ledgerTableName: 'LedgerTableName',
  tokenSecretId: 'TokenSecretId',
  pinSecretPrefix: 'PinSecretPrefix',
  tokenSecretPrefix: 'TokenSecretPrefix',
  producerPolicyArn: 'ProducerPolicyArn',
  operatorReadPolicyArn: 'OperatorReadPolicyArn',
  operatorWritePolicyArn: 'OperatorWritePolicyArn',
  operatorGraphPolicyArn: 'OperatorGraphPolicyArn',
  alarmTopicArn: 'AlarmTopicArn',
  region: 'Region',
  webhookUrl: 'WebhookUrl',
  eventBusName: 'EventBusName',
  eventsDeadLetterQueueUrl: 'EventsDeadLetterQueueUrl',
  appSecretId: 'AppSecretId',
  verifyTokenSecretId: 'VerifyTokenSecretId',
  pinRotationFunctionArn: 'PinRotationFunctionArn',
  pinRotationDays: 'PinRotationDays',
} as const;
