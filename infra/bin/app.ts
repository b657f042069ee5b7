import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig } from '../config.ts';
import { RegistrarStack, stackNameFor } from '../stacks/registrar-stack.ts';

/**
 * Adds the wa-registrar stack for the stage in the app's context. Environment-agnostic (no account
 * or region lookups), so `cdk synth` works offline; `cdk deploy` targets the credentials' account and region.
 */
export function addRegistrarStack(app: App): RegistrarStack {
  const config = readConfig(app.node);
  return new RegistrarStack(app, stackNameFor(config.stage), {
    description: `wa-registrar (${config.stage}): WhatsApp number registration worker`,
    config,
    tags: { application: 'wa-registrar', stage: config.stage },
  });
}

/** cdk-nag's AwsSolutions pack, run on every synth; findings are fixed or acknowledged one by one. */
export function addNagChecks(app: App): AwsSolutionsChecks {
  const nag = new AwsSolutionsChecks(app);
  Validations.of(app).addPlugins(nag);
  return nag;
}

/** The CDK app as `cdk synth` and `cdk deploy` build it. */
export function buildApp(app: App = new App()): { app: App; stack: RegistrarStack; nag: AwsSolutionsChecks } {
  const stack = addRegistrarStack(app);
  const nag = addNagChecks(app);
  return { app, stack, nag };
}

// Run as the CDK app (`cdk synth` runs `tsx infra/bin/app.ts`), not when imported by tests.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  buildApp().app.synth();
}
