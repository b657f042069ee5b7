import { inject } from 'vitest';

// Real SDK clients against the emulator: production code is unchanged, only the environment differs.
const endpoint = inject('motoEndpoint');
if (!endpoint) throw new Error('motoEndpoint was not provided: the integration project needs its globalSetup');
process.env.AWS_ENDPOINT_URL = endpoint;
process.env.AWS_REGION = 'eu-west-1';
process.env.AWS_ACCESS_KEY_ID = 'testing';
process.env.AWS_SECRET_ACCESS_KEY = 'testing';
process.env.POWERTOOLS_DEV = 'true';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
