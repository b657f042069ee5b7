import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig } from '../config.ts';
import { RegistrarStack, stackNameFor } from '../stacks/registrar-stack.ts';

/**
 * The CDK app: one stack per stage, environment-agnostic (no account or region lookups), so
 * `cdk synth` works offline; `cdk deploy` targets the credentials' account and region.
 * cdk-nag's AwsSolutions pack runs on every synth; findings are fixed or acknowledged one by one.
 */
export function buildApp(app: App = new App()): { app: App; stack: RegistrarStack } {
  const config = readConfig(app.node);
  const stack = new RegistrarStack(app, stackNameFor(config.stage), {
    description: `wa-registrar (${config.stage}): WhatsApp number registration worker`,
    config,
    tags: { application: 'wa-registrar', stage: config.stage },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

// Run as the CDK app (`cdk synth` runs `tsx infra/bin/app.ts`), not when imported by tests.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  buildApp().app.synth();
}
