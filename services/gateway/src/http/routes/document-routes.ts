import { asyncApiDocument } from '@latchkey/events';
import type { RouteFamily } from '../route-context.js';

export const ASYNCAPI_PATH = '/api/asyncapi.json';

/**
 * `GET /api/asyncapi.json`: the AsyncAPI 3.0 document of the events that
 * subscribers outside Latchkey consume (`@latchkey/events`' own, built from
 * the code's subjects and payload schemas). Like the OpenAPI document it
 * needs no caller: it describes shapes, never data.
 */
export const documentRoutes: RouteFamily = async (app) => {
  const document = asyncApiDocument();
  app.get(
    ASYNCAPI_PATH,
    {
      schema: {
        tags: ['documents'],
        summary: 'The AsyncAPI 3.0 document of the events external subscribers consume (NATS)',
        security: [],
      },
    },
    () => document,
  );
};
