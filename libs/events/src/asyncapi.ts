import { z } from 'zod';
import {
  cloudEventHeadersSchema,
  secretChangedSchema,
  secretRotationDueSchema,
  workloadDeployedSchema,
  workloadFailedSchema,
  workloadStaleSchema,
} from './asyncapi-schemas.js';
import { eventTypes, subjects } from './subjects.js';

/**
 * The AsyncAPI 3.0 document of the events subscribers outside Latchkey
 * consume (the subjects `latchkey events credentials` grants: bus-permissions'
 * PUBLIC_SUBJECTS). Built from the code's own subjects, CloudEvents types and
 * payload schemas, so that it cannot drift from what is published; the
 * gateway serves it at `GET /api/asyncapi.json`.
 */

/** One public event: where it is published, by whom, and its payload. */
export interface PublicEvent {
  /** The channel's, message's and payload schema's name in the document. */
  name: string;
  /** The event as people say it: `workload.stale`. */
  event: string;
  subject: (token: string) => string;
  /** The subject's last token. */
  parameter: 'domain' | 'scope';
  parameterDescription: string;
  /** Where the parameter's value is in the message (an AsyncAPI runtime expression), when it always is. */
  location?: string;
  type: string;
  /** The producing service's CloudEvents source. */
  source: string;
  summary: string;
  schema: z.ZodType;
  example: Record<string, unknown>;
}

const DOMAIN_PARAMETER = 'The workload’s domain.';

export const PUBLIC_EVENTS: readonly PublicEvent[] = [
  {
    name: 'WorkloadStale',
    event: 'workload.stale',
    subject: subjects.stale,
    parameter: 'domain',
    parameterDescription: DOMAIN_PARAMETER,
    location: '$message.payload#/domain',
    type: eventTypes.stale,
    source: 'latchkey/deployer',
    summary:
      'A rotation left workloads of one domain running with an older version of a secret (none was restarted): up to 1,000 per event.',
    schema: workloadStaleSchema,
    example: {
      domain: 'analytics',
      changed: { scope: 'analytics', key: 'DB_PASSWORD', currentVersion: 3, change: 'updated' },
      workloads: [
        {
          workloadId: '6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b',
          workload: 'nightly-etl',
          deployedVersion: 2,
          redeployMode: 'manual',
        },
      ],
    },
  },
  {
    name: 'WorkloadDeployed',
    event: 'workload.deployed',
    subject: subjects.deployed,
    parameter: 'domain',
    parameterDescription: DOMAIN_PARAMETER,
    location: '$message.payload#/domain',
    type: eventTypes.deployed,
    source: 'latchkey/deployer',
    summary: 'A deployment went live.',
    schema: workloadDeployedSchema,
    example: {
      deploymentId: '0a9b8c7d-6e5f-4a3b-9c1d-2e3f4a5b6c7d',
      workloadId: '6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b',
      workload: 'nightly-etl',
      domain: 'analytics',
      status: 'deployed',
      reasons: [],
    },
  },
  {
    name: 'WorkloadFailed',
    event: 'workload.failed',
    subject: subjects.failed,
    parameter: 'domain',
    parameterDescription: DOMAIN_PARAMETER,
    location: '$message.payload#/domain',
    type: eventTypes.failed,
    source: 'latchkey/deployer',
    summary: 'A deployment failed; its reasons say why (never a value).',
    schema: workloadFailedSchema,
    example: {
      deploymentId: '0a9b8c7d-6e5f-4a3b-9c1d-2e3f4a5b6c7d',
      workloadId: '6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b',
      workload: 'nightly-etl',
      domain: 'analytics',
      status: 'failed',
      reasons: ['DB_PASSWORD (MANAGED:analytics:DB_PASSWORD): no secret DB_PASSWORD in analytics [secret.not_found]'],
    },
  },
  {
    name: 'SecretChanged',
    event: 'secret.changed',
    subject: subjects.secretChanged,
    parameter: 'scope',
    parameterDescription:
      'A managed secret’s scope (a domain name, or `global` for a global secret); for a Vault integration’s secret, the domain that owns the integration. Subscriber credentials cover domains, not `global`.',
    type: eventTypes.secretChanged,
    source: 'latchkey/catalog',
    summary: 'A secret was created, got a new version or was deleted; never carries the value.',
    schema: secretChangedSchema,
    example: {
      scope: 'analytics',
      key: 'DB_PASSWORD',
      source: 'MANAGED',
      version: 3,
      change: 'updated',
      by: 'olive',
    },
  },
  {
    name: 'SecretRotationDue',
    event: 'secret.rotation_due',
    subject: subjects.secretRotationDue,
    parameter: 'scope',
    parameterDescription: 'The secret’s domain, or `global`.',
    location: '$message.payload#/domain',
    type: eventTypes.secretRotationDue,
    source: 'latchkey/catalog',
    summary: 'A managed secret’s current version reached the age its rotation policy allows.',
    schema: secretRotationDueSchema,
    example: {
      scope: 'analytics',
      domain: 'analytics',
      key: 'DB_PASSWORD',
      source: 'MANAGED',
      version: 3,
      rotateEvery: '90d',
      versionCreatedAt: '2026-09-01T08:00:00.000Z',
      dueSince: '2026-11-30T08:00:00.000Z',
    },
  },
];

/** A zod schema as a JSON Schema (draft 07, which AsyncAPI 3.0's default schema format extends). */
function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _draft, ...rest } = z.toJSONSchema(schema, { target: 'draft-07' });
  return rest;
}

const camel = (name: string) => name[0]!.toLowerCase() + name.slice(1);
const ref = (path: string) => ({ $ref: `#/${path}` });

function exampleHeaders(e: PublicEvent, token: string): Record<string, string> {
  const id = `${e.event}:example`;
  return {
    'ce-specversion': '1.0',
    'ce-id': id,
    'ce-source': e.source,
    'ce-type': e.type,
    'ce-time': '2026-12-01T08:00:00.000Z',
    'ce-subject': e.subject(token),
    'content-type': 'application/json',
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    'Nats-Msg-Id': id,
  };
}

/** The AsyncAPI 3.0 document of the public events, as a JSON value. */
export function asyncApiDocument(): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = { CloudEventHeaders: jsonSchema(cloudEventHeadersSchema) };
  for (const e of PUBLIC_EVENTS) {
    const id = camel(e.name);
    schemas[e.name] = jsonSchema(e.schema);
    schemas[`${e.name}Headers`] = {
      allOf: [
        ref('components/schemas/CloudEventHeaders'),
        {
          type: 'object',
          properties: { 'ce-type': { const: e.type }, 'ce-source': { const: e.source } },
          required: ['ce-type', 'ce-source'],
        },
      ],
    };
    messages[id] = {
      name: e.event,
      title: e.event,
      summary: e.summary,
      contentType: 'application/json',
      headers: ref(`components/schemas/${e.name}Headers`),
      payload: ref(`components/schemas/${e.name}`),
      correlationId: { description: 'The event id (deduplicate by it).', location: '$message.header#/ce-id' },
      examples: [
        {
          name: `${id}Example`,
          headers: exampleHeaders(e, String(e.example[e.parameter === 'domain' ? 'domain' : 'scope'])),
          payload: e.example,
        },
      ],
    };
    channels[id] = {
      address: e.subject(`{${e.parameter}}`),
      title: e.event,
      summary: e.summary,
      parameters: {
        [e.parameter]: {
          description: e.parameterDescription,
          examples: ['analytics'],
          ...(e.location ? { location: e.location } : {}),
        },
      },
      messages: { [id]: ref(`components/messages/${id}`) },
    };
    operations[`publish${e.name}`] = {
      action: 'send',
      channel: ref(`channels/${id}`),
      summary: `Latchkey publishes ${e.event}.`,
      messages: [ref(`channels/${id}/messages/${id}`)],
    };
  }
  return {
    asyncapi: '3.0.0',
    id: 'urn:dev:latchkey:events',
    info: {
      title: 'Latchkey events',
      version: '1.0.0',
      description: [
        'The events that subscribers outside Latchkey (a redeploy trigger, an alerting hook) consume, on NATS.',
        'Each is a CloudEvent 1.0 in binary mode: the attributes are `ce-*` headers, the body is the JSON payload.',
        'A subscriber connects with TLS (the local CA, `tls/ca.crt` in the data folder, in embedded mode) and the',
        'credentials `latchkey events credentials --domain D --name N --out FILE` writes; they may only subscribe,',
        'with core NATS, to these subjects of the domains they name, and publish nothing. Delivery is at most once;',
        'an event may repeat after a relay restart, so deduplicate by `ce-id`. No event ever carries a secret value.',
      ].join(' '),
    },
    defaultContentType: 'application/json',
    servers: {
      embedded: {
        host: '127.0.0.1:7422',
        protocol: 'nats',
        title: 'Embedded mode',
        description:
          'The nats-server `latchkey up` starts (`LATCHKEY_NATS_PORT`, default 7422; the data folder’s `connection.json` names its URL). TLS; NATS user JWT credentials.',
      },
    },
    channels,
    operations,
    components: { schemas, messages },
  };
}
