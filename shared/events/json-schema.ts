import { z } from 'zod';
import { EVENT_DETAIL_TYPES, EVENT_SCHEMAS, EVENT_SOURCE, WEBHOOK_DETAIL_TYPES } from './registrar-events.v1.ts';

const fromWebhooks: ReadonlySet<string> = new Set(WEBHOOK_DETAIL_TYPES);

/**
 * The event contract as JSON Schema, generated from the zod schemas (the only definition), for rules and consumers in
 * other languages: an EventBridge event (`detail-type`, `source`, `detail`) whose detail matches the `$defs` entry of
 * its detail type. Written to schema/events.v1.json by `npm run schema`; a test keeps the file current.
 */
export function eventsJsonSchema(): Record<string, unknown> {
  const $defs = Object.fromEntries(
    EVENT_DETAIL_TYPES.map((detailType) => {
      const { $schema: _drop, ...definition } = z.toJSONSchema(EVENT_SCHEMAS[detailType], { io: 'input', target: 'draft-2020-12' });
      return [detailType, definition];
    }),
  );
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://wa-registrar.dev/schema/events.v1.json',
    title: 'wa-registrar events, version 1',
    description: `An EventBridge event as a rule target receives it. Events from webhooks have source "${EVENT_SOURCE}".`,
    type: 'object',
    required: ['detail-type', 'source', 'detail'],
    oneOf: EVENT_DETAIL_TYPES.map((detailType) => ({
      properties: {
        'detail-type': { const: detailType },
        source: fromWebhooks.has(detailType) ? { const: EVENT_SOURCE } : { type: 'string', minLength: 1 },
        detail: { $ref: `#/$defs/${detailType}` },
      },
    })),
    $defs,
  };
}
