import { invalidArgument } from '@latchkey/errors';
import type { BusIdentity, BusPermissions } from '@latchkey/nats';
import { DOMAIN_NAME, GLOBAL_SCOPE } from './names.js';
import { PLAN_SUBJECTS } from './resolution-plan.js';
import { STREAM_AUDIT, STREAM_EVENTS, STREAM_RESOLVED, STREAMS, subjects } from './subjects.js';

/**
 * THE table of who may do what on the bus. nats-server enforces it: the
 * embedded mode (`latchkey up`), the scaled mode's key init
 * (deploy/init-keys.mjs) and the tests all mint the services' NATS users from
 * `busIdentity()`, and ras mints external subscribers from
 * `subscriberPermissions()`. Allow-lists only: whatever is not listed is
 * refused.
 */
export const BUS_SERVICES = ['ras', 'catalog', 'resolver', 'deployer', 'gateway'] as const;
export type BusService = (typeof BUS_SERVICES)[number];

/** The durable consumers each service owns (shared by its replicas); only it may read or ack them. */
export const DURABLES = {
  rasAudit: 'ras-audit',
  resolverDeploying: 'resolver-deploying',
  deployerResolved: 'deployer-resolved',
  deployerResolutionFailed: 'deployer-resolution-failed',
  deployerSecretChanged: 'deployer-secret-changed',
  deployerResolutionRetrying: 'deployer-resolution-retrying',
  deployerWorkloadStale: 'deployer-workload-stale',
} as const;

/**
 * Who may change each stream's configuration (every service may look a
 * stream up and create it when missing, so that start order does not
 * matter): ras the audit stream it stores, the deployer the sealed values it
 * consumes and the domain events it has most consumers on.
 */
export const STREAM_OWNERS: Readonly<Record<string, BusService>> = {
  [STREAM_AUDIT]: 'ras',
  [STREAM_RESOLVED]: 'deployer',
  [STREAM_EVENTS]: 'deployer',
};

/** Whether `service` may update `stream` (pass to ensureStream's `update`). */
export const ownsStream = (service: BusService, stream: string): boolean => STREAM_OWNERS[stream] === service;

/** The JetStream KV buckets on the bus: the gateways' used login links (one use across replicas). */
export const KV_BUCKETS = { loginLinks: 'latchkey_login_links' } as const;

/** A token that stands for one domain (or `global`) in a subject pattern. */
const ANY = '*';

interface ServiceRow {
  /** Subjects it alone publishes (events, its own audit records, requests it sends). */
  publishes: string[];
  /** Core NATS subscriptions (not through a durable consumer). */
  subscribes: string[];
  /** Its durable consumers, by stream. */
  consumers: { stream: string; durable: string }[];
  /** Answers requests (the resolver's plan requests). */
  answers?: boolean;
  /** JetStream KV buckets it alone uses: it may create one, write keys and read them back (never delete or purge). */
  buckets?: string[];
}

const ROWS: Record<BusService, ServiceRow> = {
  ras: {
    publishes: [subjects.policyChanged()],
    subscribes: [],
    consumers: [{ stream: STREAM_AUDIT, durable: DURABLES.rasAudit }],
  },
  catalog: {
    publishes: [subjects.secretChanged(ANY), subjects.secretRotationDue(ANY)],
    subscribes: [subjects.policyChanged()],
    consumers: [],
  },
  resolver: {
    publishes: [subjects.resolved(ANY), subjects.resolutionFailed(ANY), subjects.resolutionRetrying(ANY)],
    subscribes: [subjects.policyChanged(), PLAN_SUBJECTS],
    consumers: [{ stream: STREAM_EVENTS, durable: DURABLES.resolverDeploying }],
    answers: true,
  },
  // The HTTP gateway calls the services over gRPC as each request's caller;
  // on the bus it only drops its cached policy answers (it publishes no event)
  // and records used console login links, once across its replicas.
  gateway: {
    publishes: [],
    subscribes: [subjects.policyChanged()],
    consumers: [],
    buckets: [KV_BUCKETS.loginLinks],
  },
  deployer: {
    publishes: [
      subjects.deploying(ANY),
      subjects.stale(ANY),
      subjects.stopRequested(ANY),
      subjects.deployed(ANY),
      subjects.failed(ANY),
      // Plan requests: the deployer alone asks, the resolver alone answers.
      PLAN_SUBJECTS,
    ],
    subscribes: [subjects.policyChanged(), subjects.deployed('>'), subjects.stopRequested('>')],
    consumers: [
      { stream: STREAM_RESOLVED, durable: DURABLES.deployerResolved },
      { stream: STREAM_EVENTS, durable: DURABLES.deployerResolutionFailed },
      { stream: STREAM_EVENTS, durable: DURABLES.deployerSecretChanged },
      { stream: STREAM_EVENTS, durable: DURABLES.deployerResolutionRetrying },
      { stream: STREAM_EVENTS, durable: DURABLES.deployerWorkloadStale },
    ],
  },
};

/** The prefix of a service's request inboxes (nats.js `inboxPrefix`); it alone may subscribe below it. */
export const inboxPrefix = (service: BusService): string => `_INBOX_${service}`;

/**
 * JetStream API subjects, as nats.js 2.29 sends them to nats-server 2.9
 * (read from the server's trace of ensureStream, ensureConsumer and a
 * ConsumerRunner that acks, naks and terms; and the services' flows run
 * under these permissions): the account info
 * the manager asks for once, the Latchkey streams (every service looks them
 * up and creates them when missing, so that start order does not matter; only
 * the owner updates; nobody deletes or purges), and per owned durable
 * consumer its info, create/update, pulls and acks.
 */
function jetStreamApi(service: BusService, row: ServiceRow): string[] {
  const api = ['$JS.API.INFO'];
  for (const s of STREAMS) {
    api.push(`$JS.API.STREAM.INFO.${s.name}`, `$JS.API.STREAM.CREATE.${s.name}`);
    if (ownsStream(service, s.name)) api.push(`$JS.API.STREAM.UPDATE.${s.name}`);
  }
  for (const { stream, durable } of row.consumers) {
    api.push(
      `$JS.API.CONSUMER.INFO.${stream}.${durable}`,
      // Create and update, with the one filter subject in the API subject (each durable here has one filter).
      `$JS.API.CONSUMER.CREATE.${stream}.${durable}.>`,
      `$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}`,
      // ack, nak (with delay) and term.
      `$JS.ACK.${stream}.${durable}.>`,
    );
  }
  for (const bucket of row.buckets ?? []) {
    api.push(
      `$JS.API.STREAM.INFO.KV_${bucket}`,
      `$JS.API.STREAM.CREATE.KV_${bucket}`,
      // A key's value (KV create reads it back when the key exists), by the stream's direct get.
      `$JS.API.DIRECT.GET.KV_${bucket}`,
      `$JS.API.DIRECT.GET.KV_${bucket}.>`,
      `$KV.${bucket}.>`,
    );
  }
  return api;
}

/** The permissions of a service's NATS user. */
export function busPermissions(service: BusService): BusPermissions {
  const row = ROWS[service];
  return {
    publish: [...row.publishes, `latchkey.audit.${service}.>`, ...jetStreamApi(service, row)],
    subscribe: [`${inboxPrefix(service)}.>`, ...row.subscribes],
    ...(row.answers === true ? { allowResponses: true } : {}),
  };
}

export function busIdentity(service: BusService): BusIdentity {
  return { name: service, inboxPrefix: inboxPrefix(service), permissions: busPermissions(service) };
}

/** The events an external subscriber (a redeploy trigger, an alerting hook) may receive, per granted domain. */
export const PUBLIC_SUBJECTS: readonly ((domain: string) => string)[] = [
  subjects.stale,
  subjects.deployed,
  subjects.failed,
  subjects.secretChanged,
  subjects.secretRotationDue,
];

/**
 * An external subscriber reads with plain core-NATS subscriptions to the
 * public subjects of its domains: it publishes nothing (so it has no request
 * inbox and no JetStream API: it cannot create consumers, read streams or
 * see another domain's history).
 */
export function subscriberPermissions(domains: readonly string[]): BusPermissions {
  if (domains.length === 0) {
    throw invalidArgument('nats.no_domain', 'an event subscriber needs at least one domain: name it with --domain');
  }
  // A wildcard or a dot in a "domain" would widen the grant: only real domain names become subjects.
  for (const d of domains) {
    if (!DOMAIN_NAME.test(d) || d === GLOBAL_SCOPE) {
      throw invalidArgument('nats.bad_domain', `${JSON.stringify(d.slice(0, 80))} is not a domain name`);
    }
  }
  return {
    publish: [],
    subscribe: domains.flatMap((d) => PUBLIC_SUBJECTS.map((s) => s(d))),
  };
}
