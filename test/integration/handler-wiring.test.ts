import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAwsClients } from '../../shared/aws-clients.ts';
import { startGraphSimulator, type GraphSimulator } from '../../tools/graph-simulator.ts';
import type { LocalResources } from '../../shared/local-resources.ts';
import { provisionEmulatorResources } from '../../tools/emulator-resources.ts';

describe('the deployed handler module', () => {
  let sim: GraphSimulator;
  let stack: LocalResources;
  beforeAll(async () => {
    const clients = createAwsClients();
    stack = await provisionEmulatorResources({ endpoint: process.env.AWS_ENDPOINT_URL!, region: process.env.AWS_REGION!, namePrefix: 'wiring' }, clients);
    sim = await startGraphSimulator({ tokens: ['wiring-token'] });
    sim.addNumber('777', { pin: '101010' });
    await clients.secretsManager.send(new CreateSecretCommand({ Name: stack.tokenSecretId, SecretString: '{"accessToken":"wiring-token"}' }));
    await clients.secretsManager.send(new CreateSecretCommand({ Name: `${stack.pinSecretPrefix}777`, SecretString: '{"pin":"101010"}' }));
  });
  afterAll(() => sim.stop());

  it('fails the cold start naming each missing variable', async () => {
    vi.resetModules();
    vi.stubEnv('LEDGER_TABLE_NAME', '');
    await expect(import('../../functions/register-worker/handler.ts')).rejects.toThrow(/LEDGER_TABLE_NAME is required/);
    vi.unstubAllEnvs();
  });

  it('loads its configuration from the environment and processes an SQS batch through middy', async () => {
    vi.resetModules();
    const env = {
      GRAPH_API_BASE_URL: sim.baseUrl,
      LEDGER_TABLE_NAME: stack.ledgerTableName,
      JOB_QUEUE_URL: stack.jobQueueUrl,
      DEAD_LETTER_QUEUE_URL: stack.deadLetterQueueUrl,
      TOKEN_SECRET_ID: stack.tokenSecretId,
      PIN_SECRET_PREFIX: stack.pinSecretPrefix,
    };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    const { handler } = await import('../../functions/register-worker/handler.ts');
    const event: SQSEvent = {
      Records: [
        {
          messageId: 'wired-1',
          receiptHandle: 'r',
          body: JSON.stringify({ action: 'register', phoneNumberId: '777' }),
          attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 's', ApproximateFirstReceiveTimestamp: '0', MessageGroupId: '777' },
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:jobs.fifo',
          awsRegion: 'eu-west-1',
        },
      ],
    };
    const context = { functionName: 'worker', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 180_000 } as unknown as Context;

    const response = await handler(event, context);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(sim.number('777')!.registered).toBe(true);
    vi.unstubAllEnvs();
  });
});
