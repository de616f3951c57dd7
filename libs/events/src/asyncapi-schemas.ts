import { z } from 'zod';
import {
  STALE_WORKLOADS_PER_EVENT,
  type SecretChanged,
  type SecretRotationDue,
  type WorkloadOutcome,
  type WorkloadStale,
} from './event-types.js';
import { DOMAIN_NAME, OBJECT_NAME, SECRET_KEY } from './names.js';

/**
 * The JSON Schemas of the public events (the ones subscribers outside
 * Latchkey consume), written once as zod schemas. Each payload schema is
 * declared through `checked<T>()`, which fails the build unless the schema's
 * type is exactly the payload type the publishing code builds
 * (event-types.ts): a field added to, removed from, or made optional in
 * either one without the other does not compile. The AsyncAPI document
 * (asyncapi.ts) is generated from these with `z.toJSONSchema`.
 */

/** Exactly the same type (not only mutually assignable: an extra optional field differs too). */
type Same<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;

/**
 * `checked<T>()(schema)` is `schema`, and compiles only when the schema's
 * output type is exactly `T` (else the argument's type is `never`: "... is not
 * assignable to parameter of type 'never'").
 */
const checked =
  <T>() =>
  <S extends z.ZodType>(schema: Same<z.output<S>, T> extends true ? S : never): S =>
    schema;

const domain = z
  .string()
  .regex(DOMAIN_NAME)
  .meta({ description: 'A domain (a team’s tenant).', examples: ['analytics'] });
const secretKey = z
  .string()
  .regex(SECRET_KEY)
  .meta({ description: 'A managed secret’s key.', examples: ['DB_PASSWORD'] });
const version = z.number().int().min(0);
const workloadId = z.uuid().meta({ description: 'The workload’s id.' });
const workload = z
  .string()
  .regex(OBJECT_NAME)
  .meta({ description: 'The workload’s name.', examples: ['nightly-etl'] });
const change = z.enum(['created', 'updated', 'deleted']);

export const workloadOutcomeSchema = checked<WorkloadOutcome>()(
  z.strictObject({
    deploymentId: z.uuid().meta({ description: 'The deployment (`latchkey deployment show ID`).' }),
    workloadId,
    workload,
    domain: domain.meta({ description: 'The workload’s domain (also the subject’s last token).' }),
    status: z.enum(['deployed', 'failed']),
    reasons: z
      .array(z.string())
      .meta({ description: 'Why it failed, one line per reason (empty when deployed); never a value.' }),
  }),
);

/** `workload.deployed`: the outcome with `status: "deployed"`. */
export const workloadDeployedSchema = workloadOutcomeSchema
  .extend({ status: z.literal('deployed') })
  .meta({ title: 'WorkloadDeployed', description: 'A deployment went live: its values were injected and it started.' });

/** `workload.failed`: the outcome with `status: "failed"`. */
export const workloadFailedSchema = workloadOutcomeSchema.extend({ status: z.literal('failed') }).meta({
  title: 'WorkloadFailed',
  description:
    'A deployment failed: a reference did not resolve (not found, not permitted, backend unavailable) or the runtime could not start it.',
});

export const workloadStaleSchema = checked<WorkloadStale>()(
  z
    .strictObject({
      domain: domain.meta({ description: 'The workloads’ domain (also the subject’s last token).' }),
      changed: z
        .strictObject({
          scope: z.string().regex(DOMAIN_NAME).meta({
            description:
              'Where the secret lives: a domain name or `global` (managed), or a Vault integration’s id (VAULT).',
          }),
          key: z.string().min(1).meta({ description: 'The secret’s key.' }),
          currentVersion: version.meta({ description: 'The version the catalog now holds; 0 when it was deleted.' }),
          change,
        })
        .meta({ description: 'The secret change that made them stale.' }),
      workloads: z
        .array(
          z.strictObject({
            workloadId,
            workload,
            deployedVersion: version.meta({ description: 'The version its live deployment received.' }),
            redeployMode: z.enum(['manual', 'auto']).meta({
              description:
                'Its redeploy policy mode when it was marked: `auto` workloads are redeployed by Latchkey itself.',
            }),
          }),
        )
        .min(1)
        .max(STALE_WORKLOADS_PER_EVENT)
        .meta({
          description: `The workloads this change made stale, at most ${STALE_WORKLOADS_PER_EVENT} per event (a change with more dependents sends several events); each dependent is named once per change.`,
        }),
    })
    .meta({
      title: 'WorkloadStale',
      description:
        'A secret changed and these workloads’ live deployments hold an older version of it than the catalog now does (or a deleted one). Nothing was restarted: redeploy them (`POST /api/v1/domains/{domain}/workloads/{name}/redeploy`).',
    }),
);

export const secretChangedSchema = checked<SecretChanged>()(
  z
    .strictObject({
      scope: z.string().regex(DOMAIN_NAME).meta({
        description: 'MANAGED: the domain name or `global`. VAULT: the Vault integration’s id.',
      }),
      domain: domain.optional().meta({
        description: 'VAULT only: the domain that owns the integration (the subject’s last token).',
      }),
      key: z.string().min(1).meta({
        description: 'The secret’s key (a managed key matches the catalog’s key rule; a Vault key is the KV entry’s).',
      }),
      source: z.enum(['MANAGED', 'VAULT']),
      version: version.meta({
        description: 'The new version (Vault’s own KV version for VAULT); for a delete, the last version that existed.',
      }),
      change,
      by: z.string().min(1).meta({ description: 'Who changed it (a user, or `vault-watch` for a Vault version).' }),
    })
    .meta({
      title: 'SecretChanged',
      description:
        'A secret was created, given a new version, or deleted (managed), or a Vault integration’s watch saw a new KV version. Never carries a value.',
    }),
);

export const secretRotationDueSchema = checked<SecretRotationDue>()(
  z
    .strictObject({
      scope: z.string().regex(DOMAIN_NAME).meta({ description: 'The domain name or `global`.' }),
      domain: z
        .string()
        .regex(DOMAIN_NAME)
        .meta({ description: 'The domain the secret belongs to, or `global` (the subject’s last token).' }),
      key: secretKey,
      source: z.literal('MANAGED'),
      version: version.min(1).meta({ description: 'The version that is due (the current one when the sweep saw it).' }),
      rotateEvery: z
        .string()
        .regex(/^[1-9][0-9]*[dh]$/)
        .meta({ description: 'The rotation policy, as `90d` or `36h`.', examples: ['90d'] }),
      versionCreatedAt: z.iso.datetime().meta({ description: 'When that version was created (ISO 8601, UTC).' }),
      dueSince: z.iso.datetime().meta({ description: 'When it became due: created + policy (ISO 8601, UTC).' }),
    })
    .meta({
      title: 'SecretRotationDue',
      description:
        'A managed secret’s current version is as old as its rotation policy allows. Announced once per (secret, version).',
    }),
);

/**
 * The CloudEvents attributes (binary mode: `ce-*` headers) and trace context
 * every event carries, as `eventHeaders` (envelope.ts) writes them. Open:
 * NATS and JetStream may add headers of their own.
 */
export const cloudEventHeadersSchema = z
  .looseObject({
    'ce-specversion': z.literal('1.0'),
    'ce-id': z.string().min(1).meta({
      description:
        'The event id, also the `Nats-Msg-Id` it was published with (JetStream drops duplicates): deduplicate by it.',
    }),
    'ce-source': z.string().min(1).meta({ description: 'The producing service, `latchkey/<service>`.' }),
    'ce-type': z.string().min(1).meta({ description: 'The event type, `dev.latchkey.<event>.v1`.' }),
    'ce-time': z.iso.datetime().meta({ description: 'When the event was recorded (ISO 8601, UTC).' }),
    'ce-subject': z.string().min(1).meta({ description: 'The NATS subject it was published on.' }),
    'content-type': z.literal('application/json'),
    traceparent: z
      .string()
      .regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/)
      .optional()
      .meta({ description: 'W3C trace context of the change that caused the event.' }),
    tracestate: z.string().optional(),
    'Nats-Msg-Id': z.string().min(1).optional().meta({ description: 'Equal to `ce-id`.' }),
  })
  .meta({
    title: 'CloudEventHeaders',
    description: 'A CloudEvent 1.0 in NATS binary mode: the attributes are headers, the body is the JSON payload.',
  });
