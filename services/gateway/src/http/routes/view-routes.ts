import type { InventoryEntry, SelectorEntry, SelectorSource } from '@latchkey/proto';
import type { RouteFamily } from '../route-context.js';
import { gatewayRoutes } from './gateway-route.js';
import { answerObject, DOMAIN_PARAMS, listAnswer } from './route-schemas.js';
import { SECRET_ANSWER, scopeOf, secretJson, type ScopeParams } from './secret-routes.js';

/** At most this many selector pages are followed for one answer, in case a service keeps returning a token. */
const MAX_PAGES = 1_000;

const SELECTOR_ENTRY = answerObject({
  key: 'string',
  sourceType: { type: 'string', description: 'MANAGED or VAULT' },
  backend: { type: 'string', description: 'MANAGED: database, kubernetes or vault' },
  sourceId: { type: 'string', description: 'MANAGED: the domain or "global"; VAULT: the integration id' },
  integrationName: 'string',
  readOnly: 'boolean',
});

const SELECTOR_SOURCE = answerObject({ source: 'string', available: 'boolean', reason: 'string' });

const INVENTORY_ENTRY = answerObject({
  secret: SECRET_ANSWER,
  workloadCount: 'integer',
  workloads: 'string[]',
  unreferenced: 'boolean',
  rotationDue: 'boolean',
  rotationDueAt: { type: 'string', description: 'when the current version is (or was) due; "" without a policy' },
});

const INVENTORY_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: { usedBy: { type: 'string', minLength: 1, description: 'only this key, with the workloads using it' } },
} as const;

const selectorEntryJson = (e: SelectorEntry) => ({
  key: e.key,
  sourceType: e.sourceType,
  backend: e.backend,
  sourceId: e.sourceId,
  integrationName: e.integrationName,
  readOnly: e.readOnly,
});

const inventoryEntryJson = (e: InventoryEntry) => ({
  secret: secretJson(e.secret),
  workloadCount: e.workloadCount,
  workloads: [...e.workloads],
  unreferenced: e.unreferenced,
  rotationDue: e.rotationDue,
  rotationDueAt: e.rotationDueAt,
});

/**
 * What `latchkey secret selector` and `latchkey inventory` show, over HTTP,
 * as the caller: keys and metadata, never a value.
 */
export const viewRoutes: RouteFamily = async (app, { upstream }) => {
  const route = gatewayRoutes(app, ['views']);
  route<{ domain: string }, { pageSize?: number; pageToken?: string }>(
    'GET',
    '/api/v1/domains/:domain/selector',
    {
      summary:
        "Every key a workload of the domain can reference, labelled by source: the domain's, global (read-only) and Vault keys (latchkey secret selector)",
      description:
        'Without pageSize, every page is followed and the answer is the whole list; with it, one page and its nextPageToken.',
      params: DOMAIN_PARAMS,
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          pageSize: { type: 'integer', minimum: 1, maximum: 2_147_483_647 },
          pageToken: { type: 'string', description: 'the nextPageToken of the previous page (with pageSize)' },
        },
      },
      answer: answerObject({
        entries: { type: 'array', items: SELECTOR_ENTRY },
        sources: {
          type: 'array',
          description: 'each source and whether it answered (a Vault that did not says why)',
          items: SELECTOR_SOURCE,
        },
        nextPageToken: 'string',
      }),
    },
    async (request) => {
      const { domain } = request.params;
      const { pageSize, pageToken: firstToken } = request.query;
      const entries: SelectorEntry[] = [];
      const sources = new Map<string, SelectorSource>();
      let pageToken = firstToken ?? '';
      let nextPageToken = '';
      for (let page = 0; page < MAX_PAGES; page++) {
        const res = await upstream.call(request.caller(), 'catalog', (c) => c.selector, {
          domain,
          pageSize: pageSize ?? 0,
          pageToken,
        });
        entries.push(...res.entries);
        for (const s of res.sources) {
          const known = sources.get(s.source);
          if (known === undefined || (known.available && !s.available)) sources.set(s.source, s);
        }
        nextPageToken = res.nextPageToken;
        if (pageSize !== undefined || nextPageToken === '' || nextPageToken === pageToken) break;
        pageToken = nextPageToken;
      }
      return {
        entries: entries.map(selectorEntryJson),
        sources: [...sources.values()].map((s) => ({ source: s.source, available: s.available, reason: s.reason })),
        nextPageToken: pageSize === undefined ? '' : nextPageToken,
      };
    },
  );
  const inventories = [
    { url: '/api/v1/domains/:domain/inventory', where: "the domain's", params: DOMAIN_PARAMS },
    { url: '/api/v1/global/inventory', where: 'the global', params: undefined },
  ] as const;
  for (const { url, where, params } of inventories) {
    route<ScopeParams, { usedBy?: string }>(
      'GET',
      url,
      {
        summary: `Every one of ${where} secrets with its version, last change, rotation policy and the workloads that use it (latchkey inventory)`,
        ...(params === undefined ? {} : { params }),
        querystring: INVENTORY_QUERY,
        answer: listAnswer('entries', INVENTORY_ENTRY),
      },
      async (request) => {
        const scope = scopeOf(request.params);
        const usedByKey = request.query.usedBy ?? '';
        const res = await upstream.call(request.caller(), 'catalog', (c) => c.inventory, { scope, usedByKey });
        return { entries: res.entries.map(inventoryEntryJson) };
      },
    );
  }
};
