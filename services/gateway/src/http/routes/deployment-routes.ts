import {
  DeploymentPlan,
  GetLogsResponse,
  RedeployResponse,
  StopWorkloadResponse,
  WorkloadTestResult,
} from '@latchkey/proto';
import type { ServiceClients, UnaryFn } from '../../clients.js';
import type { RouteFamily } from '../route-context.js';
import { deploymentJson } from './workload-json.js';
import { DOMAIN_NAME_PARAMS, DOMAIN_PARAMS, ERRORS, NAME_PARAM, objectAnswer } from './route-schemas.js';

interface NameParams {
  domain: string;
  name: string;
}

const DEPLOYMENT = objectAnswer(
  'A deployment: its status, the secret versions it received (never a value), its reasons',
  {
    id: { type: 'string' },
    domain: { type: 'string' },
    workload: { type: 'string' },
    status: { type: 'string' },
  },
);

/**
 * What `latchkey deploy`, `deploy --dry-run`, `workload test`, `redeploy`,
 * `stop`, `logs` and `deployment` do, over HTTP, as the caller.
 */
export const deploymentRoutes: RouteFamily = async (app, { upstream }) => {
  const tags = ['deployments'];
  const action = (summary: string, answer: object, status = 200) => ({
    schema: { tags, summary, params: DOMAIN_NAME_PARAMS, response: { [status]: answer, ...ERRORS } },
  });
  const base = '/api/v1/domains/:domain/workloads/:name';
  /**
   * POST `base/verb`: one call of `method` to the deployer for the workload
   * (its request made of the path's domain and name), its reply answered (200) as JSON.
   */
  const workloadAction = <Req, Res>(
    verb: string,
    summary: string,
    answer: string,
    method: (client: ServiceClients['deployer']) => UnaryFn<Req, Res>,
    ask: (params: NameParams) => Req,
    toJson: (res: Res) => unknown,
  ) =>
    app.post(`${base}/${verb}`, action(summary, objectAnswer(answer)), async (request) =>
      toJson(await upstream.call(request.caller(), 'deployer', method, ask(request.params as NameParams))),
    );
  const named = ({ domain, name }: NameParams) => ({ domain, name });

  app.post(
    `${base}/deploy`,
    action(
      'Deploy the workload: answered at once (202) with the deployment, which then resolves and starts',
      DEPLOYMENT,
      202,
    ),
    async (request, reply) => {
      const { domain, name } = request.params as NameParams;
      const d = await upstream.call(request.caller(), 'deployer', (c) => c.deploy, { domain, name });
      return reply.code(202).send(deploymentJson(d));
    },
  );
  workloadAction(
    'dry-run',
    'Check every reference as a deployment would (permission, existence, version), deploying nothing',
    'The plan: per reference whether it would resolve, its scope and version, never a value',
    (c) => c.dryRun,
    named,
    DeploymentPlan.toJSON,
  );
  workloadAction(
    'test',
    'A STORAGE_CONFIG’s connection test: its credentials resolved as for a deployment, then one signed S3 request to its endpoint; starts nothing',
    'ok, or the precise reason (code, message); the endpoint, region and bucket tried; never a value',
    (c) => c.testWorkload,
    named,
    WorkloadTestResult.toJSON,
  );
  workloadAction(
    'redeploy',
    'A new deployment of the workload, by the caller',
    'Per workload: its new deployment, or why not',
    (c) => c.redeploy,
    (p) => ({ ...named(p), stale: false }),
    RedeployResponse.toJSON,
  );
  app.post(
    '/api/v1/domains/:domain/workloads/redeploy-stale',
    {
      schema: {
        tags,
        summary: 'Redeploy every stale workload of the domain (latchkey redeploy --stale)',
        params: DOMAIN_PARAMS,
        response: { 200: objectAnswer('Per workload: its new deployment, or why not'), ...ERRORS },
      },
    },
    async (request) => {
      const { domain } = request.params as { domain: string };
      return RedeployResponse.toJSON(
        await upstream.call(request.caller(), 'deployer', (c) => c.redeploy, { domain, name: '', stale: true }),
      );
    },
  );
  workloadAction(
    'stop',
    'Stop the workload’s deployments, wherever they run (idempotent)',
    'The deployments stopped',
    (c) => c.stopWorkload,
    named,
    StopWorkloadResponse.toJSON,
  );
  app.get(
    `${base}/logs`,
    {
      schema: {
        tags,
        summary: 'The workload’s output (redacted: resolved values and secret-like settings are masked)',
        params: DOMAIN_NAME_PARAMS,
        querystring: {
          type: 'object',
          properties: {
            deployment: { ...NAME_PARAM, description: 'a deployment id (default: the last deployment)' },
            pageToken: { type: 'string', maxLength: 1024, description: 'nextPageToken of the page before' },
            pageSize: { type: 'integer', minimum: 1, maximum: 5000, description: 'lines per page (default 1000)' },
          },
        },
        response: { 200: objectAnswer('A page of output lines, and the token of the next'), ...ERRORS },
      },
    },
    async (request) => {
      const { domain, name } = request.params as NameParams;
      const q = request.query as { deployment?: string; pageToken?: string; pageSize?: number };
      return GetLogsResponse.toJSON(
        await upstream.call(request.caller(), 'deployer', (c) => c.getLogs, {
          domain,
          name,
          deploymentId: q.deployment ?? '',
          pageToken: q.pageToken ?? '',
          pageSize: q.pageSize ?? 0,
        }),
      );
    },
  );
  app.get(
    '/api/v1/domains/:domain/deployments/:id',
    {
      schema: {
        tags,
        summary: 'One deployment',
        params: { type: 'object', required: ['domain', 'id'], properties: { domain: NAME_PARAM, id: NAME_PARAM } },
        response: { 200: DEPLOYMENT, ...ERRORS },
      },
    },
    async (request) => {
      const { domain, id } = request.params as { domain: string; id: string };
      return deploymentJson(await upstream.call(request.caller(), 'deployer', (c) => c.getDeployment, { domain, id }));
    },
  );
};
