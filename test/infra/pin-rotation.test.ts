import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPinRotationConfig } from '../../functions/pin-rotation/config.ts';
import { ContextError, readConfig } from '../../infra/config.ts';
import { PIN_ROTATION_GRAPH_TIMEOUT_MS, PIN_ROTATION_TIMEOUT_SECONDS } from '../../infra/definitions.ts';
import type { RegistrarStack } from '../../infra/stacks/registrar-stack.ts';
import { flatten } from './helpers/iam-walker.ts';
import { synthRegistrar, type Synthesized } from './helpers/synth.ts';

type Resource = { Type: string; Properties: Record<string, any> };
type TemplateJson = { Resources: Record<string, Resource> };

/**
 * Lambda permissions that let an AWS service invoke a function without naming the account (or the resource) it acts
 * for: any other account's use of that service could invoke it (the confused deputy).
 */
function unscopedServiceInvokes(template: TemplateJson): string[] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::Lambda::Permission')
    .filter(([, resource]) => String(resource.Properties.Principal).endsWith('.amazonaws.com'))
    .filter(([, resource]) => resource.Properties.SourceAccount === undefined && resource.Properties.SourceArn === undefined)
    .map(([logicalId, resource]) => `${logicalId}: ${String(resource.Properties.Principal)}`);
}

let synthesized: Synthesized;
let stack: RegistrarStack;
let template: Template;
let resources: Record<string, Resource>;
const ref = (token: string): unknown => stack.resolve(token);
const propertiesOf = (token: string) => {
  const value = ref(token) as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  return resources[value.Ref ?? value['Fn::GetAtt']![0]]!.Properties;
};

beforeAll(() => {
  synthesized = synthRegistrar({ bundle: true });
  stack = synthesized.stack;
  template = synthesized.template();
  resources = (template.toJSON() as TemplateJson).Resources;
});

describe('PIN rotation function', () => {
  it('runs Node.js 24 on arm64 within its timeout, with a Graph timeout that leaves room for the rest of a step', () => {
    // Act
    const properties = propertiesOf(stack.pinRotation.fn.function.functionArn);
    // Assess
    expect(properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Timeout: PIN_ROTATION_TIMEOUT_SECONDS, MemorySize: 256 });
    expect(PIN_ROTATION_GRAPH_TIMEOUT_MS * 2).toBeLessThan(PIN_ROTATION_TIMEOUT_SECONDS * 1000);
  });

  it('sets every variable the rotation reads, tied to this stack, and its config accepts them', () => {
    // Act
    const variables = propertiesOf(stack.pinRotation.fn.function.functionArn).Environment.Variables as Record<string, unknown>;
    const config = loadPinRotationConfig(Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, typeof value === 'string' ? value : flatten(value)])));
    // Assess
    expect(variables).toMatchObject({
      GRAPH_API_BASE_URL: 'https://graph.facebook.com',
      GRAPH_API_VERSION: 'v25.0',
      GRAPH_TIMEOUT_MS: String(PIN_ROTATION_GRAPH_TIMEOUT_MS),
      LEDGER_TABLE_NAME: ref(stack.ledger.table.tableName),
      TOKEN_SECRET_ID: 'wa-registrar/dev/graph-token',
      PIN_SECRET_PREFIX: 'wa-registrar/dev/pin/',
    });
    expect(config).toMatchObject({ PIN_SECRET_PREFIX: 'wa-registrar/dev/pin/', GRAPH_TIMEOUT_MS: PIN_ROTATION_GRAPH_TIMEOUT_MS });
  });

  it('may be invoked by Secrets Manager of this account only, and by nothing else', () => {
    // Act
    const permissions = Object.values(resources).filter(
      (resource) => resource.Type === 'AWS::Lambda::Permission' && JSON.stringify(resource.Properties.FunctionName) === JSON.stringify(ref(stack.pinRotation.fn.function.functionArn)),
    );
    // Assess
    expect(permissions.map((permission) => permission.Properties)).toEqual([
      { Action: 'lambda:InvokeFunction', FunctionName: ref(stack.pinRotation.fn.function.functionArn), Principal: 'secretsmanager.amazonaws.com', SourceAccount: { Ref: 'AWS::AccountId' } },
    ]);
    // Nothing else runs it: no event source, no rule, no URL.
    const arn = JSON.stringify(ref(stack.pinRotation.fn.function.functionArn));
    const name = JSON.stringify(ref(stack.pinRotation.fn.function.functionName));
    const others = Object.values(resources).filter(
      (resource) => resource.Type !== 'AWS::Lambda::Permission' && resource.Type !== 'AWS::Lambda::Function' && (JSON.stringify(resource.Properties ?? {}).includes(arn) || JSON.stringify(resource.Properties ?? {}).includes(name)),
    );
    expect(others.map((resource) => resource.Type)).toEqual([]);
  });

  it('lets no AWS service invoke any function of the stack without naming the account (the failing half: a permission without SourceAccount)', () => {
    // Act
    const deployed = unscopedServiceInvokes(template.toJSON() as TemplateJson);
    const careless = synthRegistrar({
      nag: false,
      customize: (s) => s.pinRotation.fn.function.addPermission('AnyAccount', { principal: new ServicePrincipal('secretsmanager.amazonaws.com') }),
    });
    // Assess
    expect(deployed).toEqual([]);
    expect(unscopedServiceInvokes(careless.template().toJSON() as TemplateJson)).toEqual([expect.stringMatching(/AnyAccount.*: secretsmanager\.amazonaws\.com$/)]);
  });

  it('attaches no rotation schedule itself: the PIN secrets are not the stack\'s (pin rotate attaches the function per secret)', () => {
    expect(template.findResources('AWS::SecretsManager::RotationSchedule')).toEqual({});
    expect(template.findResources('AWS::SecretsManager::Secret')).toEqual({});
  });

  it('outputs its ARN and the stage\'s schedule in days, 0 by default and the context value when set', () => {
    // Act
    const monthly = synthRegistrar({ context: { pinRotationDays: '30' } }).template();
    // Assess
    template.hasOutput('PinRotationFunctionArn', { Value: ref(stack.pinRotation.fn.function.functionArn) });
    template.hasOutput('PinRotationDays', { Value: '0' });
    monthly.hasOutput('PinRotationDays', { Value: '30' });
  });

  it('is bundled as ESM exporting handler, the SDK inside', () => {
    // Prepare
    const assembly = synthesized.app.synth();
    const code = propertiesOf(stack.pinRotation.fn.function.functionArn).Code as { S3Key: string };
    const manifest = JSON.parse(readFileSync(join(assembly.directory, `${stack.artifactId}.assets.json`), 'utf8')) as {
      files: Record<string, { source: { path: string }; destinations: Record<string, { objectKey: string }> }>;
    };
    const asset = Object.values(manifest.files).find((file) => Object.values(file.destinations).some((d) => d.objectKey === code.S3Key));
    // Act
    const bundle = readFileSync(join(assembly.directory, asset!.source.path, 'index.mjs'), 'utf8');
    // Assess
    expect(bundle).toMatch(/export\s*\{[^}]*\bhandler\b/);
    expect(bundle).not.toMatch(/from\s*["']@aws-sdk\//);
  });
});

describe('pinRotationDays context key', () => {
  const configFrom = (context: Record<string, unknown>) => readConfig(new App({ context }).node);

  it('is 0 (no schedule) by default and accepts 1 to 1000 days, as -c strings too', () => {
    expect(configFrom({}).pinRotationDays).toBe(0);
    expect(configFrom({ pinRotationDays: '90' }).pinRotationDays).toBe(90);
    expect(configFrom({ pinRotationDays: 1000 }).pinRotationDays).toBe(1000);
  });

  it.each(['1001', '-1', 'monthly', '7.5'])('rejects pinRotationDays=%j with an error naming the key', (value) => {
    const act = () => configFrom({ pinRotationDays: value });
    expect(act).toThrow(ContextError);
    expect(act).toThrow(/\bpinRotationDays /);
  });
});
