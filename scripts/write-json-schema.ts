// Regenerates schema/job.v1.json and schema/events.v1.json from the zod schemas: `npm run schema`.
import { writeFileSync } from 'node:fs';
import { eventsJsonSchema } from '../shared/events/json-schema.ts';
import { jobJsonSchema } from '../shared/jobs/json-schema.ts';

const files: Array<[string, Record<string, unknown>]> = [
  ['../schema/job.v1.json', jobJsonSchema()],
  ['../schema/events.v1.json', eventsJsonSchema()],
];
for (const [relative, schema] of files) {
  const path = new URL(relative, import.meta.url);
  writeFileSync(path, `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote ${path.pathname}`);
}
