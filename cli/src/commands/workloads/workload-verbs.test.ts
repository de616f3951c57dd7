import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Metadata, Server, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import {
  DeployerServiceService,
  type Deployment,
  type ListWorkloadsRequest,
  type ListWorkloadsResponse,
  type RedeployRequest,
  type RedeployResponse,
  type StopWorkloadRequest,
  type StopWorkloadResponse,
  type Workload,
} from '@latchkey/proto';
import { deploymentLines, workloadStatus } from '../../output/deployment-format.js';
import { writeConnectionFile } from '../../local-state/connection-file.js';
import { generateCredentials } from '../../local-state/credentials-file.js';
import { fakeIo } from '../../testing/fake-io.js';
import { fakeServerTls } from '../../testing/fake-server-tls.js';
import { writeIdentityFile } from '../../local-state/identity-file.js';
import { main } from '../../main.js';

/** A stand-in for the deployer: stop, redeploy, list and get, with what it was asked. */
const asked: { stops: StopWorkloadRequest[]; redeploys: RedeployRequest[]; lists: ListWorkloadsRequest[] } = {
  stops: [],
  redeploys: [],
  lists: [],
};
let home = '';
let server: Server;
const polls = new Map<string, number>();
const creds = generateCredentials();

function deployment(id: string, status: string, extra: Partial<Deployment> = {}): Deployment {
  return {
    id,
    domain: 'analytics',
    workload: 'etl',
    status,
    reasons: [],
    versions: [],
    principal: 'mia',
    createdAt: '2025-03-03T12:00:00.000Z',
    updatedAt: '',
    pid: 0,
    exitCode: 0,
    warnings: [],
    attempts: 0,
    trigger: 'deploy',
    runner: 'deployer-2',
    stopRequestedAt: '',
    stopRequestedBy: '',
    ...extra,
  };
}

function workload(name: string, extra: Partial<Workload> = {}): Workload {
  return {
    id: `w-${name}`,
    domain: 'analytics',
    name,
    kind: 'COMPUTE',
    specJson: JSON.stringify({ name, kind: 'COMPUTE' }),
    stale: false,
    staleReasons: [],
    lastDeployment: undefined,
    createdAt: '',
    updatedAt: '2025-03-03T12:00:00.000Z',
    warnings: [],
    liveDeployment: undefined,
    staleSince: '',
    redeployPolicy: { mode: 'manual', window: '', maxConcurrent: 1 },
    appliedBy: 'mia',
    ...extra,
  };
}

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => void;

function failure(cb: sendUnaryData<never>, code: status, errorCode: string, details: string): void {
  const md = new Metadata();
  md.set('latchkey-error-code', errorCode);
  cb({ code, details, metadata: md });
}

const STOPPING = deployment('s-1', 'deployed', {
  stopRequestedAt: '2025-03-03T12:05:00.000Z',
  stopRequestedBy: 'admin',
});
const HELD = [
  { refId: 'MANAGED:analytics:db_password', key: 'db_password', sourceType: 'MANAGED', scope: 'analytics', version: 4 },
  { refId: 'LEGACY:api_token', key: 'api_token', sourceType: 'MANAGED', scope: 'global', version: 2 },
  { refId: 'VAULT:0f5c6a2e:team', key: 'team', sourceType: 'VAULT', scope: '0f5c6a2e', version: 7 },
];

before(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'latchkey-workload-verbs-'));
  server = new Server();
  const stopWorkload: Unary<StopWorkloadRequest, StopWorkloadResponse> = (call, cb) => {
    asked.stops.push(call.request);
    if (call.request.name === 'idle') {
      failure(
        cb,
        status.FAILED_PRECONDITION,
        'workload.not_running',
        'workload idle has nothing to stop: it was never deployed',
      );
      return;
    }
    if (call.request.name === 'done') {
      cb(null, { deployments: [deployment('s-0', 'stopped')], alreadyStopped: true });
      return;
    }
    if (call.request.name === 'hung') {
      // Two deployments: one stops, the other's replica never reports it stopped.
      cb(null, {
        deployments: [
          deployment('h-1', 'deployed', { stopRequestedAt: STOPPING.stopRequestedAt, stopRequestedBy: 'admin' }),
          STOPPING,
        ],
        alreadyStopped: false,
      });
      return;
    }
    cb(null, { deployments: [STOPPING], alreadyStopped: false });
  };
  const getDeployment: Unary<{ id: string }, Deployment> = (call, cb) => {
    const n = (polls.get(call.request.id) ?? 0) + 1;
    polls.set(call.request.id, n);
    if (call.request.id === 's-1') {
      cb(
        null,
        n < 3 ? STOPPING : deployment('s-1', 'stopped', { reasons: ['stopped by admin'], stopRequestedBy: 'admin' }),
      );
      return;
    }
    if (call.request.id === 'h-1') {
      cb(null, deployment('h-1', 'deployed', { stopRequestedAt: STOPPING.stopRequestedAt }));
      return;
    }
    if (call.request.id === 'r-stuck') {
      cb(null, deployment('r-stuck', 'resolving', { trigger: 'redeploy' }));
      return;
    }
    cb(null, deployment(call.request.id, n < 2 ? 'resolving' : 'deployed', { trigger: 'redeploy', versions: HELD }));
  };
  const redeploy: Unary<RedeployRequest, RedeployResponse> = (call, cb) => {
    asked.redeploys.push(call.request);
    cb(null, {
      results: call.request.stale
        ? [
            {
              workload: 'alpha',
              deployment: deployment('r-1', 'resolving', { trigger: 'redeploy' }),
              code: '',
              message: '',
            },
            {
              workload: 'beta',
              deployment: undefined,
              code: 'redeploy.in_flight',
              message: 'deployment r-0 is already resolving: not redeployed again',
            },
          ]
        : [
            {
              workload: call.request.name,
              deployment: deployment(call.request.name === 'stuck' ? 'r-stuck' : 'r-2', 'resolving', {
                trigger: 'redeploy',
              }),
              code: '',
              message: '',
            },
          ],
    });
  };
  const listWorkloads: Unary<ListWorkloadsRequest, ListWorkloadsResponse> = (call, cb) => {
    asked.lists.push(call.request);
    cb(null, {
      workloads: [
        workload('etl', {
          stale: true,
          specJson: JSON.stringify({ name: 'etl', redeployPolicy: { mode: 'auto' } }),
          redeployPolicy: { mode: 'auto', window: '', maxConcurrent: 1 },
          staleReasons: [
            { key: 'db_password', scope: 'analytics', deployedVersion: 4, currentVersion: 5, change: 'updated' },
          ],
          liveDeployment: deployment('d-1', 'deployed'),
          lastDeployment: deployment('d-1', 'deployed'),
        }),
        workload('report', {
          domain: 'finance',
          stale: true,
          staleReasons: [{ key: 'token', scope: 'global', deployedVersion: 1, currentVersion: 0, change: 'deleted' }],
          liveDeployment: deployment('d-7', 'exited'),
          lastDeployment: deployment('d-8', 'resolving'),
        }),
      ],
    });
  };
  const getWorkload: Unary<{ name: string }, Workload> = (call, cb) => {
    cb(
      null,
      workload(call.request.name, {
        specJson: JSON.stringify({
          name: call.request.name,
          redeployPolicy: { mode: 'auto', window: '02:00-04:00', maxConcurrent: 2 },
        }),
        redeployPolicy: { mode: 'auto', window: '02:00-04:00', maxConcurrent: 2 },
        appliedBy: 'bob',
        stale: true,
        staleSince: '2025-03-03T12:10:00.000Z',
        staleReasons: [
          { key: 'db_password', scope: 'analytics', deployedVersion: 4, currentVersion: 5, change: 'updated' },
        ],
        liveDeployment: deployment('d-1', 'deployed', { versions: HELD }),
        lastDeployment: deployment('d-2', 'failed', { reasons: ['db_password: gone'] }),
      }),
    );
  };
  server.addService(DeployerServiceService, { stopWorkload, getDeployment, redeploy, listWorkloads, getWorkload });
  // The fake services speak TLS with a certificate of their own CA, which the connection file names.
  const tls = await fakeServerTls(home);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', tls.credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  const credentialsFile = path.join(home, 'credentials.json');
  await writeFile(credentialsFile, JSON.stringify(creds));
  await writeIdentityFile(home, {
    user: 'admin',
    groups: [],
    token: creds.admin,
    expiresAt: '2999-01-01T00:00:00.000Z',
  });
  const addr = `127.0.0.1:${port}`;
  await writeConnectionFile(home, {
    catalog: addr,
    ras: addr,
    resolver: addr,
    deployer: addr,
    credentialsFile,
    natsUrl: '',
    caFile: tls.caFile,
    insecure: false,
    pid: process.pid,
  });
});

after(() => server.forceShutdown());

const io = () => fakeIo({ env: { LATCHKEY_HOME: home } });

test('stop waits until the deployment has stopped where it ran, and prints how it ended', async () => {
  const out = io();
  assert.equal(await main(['stop', 'etl', '--domain', 'analytics'], out), 0);
  assert.deepEqual(asked.stops.at(-1), { domain: 'analytics', name: 'etl' });
  assert.deepEqual(out.stdoutLines, [
    'deployment s-1 deployed; stopping...',
    'deployment s-1 stopped',
    '  by mia (deploy) at 2025-03-03T12:00:00.000Z; ran on deployer-2',
    '  reason: stopped by admin',
  ]);
  assert.ok((polls.get('s-1') ?? 0) >= 3, 'it polled until stopped');
});

test('stop --no-wait returns once the stop is recorded; stopping a stopped workload says so', async () => {
  const out = io();
  assert.equal(await main(['stop', 'etl', '--domain', 'analytics', '--no-wait'], out), 0);
  assert.deepEqual(out.stdoutLines, [
    'deployment s-1 deployed: asked to stop; latchkey workload get etl --domain analytics shows when it has',
  ]);
  const done = io();
  assert.equal(await main(['stop', 'done', '--domain', 'analytics'], done), 0);
  assert.deepEqual(done.stdoutLines, ['workload done is already stopped (deployment s-0)']);
});

test('stop with nothing running fails with the reason and its code', async () => {
  const out = io();
  assert.equal(await main(['stop', 'idle', '--domain', 'analytics'], out), 1);
  assert.deepEqual(out.stderrLines, [
    'latchkey: workload idle has nothing to stop: it was never deployed (workload.not_running)',
  ]);
  const missing = io();
  assert.equal(await main(['stop', '--domain', 'analytics'], missing), 2);
  assert.match(missing.stderrLines.join('\n'), /missing NAME/);
});

test('redeploy takes a NAME or --stale, never both nor neither', async () => {
  const before = asked.redeploys.length;
  const neither = io();
  assert.equal(await main(['redeploy', '--domain', 'analytics'], neither), 2);
  assert.match(neither.stderrLines.join('\n'), /missing NAME \(or --stale to redeploy every stale workload\)/);
  const both = io();
  assert.equal(await main(['redeploy', 'etl', '--stale', '--domain', 'analytics'], both), 2);
  assert.match(both.stderrLines.join('\n'), /give either a workload NAME or --stale, not both/);
  const noDomain = io();
  assert.equal(await main(['redeploy', '--stale'], noDomain), 2);
  assert.match(noDomain.stderrLines.join('\n'), /--domain is required/);
  assert.equal(asked.redeploys.length, before, 'nothing was sent');
});

test('redeploy --stale reports each workload, and exits 1 when one was not redeployed', async () => {
  const out = io();
  assert.equal(await main(['redeploy', '--stale', '--domain', 'analytics'], out), 1);
  assert.deepEqual(asked.redeploys.at(-1), { domain: 'analytics', name: '', stale: true });
  assert.deepEqual(out.stdoutLines, [
    'alpha: deployment r-1 resolving',
    'beta: not redeployed: deployment r-0 is already resolving: not redeployed again (redeploy.in_flight)',
  ]);
  assert.deepEqual(out.stderrLines, ['latchkey: 1 of 2 workload(s) were not redeployed']);
});

test('redeploy NAME --wait waits for the new deployment and shows the versions it holds', async () => {
  const out = io();
  assert.equal(await main(['redeploy', 'etl', '--domain', 'analytics', '--wait'], out), 0);
  assert.deepEqual(asked.redeploys.at(-1), { domain: 'analytics', name: 'etl', stale: false });
  assert.equal(out.stdoutLines[0], 'etl: deployment r-2 deployed');
  assert.equal(out.stdoutLines[1], '  by mia (redeploy) at 2025-03-03T12:00:00.000Z; runs on deployer-2');
  assert.equal(out.stdoutLines[2], '  secret versions it holds:');
  assert.match(out.stdoutLines[3] ?? '', /^ {4}REFERENCE\s+SOURCE\s+SCOPE\s+VERSION$/);
  assert.match(out.stdoutLines[4] ?? '', /^ {4}db_password\s+MANAGED\s+analytics\s+4$/);
  assert.match(out.stdoutLines[5] ?? '', /^ {4}\$\{secrets\.api_token\}\s+MANAGED\s+global\s+2$/);
  assert.match(out.stdoutLines[6] ?? '', /^ {4}team\s+VAULT\s+0f5c6a2e\s+7$/);
});

test('redeploy --wait that times out says so for that workload and exits 1', async () => {
  const out = io();
  assert.equal(await main(['redeploy', 'stuck', '--domain', 'analytics', '--wait', '--timeout', '1'], out), 1);
  assert.equal(out.stdoutLines.length, 1);
  assert.match(out.stdoutLines[0] ?? '', /^stuck: deployment r-stuck is still resolving after 1s: check it later with/);
  assert.deepEqual(out.stderrLines, ['latchkey: 1 of 1 workload(s) were not redeployed successfully']);
});

test('workload list --stale without --domain lists every readable domain, with what changed', async () => {
  const out = io();
  assert.equal(await main(['workload', 'list', '--stale'], out), 0);
  assert.deepEqual(asked.lists.at(-1), { domain: '', stale: true });
  assert.match(out.stdoutLines[0] ?? '', /^DOMAIN\s+NAME\s+KIND\s+STALE\s+REDEPLOY\s+STATUS\s+DEPLOYMENT\s+CHANGED$/);
  assert.match(
    out.stdoutLines[1] ?? '',
    /^analytics\s+etl\s+COMPUTE\s+yes\s+auto\s+running\s+d-1\s+db_password \(analytics\) 4->5$/,
  );
  // A deployment on its way is what the list shows.
  assert.match(
    out.stdoutLines[2] ?? '',
    /^finance\s+report\s+COMPUTE\s+yes\s+manual\s+resolving\s+d-8\s+token \(global\) 1->deleted$/,
  );
  const scoped = io();
  assert.equal(await main(['workload', 'list', '--domain', 'analytics'], scoped), 0);
  assert.deepEqual(asked.lists.at(-1), { domain: 'analytics', stale: false });
  assert.match(scoped.stdoutLines[0] ?? '', /^NAME\s+KIND\s+STALE\s+REDEPLOY\s+STATUS\s+DEPLOYMENT\s+UPDATED$/);
});

test('workload get shows the policy, since when it is stale, what runs with the versions it holds, and a later failed attempt', async () => {
  const out = io();
  assert.equal(await main(['workload', 'get', 'etl', '--domain', 'analytics'], out), 0);
  const text = out.stdoutLines.join('\n');
  assert.match(
    text,
    /\nredeploy policy: auto, inside 02:00-04:00 \(UTC\), at most 2 at once in the domain, as bob \(who last applied it\)\n/,
  );
  assert.match(
    text,
    /\nstale: yes \(since 2025-03-03T12:10:00\.000Z\)\n {2}db_password \(analytics\): deployed version 4, now version 5 \(updated\)\n/,
  );
  assert.match(
    text,
    /\nrunning:\n {2}deployment d-1 deployed\n {4}by mia \(deploy\) at [^\n]+; runs on deployer-2\n {4}secret versions it holds:\n/,
  );
  assert.match(text, / {6}db_password\s+MANAGED\s+analytics\s+4\n/);
  assert.match(text, /\nlast deployment:\n {2}deployment d-2 failed\n[^]*reason: db_password: gone/);
});

test('a running deployment asked to stop says so wherever it is shown', () => {
  const lines = deploymentLines(STOPPING);
  assert.ok(lines.includes('  stopping: asked by admin at 2025-03-03T12:05:00.000Z'), lines.join('\n'));
  assert.equal(
    workloadStatus(workload('etl', { liveDeployment: STOPPING, lastDeployment: STOPPING })).status,
    'stopping',
  );
  const stopped = deployment('s-1', 'stopped', {
    stopRequestedAt: '2025-03-03T12:05:00.000Z',
    stopRequestedBy: 'admin',
  });
  assert.ok(!deploymentLines(stopped).some((l) => l.includes('stopping')), 'not once it has stopped');
});

test('stop --wait that times out for one deployment reports it beside the one that stopped, and exits 1', async () => {
  const out = io();
  assert.equal(await main(['stop', 'hung', '--domain', 'analytics', '--timeout', '1'], out), 1);
  assert.ok(out.stdoutLines.includes('deployment s-1 stopped'), out.stdoutLines.join('\n'));
  assert.ok(
    out.stdoutLines.some((l) => /^deployment h-1: deployment h-1 is still deployed after 1s/.test(l)),
    out.stdoutLines.join('\n'),
  );
  const json = io();
  assert.equal(await main(['stop', 'hung', '--domain', 'analytics', '--timeout', '1', '--json'], json), 1);
  const parsed = JSON.parse(json.stdoutLines.join('\n')) as { deployments: { id: string; waitError?: string }[] };
  assert.deepEqual(
    parsed.deployments.map((d) => [d.id, d.waitError !== undefined]),
    [
      ['h-1', true],
      ['s-1', false],
    ],
  );
});

test('redeploy --wait --json says why a deployment could not be waited for', async () => {
  const out = io();
  assert.equal(
    await main(['redeploy', 'stuck', '--domain', 'analytics', '--wait', '--timeout', '1', '--json'], out),
    1,
  );
  const parsed = JSON.parse(out.stdoutLines.join('\n')) as { results: { workload: string; waitError?: string }[] };
  assert.equal(parsed.results[0]?.workload, 'stuck');
  assert.match(parsed.results[0]?.waitError ?? '', /is still resolving after 1s/);
});
