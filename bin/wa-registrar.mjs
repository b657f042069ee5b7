#!/usr/bin/env node
// The `wa-registrar` bin: plain JS so node runs it directly; tsx loads the TypeScript CLI without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
