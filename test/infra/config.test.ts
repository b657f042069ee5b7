import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import cdkJson from '../../cdk.json' with { type: 'json' };
import { CONTEXT_DEFAULTS, CONTEXT_KEYS, ContextError, readConfig } from '../../infra/config.ts';
import { synthRegistrar } from './helpers/synth.ts';

const configFrom = (context: Record<string, unknown>) => readConfig(new App({ context }).node);

describe('CDK context', () => {
  it('cdk.json sets every key the app reads, to the documented defaults', () => {
    // Act
    const fromJson = Object.fromEntries(CONTEXT_KEYS.map((key) => [key, (cdkJson.context as Record<string, unknown>)[key]]));
    // Assess
    expect(fromJson).toEqual(CONTEXT_DEFAULTS);
  });

  it('accepts -c values, which arrive as strings', () => {
    // Act
    const config = configFrom({ maxConcurrency: '25', attemptLimit: '8', attemptBudgetShared: 'false', scheduledRedrive: 'false', alarmEmail: 'ops@example.com' });
    // Assess
    expect(config).toMatchObject({ maxConcurrency: 25, attemptLimit: 8, attemptBudgetShared: false, scheduledRedrive: false, alarmEmail: 'ops@example.com' });
  });

  it('treats an empty alarmEmail as none', () => {
    expect(configFrom({ alarmEmail: '' }).alarmEmail).toBeUndefined();
  });

  it.each([
    ['stage', 'Prod!'],
    ['graphApiVersion', '25'],
    ['graphApiBaseUrl', 'http://graph.facebook.com'],
    ['graphApiBaseUrl', 'https://graph.facebook.com/v25.0'],
    ['tokenSecretName', 'token*'],
    ['pinSecretPrefix', ''],
    ['pinSecretPrefix', 'pins/?'],
    ['alarmEmail', 'not-an-address'],
    ['maxConcurrency', '1'],
    ['maxConcurrency', '1001'],
    ['maxConcurrency', 'ten'],
    ['attemptLimit', '11'],
    ['attemptLimit', '0'],
    ['attemptBudgetShared', 'yes'],
    ['scheduledRedrive', 'off'],
  ])('rejects %s=%j with an error naming the key', (key, value) => {
    // Act
    const act = () => configFrom({ [key]: value });
    // Assess
    expect(act).toThrow(ContextError);
    expect(act).toThrow(new RegExp(`\\b${key} `));
  });

  it('names every bad key at once, and fails the synth', () => {
    // Act
    const act = () => synthRegistrar({ context: { maxConcurrency: 0, attemptLimit: 99, stage: 'x y' } });
    // Assess
    expect(act).toThrow(/stage .*maxConcurrency .*attemptLimit /);
  });

  it('carries context into the stack: name, concurrency, Graph settings, budget', () => {
    // Prepare
    const { stack, template } = synthRegistrar({
      context: { stage: 'prod', maxConcurrency: '4', graphApiVersion: 'v26.0', attemptLimit: '8', attemptBudgetShared: 'false' },
    });
    // Assess
    expect(stack.stackName).toBe('wa-registrar-prod');
    template().hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 4 } });
    template().hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ GRAPH_API_VERSION: 'v26.0', ATTEMPT_LIMIT: '8', ATTEMPT_BUDGET_SHARED: 'false' }) },
    });
  });
});
