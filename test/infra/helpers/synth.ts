import { App, type PolicyViolation } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import cdkJson from '../../../cdk.json' with { type: 'json' };
import { addNagChecks, addRegistrarStack } from '../../../infra/bin/app.ts';
import type { RegistrarStack } from '../../../infra/stacks/registrar-stack.ts';

export interface SynthOptions {
  /** CDK context on top of cdk.json's (as `-c key=value` would give it). */
  context?: Record<string, unknown>;
  /** Bundle the handlers with esbuild, as `cdk synth` does. Off by default: bundling is the slow part. */
  bundle?: boolean;
  /**
   * Register cdk-nag as infra/bin/app.ts does (default). Off only for the failing half of a paired
   * test whose checker is not cdk-nag, because cdk-nag would stop the synth first.
   */
  nag?: boolean;
  /** Changes the stack after it is built: the failing half of a paired test. */
  customize?: (stack: RegistrarStack) => void;
}

export interface Synthesized {
  app: App;
  stack: RegistrarStack;
  /** Reruns cdk-nag's AwsSolutions pack over the app and returns the findings nobody acknowledged. */
  nagViolations: () => PolicyViolation[];
  /** The template; throws like `cdk synth` when cdk-nag reports an unacknowledged finding. */
  template: () => Template;
}

/** Builds the app of infra/bin/app.ts in memory. */
export function synthRegistrar(options: SynthOptions = {}): Synthesized {
  const app = new App({
    context: {
      // What the CDK CLI passes from cdk.json: the feature flags and the context `cdk synth` uses.
      ...cdkJson.context,
      ...options.context,
      // Skipping bundling keeps the test fast; the handlers' code is not under test here.
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
    },
  });
  const stack = addRegistrarStack(app);
  options.customize?.(stack);
  const nag = options.nag === false ? undefined : addNagChecks(app);
  let template: Template | undefined;
  return {
    app,
    stack,
    nagViolations: () => {
      if (!nag) throw new Error('built with nag: false');
      return nag.validateScope(app).violations;
    },
    template: () => (template ??= Template.fromStack(stack)),
  };
}
