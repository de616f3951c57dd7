import type { FastifyReply, FastifyRequest } from 'fastify';
import { LatchkeyError } from '@latchkey/errors';
import type { Workload } from '@latchkey/proto';
import type { RouteDeps, RouteFamily } from '../route-context.js';
import { workloadJson } from './workload-json.js';
import { DOMAIN_NAME_PARAMS, DOMAIN_PARAMS, ERRORS, OBJECT_BODY, objectAnswer, STALE_QUERY } from './route-schemas.js';

/** The seed's workload endpoints: one collection per kind, as the platform Latchkey replaces has them. */
export const SEED_KINDS = [
  { kind: 'COMPUTE', collection: '/api/v2/domains/:domain/compute', what: 'compute clusters' },
  { kind: 'SPARK_JOB', collection: '/api/v2/domains/:domain/spark/jobs', what: 'Spark jobs' },
  {
    kind: 'SPARK_STREAMING_JOB',
    collection: '/api/v2/domains/:domain/spark/streaming/jobs',
    what: 'Spark streaming jobs',
  },
  { kind: 'SDK_SPARK_JOB', collection: '/api/v2/domains/:domain/sdk/spark/jobs', what: 'SDK Spark jobs' },
  { kind: 'JUPYTER_CONTAINER', collection: '/api/v1/domains/:domain/jupyter-containers', what: 'Jupyter containers' },
  { kind: 'STORAGE_CONFIG', collection: '/api/v1/domains/:domain/storage-configs', what: 'storage configs' },
] as const;

export type SeedKind = (typeof SEED_KINDS)[number];

const WORKLOAD_ANSWER = objectAnswer(
  'A workload: its spec (literals and references, never a value), staleness, last and live deployment, warnings',
  {
    name: { type: 'string' },
    domain: { type: 'string' },
    kind: { type: 'string' },
    spec: { type: 'object', additionalProperties: true },
    stale: { type: 'boolean' },
    warnings: { type: 'array', items: { type: 'string' } },
  },
);

const WORKLOAD_LIST = {
  type: 'object',
  required: ['workloads'],
  properties: { workloads: { type: 'array', items: WORKLOAD_ANSWER } },
} as const;

interface DomainParams {
  domain: string;
}
interface NameParams extends DomainParams {
  name: string;
}

/** A refusal of one field of the body: its JSON path goes into the problem's `errors`. */
function mismatch(code: string, path: string, message: string): LatchkeyError {
  return new LatchkeyError(code, `${path}: ${message}`, { kind: 'invalid_argument', details: { path, message } });
}

/**
 * The workload document the deployer gets: the body as it came, with the
 * endpoint's kind (and, on PUT .../{name}, the path's name) filled in. A body
 * that names another kind or another name is refused; everything else in it
 * is the deployer's to check, with the same messages as for the CLI.
 */
export function workloadDocument(body: Record<string, unknown>, kind: string, pathName?: string): string {
  if (body['kind'] !== undefined && body['kind'] !== kind) {
    throw mismatch(
      'workload.kind_mismatch',
      '$.kind',
      `this endpoint takes ${kind} workloads, not ${JSON.stringify(body['kind']).slice(0, 60)}: leave kind out, or use that kind's endpoint`,
    );
  }
  if (pathName !== undefined && body['name'] !== undefined && body['name'] !== pathName) {
    throw mismatch(
      'workload.name_mismatch',
      '$.name',
      `the body names ${JSON.stringify(body['name']).slice(0, 80)} and the path ${JSON.stringify(pathName)}: leave name out of the body, or make them equal`,
    );
  }
  return JSON.stringify({ ...body, ...(pathName !== undefined ? { name: pathName } : {}), kind });
}

/** A workload read through the endpoint of another kind is not there. */
function assertKind(w: Workload, kind: SeedKind): Workload {
  if (w.kind !== kind.kind) {
    throw new LatchkeyError(
      'workload.kind_mismatch',
      `workload ${w.name} of domain ${w.domain} is a ${w.kind}, not one of the ${kind.what}: read it at its own kind's endpoint, or at /api/v1/domains/${w.domain}/workloads`,
      { kind: 'not_found' },
    );
  }
  return w;
}

/** The deployer's list of the domain's workloads ('' for every domain), only the stale ones with `?stale=true`. */
async function listWorkloads(upstream: RouteDeps['upstream'], request: FastifyRequest, domain: string) {
  const { stale } = request.query as { stale?: boolean };
  const res = await upstream.call(request.caller(), 'deployer', (d) => d.listWorkloads, {
    domain,
    stale: stale === true,
  });
  return res.workloads;
}

function registerKind(app: Parameters<RouteFamily>[0], deps: RouteDeps, k: SeedKind): void {
  const { upstream } = deps;
  const tags = ['workloads'];
  const item = `${k.collection}/:name`;
  const apply = async (request: FastifyRequest, reply: FastifyReply, pathName?: string) => {
    const body = request.body as Record<string, unknown>;
    const { domain } = request.params as DomainParams;
    const specJson = workloadDocument(body, k.kind, pathName);
    const w = await upstream.call(request.caller(), 'deployer', (d) => d.applyWorkload, { domain, specJson });
    // A new workload is answered 201, a replaced one 200 (apply is an upsert, as the seed's POST/PUT).
    return reply.code(w.createdAt === w.updatedAt ? 201 : 200).send(workloadJson(w));
  };
  const writeSchema = (summary: string, params: object) => ({
    tags,
    summary,
    params,
    body: {
      ...OBJECT_BODY,
      description: `The seed's ${k.kind} payload, with name (legacy \${secrets.KEY} strings and secretObject references as they are)`,
    },
    response: { 200: WORKLOAD_ANSWER, 201: WORKLOAD_ANSWER, ...ERRORS },
  });
  app.post(
    k.collection,
    { schema: writeSchema(`Create (or replace) one of the ${k.what}`, DOMAIN_PARAMS) },
    (req, reply) => apply(req, reply),
  );
  app.put(
    k.collection,
    { schema: writeSchema(`Create or replace one of the ${k.what} (name in the body)`, DOMAIN_PARAMS) },
    (req, reply) => apply(req, reply),
  );
  app.put(
    item,
    { schema: writeSchema(`Create or replace one of the ${k.what} by name`, DOMAIN_NAME_PARAMS) },
    (req, reply) => apply(req, reply, (req.params as NameParams).name),
  );
  app.get(
    k.collection,
    {
      schema: {
        tags,
        summary: `The domain's ${k.what}`,
        params: DOMAIN_PARAMS,
        querystring: STALE_QUERY,
        response: { 200: WORKLOAD_LIST, ...ERRORS },
      },
    },
    async (request) => {
      const workloads = await listWorkloads(upstream, request, (request.params as DomainParams).domain);
      return { workloads: workloads.filter((w) => w.kind === k.kind).map(workloadJson) };
    },
  );
  app.get(
    item,
    {
      schema: {
        tags,
        summary: `One of the ${k.what}`,
        params: DOMAIN_NAME_PARAMS,
        response: { 200: WORKLOAD_ANSWER, ...ERRORS },
      },
    },
    async (request) => {
      const { domain, name } = request.params as NameParams;
      const w = await upstream.call(request.caller(), 'deployer', (d) => d.getWorkload, { domain, name });
      return workloadJson(assertKind(w, k));
    },
  );
  app.delete(
    item,
    {
      schema: {
        tags,
        summary: `Delete one of the ${k.what} (refused with workload.running while it runs: stop it first)`,
        params: DOMAIN_NAME_PARAMS,
        response: { 200: WORKLOAD_ANSWER, ...ERRORS },
      },
    },
    async (request) => {
      const { domain, name } = request.params as NameParams;
      const caller = request.caller();
      // Through this endpoint only a workload of its kind is deleted.
      assertKind(await upstream.call(caller, 'deployer', (d) => d.getWorkload, { domain, name }), k);
      const res = await upstream.call(caller, 'deployer', (d) => d.deleteWorkload, { domain, name });
      if (res.workload === undefined) throw new LatchkeyError('internal', 'the deployer answered no workload');
      return workloadJson(res.workload);
    },
  );
}

/**
 * The workload endpoints: the seed's six kinds (POST/PUT to create or
 * replace, GET one or the kind's list, DELETE), and the lists of every kind
 * (`/api/v1/domains/{domain}/workloads`, `/api/v1/workloads`, `?stale=true`).
 */
export const workloadRoutes: RouteFamily = async (app, deps) => {
  for (const k of SEED_KINDS) registerKind(app, deps, k);
  const { upstream } = deps;
  const list = (summary: string, params?: object) => ({
    schema: {
      tags: ['workloads'],
      summary,
      ...(params ? { params } : {}),
      querystring: STALE_QUERY,
      response: { 200: WORKLOAD_LIST, ...ERRORS },
    },
  });
  app.get(
    '/api/v1/domains/:domain/workloads',
    list("The domain's workloads of every kind", DOMAIN_PARAMS),
    async (request) => ({
      workloads: (await listWorkloads(upstream, request, (request.params as DomainParams).domain)).map(workloadJson),
    }),
  );
  app.get('/api/v1/workloads', list('The workloads of every domain the caller may read'), async (request) => ({
    workloads: (await listWorkloads(upstream, request, '')).map(workloadJson),
  }));
};
