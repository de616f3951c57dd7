import {
  DeploymentPlan,
  GetLogsResponse,
  RedeployResponse,
  StopWorkloadResponse,
  WorkloadTestResult,
} from '@latchkey/proto';
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
  app.post(
    `${base}/dry-run`,
    action(
      'Check every reference as a deployment would (permission, existence, version), deploying nothing',
      objectAnswer('The plan: per reference whether it would resolve, its scope and version, never a value'),
    ),
    async (request) => {
      const { domain, name } = request.params as NameParams;
      return DeploymentPlan.toJSON(
        await upstream.call(request.caller(), 'deployer', (c) => c.dryRun, { domain, name }),
      );
    },
  );
  app.post(
    `${base}/test`,
    action(
      'A STORAGE_CONFIG’s connection test: its credentials resolved as for a deployment, then one signed S3 request to its endpoint; starts nothing',
      objectAnswer('ok, or the precise reason (code, message); the endpoint, region and bucket tried; never a value'),
    ),
    async (request) => {
      const { domain, name } = request.params as NameParams;
      return WorkloadTestResult.toJSON(
        await upstream.call(request.caller(), 'deployer', (c) => c.testWorkload, { domain, name }),
      );
    },
  );
  app.post(
    `${base}/redeploy`,
    action(
      'A new deployment of the workload, by the caller',
      objectAnswer('Per workload: its new deployment, or why not'),
    ),
    async (request) => {
      const { domain, name } = request.params as NameParams;
      return RedeployResponse.toJSON(
        await upstream.call(request.caller(), 'deployer', (c) => c.redeploy, { domain, name, stale: false }),
      );
    },
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
  app.post(
    `${base}/stop`,
    action('Stop the workload’s deployments, wherever they run (idempotent)', objectAnswer('The deployments stopped')),
    async (request) => {
      const { domain, name } = request.params as NameParams;
      return StopWorkloadResponse.toJSON(
        await upstream.call(request.caller(), 'deployer', (c) => c.stopWorkload, { domain, name }),
      );
    },
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
