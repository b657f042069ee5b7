import { z } from 'zod';
import { jobV1Schema } from './job.v1.ts';

/**
 * The job contract as JSON Schema, generated from the zod schema (the only definition), for producers
 * in other languages. Written to schema/job.v1.json by `npm run schema`; a test keeps the file current.
 * Not expressed in JSON Schema: the refusal of secret fields' own message, and "no region on deregister".
 */
export function jobJsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://wa-registrar.dev/schema/job.v1.json',
    title: 'wa-registrar job, version 1',
    ...z.toJSONSchema(jobV1Schema, { io: 'input', target: 'draft-2020-12' }),
  };
}
