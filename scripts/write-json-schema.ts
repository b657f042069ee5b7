// Regenerates schema/job.v1.json from the zod schema: `npm run schema`.
import { writeFileSync } from 'node:fs';
import { jobJsonSchema } from '../shared/jobs/json-schema.ts';

const path = new URL('../schema/job.v1.json', import.meta.url);
writeFileSync(path, `${JSON.stringify(jobJsonSchema(), null, 2)}\n`);
console.log(`wrote ${path.pathname}`);
