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
    const config = configFrom({ maxConcurrency: '25', attemptLimit: '8', attemptBudgetShared: 'false', scheduledRedrive: 'false', alarmEmail: 'ops@example.com', webhookConcurrency: '0' });
    // Assess
    expect(config).toMatchObject({ maxConcurrency: 25, attemptLimit: 8, attemptBudgetShared: false, scheduledRedrive: false, alarmEmail: 'ops@example.com', webhookConcurrency: 0 });
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
    ['pinSecretPrefix', 'wa-registrar/prod/pin'],
    ['tokenSecretPrefix', 'wa-registrar/prod/token'],
    ['tokenSecretPrefix', 'tok*/'],
    ['backupSecretPrefix', 'b/'],
    ['backupSecretPrefix', ''],
    ['alarmEmail', 'not-an-address'],
    ['maxConcurrency', '1'],
    ['maxConcurrency', '1001'],
    ['maxConcurrency', 'ten'],
    ['attemptLimit', '11'],
    ['attemptLimit', '0'],
    ['attemptBudgetShared', 'yes'],
    ['scheduledRedrive', 'off'],
    ['appSecretName', 'meta/*'],
    ['verifyTokenSecretName', ''],
    ['webhookConcurrency', '101'],
    ['webhookConcurrency', '-1'],
    ['webhookConcurrency', 'lots'],
  ])('rejects %s=%j with an error naming the key', (key, value) => {
    // Act
    const act = () => configFrom({ [key]: value });
    // Assess
    expect(act).toThrow(ContextError);
    expect(act).toThrow(new RegExp(`\\b${key} `));
  });

  describe('secret names per stage', () => {
    it('gives each stage its own token, PIN prefix and webhook secrets by default', () => {
      // Act
      const [dev, prod] = ['dev', 'prod'].map((stage) => configFrom({ ...cdkJson.context, stage }));
      // Assess
      expect(dev).toMatchObject({
        tokenSecretName: 'wa-registrar/dev/graph-token',
        pinSecretPrefix: 'wa-registrar/dev/pin/',
        tokenSecretPrefix: 'wa-registrar/dev/token/',
        backupSecretPrefix: 'wa-registrar/dev/backup/',
        appSecretName: 'wa-registrar/dev/meta-app-secret',
        verifyTokenSecretName: 'wa-registrar/dev/webhook-verify-token',
      });
      expect(prod).toMatchObject({
        tokenSecretName: 'wa-registrar/prod/graph-token',
        pinSecretPrefix: 'wa-registrar/prod/pin/',
        tokenSecretPrefix: 'wa-registrar/prod/token/',
        backupSecretPrefix: 'wa-registrar/prod/backup/',
        appSecretName: 'wa-registrar/prod/meta-app-secret',
        verifyTokenSecretName: 'wa-registrar/prod/webhook-verify-token',
      });
      // No stage's prefix grant covers the other's secrets.
      for (const key of ['pinSecretPrefix', 'tokenSecretPrefix', 'backupSecretPrefix'] as const) {
        expect(prod!.tokenSecretName.startsWith(dev![key])).toBe(false);
        for (const other of ['pinSecretPrefix', 'tokenSecretPrefix', 'backupSecretPrefix'] as const) expect(prod![other].startsWith(dev![key])).toBe(false);
      }
    });

    it('fills {stage} into names given with -c too', () => {
      expect(
        configFrom({
          stage: 'eu',
          tokenSecretName: 'acme/{stage}/wa-token',
          pinSecretPrefix: 'acme/{stage}/wa-pins/',
          tokenSecretPrefix: 'acme/{stage}/wa-business-tokens/',
          backupSecretPrefix: 'acme/{stage}/wa-backups/',
          appSecretName: 'acme/{stage}/meta-app',
          verifyTokenSecretName: 'acme/{stage}/meta-verify',
        }),
      ).toMatchObject({
        tokenSecretName: 'acme/eu/wa-token',
        pinSecretPrefix: 'acme/eu/wa-pins/',
        tokenSecretPrefix: 'acme/eu/wa-business-tokens/',
        backupSecretPrefix: 'acme/eu/wa-backups/',
        appSecretName: 'acme/eu/meta-app',
        verifyTokenSecretName: 'acme/eu/meta-verify',
      });
    });

    // Each role reads its own secrets by exact name: a shared name, or one under the PIN prefix, would widen a grant.
    it.each([
      [{ appSecretName: 'wa-registrar/{stage}/pin/app' }, /appSecretName must not start with pinSecretPrefix/],
      [{ verifyTokenSecretName: 'wa-registrar/{stage}/pin/verify' }, /verifyTokenSecretName must not start with pinSecretPrefix/],
      [{ appSecretName: 'wa-registrar/{stage}/graph-token' }, /appSecretName must differ from tokenSecretName/],
      [{ verifyTokenSecretName: 'wa-registrar/{stage}/meta-app-secret' }, /verifyTokenSecretName must differ from appSecretName/],
    ])('refuses webhook secret names %j', (context, expected) => {
      // Act
      const act = () => configFrom({ ...cdkJson.context, ...context });
      // Assess
      expect(act).toThrow(ContextError);
      expect(act).toThrow(expected);
    });
  });

  // Paired, as cdk-nag tests its rules: the PIN grant is `<prefix>*`, so the prefix must be a folder of its own.
  describe('the PIN secret prefix', () => {
    it.each([
      ['/', /pinSecretPrefix must be at least 5 characters|pinSecretPrefix must not start with "\/"/],
      ['a/', /pinSecretPrefix must be at least 5 characters/],
      ['pin/', /pinSecretPrefix must be at least 5 characters/],
      ['*', /pinSecretPrefix must be a Secrets Manager name prefix/],
      ['wa-registrar/prod/pin', /pinSecretPrefix must end in "\/"/],
      ['wa-registrar/prod/pin-', /pinSecretPrefix must end in "\/"/],
      ['/wa-registrar/pin/', /pinSecretPrefix must not start with "\/"/],
      ['wa-registrar//pin/', /pinSecretPrefix must not start with "\/" or contain "\/\/"/],
    ])('refuses %j', (prefix, expected) => {
      // Act
      const act = () => configFrom({ pinSecretPrefix: prefix });
      // Assess
      expect(act).toThrow(ContextError);
      expect(act).toThrow(expected);
    });

    it.each(['x/pin/', 'pins/', 'wa-registrar/prod/pin/', 'acme.whatsapp/pin@eu/'])('accepts %j', (prefix) => {
      expect(configFrom({ pinSecretPrefix: prefix }).pinSecretPrefix).toBe(prefix);
    });

    it('refuses a token whose name starts with the PIN prefix (the PIN grant would cover it), and accepts it beside', () => {
      // Act
      const inside = () => configFrom({ tokenSecretName: 'wa/prod/pin/token', pinSecretPrefix: 'wa/prod/pin/' });
      const beside = configFrom({ tokenSecretName: 'wa/prod/token', pinSecretPrefix: 'wa/prod/pin/' });
      // Assess
      expect(inside).toThrow(/tokenSecretName must not start with pinSecretPrefix/);
      expect(beside.tokenSecretName).toBe('wa/prod/token');
    });
  });

  // Paired: the business-token and backup prefixes are granted like the PIN prefix (`<prefix>*`), so they follow its
  // rules, and no name or prefix may sit under another prefix (that grant would cover it) or start with a secret name.
  describe.each(['tokenSecretPrefix', 'backupSecretPrefix'] as const)('the %s', (key) => {
    it.each([
      ['/', /must be at least 5 characters|must not start with "\/"/],
      ['pin/', /must be at least 5 characters/],
      ['*', /must be a Secrets Manager name prefix/],
      ['wa-registrar/prod/x', /must end in "\/"/],
      ['wa-registrar//x/', /must not start with "\/" or contain "\/\/"/],
    ])('refuses %j', (prefix, expected) => {
      // Act
      const act = () => configFrom({ [key]: prefix });
      // Assess
      expect(act).toThrow(ContextError);
      expect(act).toThrow(new RegExp(`${key} (${expected.source})`));
    });

    it.each(['x/tok/', 'acme.whatsapp/tenant@eu/'])('accepts %j', (prefix) => {
      expect(configFrom({ [key]: prefix })[key]).toBe(prefix);
    });
  });

  describe('prefixes and names keep apart', () => {
    it.each([
      // A prefix under another: that grant would cover its secrets (a PIN role reading business tokens).
      [{ tokenSecretPrefix: 'wa-registrar/{stage}/pin/tokens/' }, /tokenSecretPrefix must not start with pinSecretPrefix \("wa-registrar\/dev\/pin\/"\): the PIN grant would cover its secrets/],
      [{ pinSecretPrefix: 'wa-registrar/{stage}/backup/pin/' }, /pinSecretPrefix must not start with backupSecretPrefix .*: the backup grant would cover its secrets/],
      [{ backupSecretPrefix: 'wa-registrar/{stage}/token/b/' }, /backupSecretPrefix must not start with tokenSecretPrefix .*: the business-token grant would cover its secrets/],
      [{ tokenSecretPrefix: 'wa-registrar/{stage}/', backupSecretPrefix: 'wa-registrar/{stage}/b/' }, /pinSecretPrefix must not start with tokenSecretPrefix.*backupSecretPrefix must not start with tokenSecretPrefix/],
      [{ backupSecretPrefix: 'wa-registrar/{stage}/pin/' }, /backupSecretPrefix must differ from pinSecretPrefix \(both are "wa-registrar\/dev\/pin\/"\)/],
      // A secret name under a prefix: that grant would cover it.
      [{ tokenSecretName: 'wa-registrar/{stage}/token/default' }, /tokenSecretName must not start with tokenSecretPrefix .*: the business-token grant would cover it/],
      [{ appSecretName: 'wa-registrar/{stage}/backup/app' }, /appSecretName must not start with backupSecretPrefix .*: the backup grant would cover it/],
      // A prefix that starts with a secret name: a folder of its own.
      [{ tokenSecretPrefix: 'wa-registrar/{stage}/graph-token/' }, /tokenSecretPrefix must not start with tokenSecretName \("wa-registrar\/dev\/graph-token"\)/],
      [{ backupSecretPrefix: 'wa-registrar/{stage}/meta-app-secret-backups/' }, /backupSecretPrefix must not start with appSecretName/],
    ])('refuses %j', (context, expected) => {
      // Act
      const act = () => configFrom({ ...cdkJson.context, ...context });
      // Assess
      expect(act).toThrow(ContextError);
      expect(act).toThrow(expected);
    });

    it('accepts prefixes side by side, even sharing a beginning that is not a whole prefix', () => {
      // Act
      const config = configFrom({ ...cdkJson.context, pinSecretPrefix: 'wa/prod/pin/', tokenSecretPrefix: 'wa/prod/pin-tokens/', backupSecretPrefix: 'wa/prod/backup/', tokenSecretName: 'wa/prod/token' });
      // Assess
      expect(config).toMatchObject({ pinSecretPrefix: 'wa/prod/pin/', tokenSecretPrefix: 'wa/prod/pin-tokens/', backupSecretPrefix: 'wa/prod/backup/' });
    });
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
