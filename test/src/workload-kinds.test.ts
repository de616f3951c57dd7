import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertNowhere } from './canary-scan.js';
import { startRecordedSystem } from './recorded-cli.js';
import { sha, waitForLogs, workloadScript } from './workload-files.js';

const REDACTION = '(?i)secret|password|token|access[.]?key';

/** Prints the hash of each Spark property it is given (never the value), then exits. */
const PRINT_PROPERTIES = workloadScript(
  "const p=fs.readFileSync(process.env.LATCHKEY_SPARK_PROPERTIES_FILE,'utf8').split('\\n').filter(Boolean);",
  "for(const l of p){const i=l.indexOf('=');const k=l.slice(0,i),v=l.slice(i+1).replace(/\\\\(.)/g,'$1');",
  "console.log('prop',k,k==='spark.redaction.regex'||k.endsWith('endpoint')?v:h(v));}",
  "for(const k of Object.keys(process.env).filter(k=>/^[A-Z_]+$/.test(k)&&!k.startsWith('LATCHKEY')).sort())",
  "console.log('env',k,h(process.env[k]));",
  "console.log('done');",
);

test('every kind through the CLI: apply/get round-trip, references checked on apply, a dry run deploys nothing, storage credentials and Spark redaction reach the runtime', async (t) => {
  const { sys, outputs, cli, ok, okPoll } = await startRecordedSystem(t);
  const canary = (name: string) => `${name}-${randomBytes(12).toString('hex')}`;
  const values = {
    db: canary('db'),
    sharedGlobal: canary('shared-global'),
    sharedDomain: canary('shared-domain'),
    lake: canary('lake'),
    access: canary('access'),
  };
  await ok(['domain', 'create', 'analytics']);
  await ok(['secret', 'put', 'db_password', '--domain', 'analytics'], values.db);
  await ok(['secret', 'put', 'shared', '--global'], values.sharedGlobal);
  await ok(['secret', 'put', 'shared', '--domain', 'analytics'], values.sharedDomain);
  await ok(['secret', 'put', 'lake_secret', '--domain', 'analytics'], values.lake);
  await ok(['secret', 'put', 'lake_access_key', '--global'], values.access);

  const run = { command: [process.execPath, '-e', PRINT_PROPERTIES] };
  const managed = (key: string, id = 'analytics') => ({ key, source: { type: 'MANAGED', id } });
  const docs: Record<string, Record<string, unknown>> = {
    cluster: {
      name: 'cluster',
      kind: 'COMPUTE',
      envVars: { SHARED: '${secrets.shared}' },
      sparkConf: { 'spark.redaction.regex': '(?i)my[.]custom', 'spark.db.password': managed('db_password') },
      run,
    },
    job: {
      name: 'job',
      kind: 'SPARK_JOB',
      template: {
        envVars: {
          DB_PASSWORD: managed('db_password'),
          JDBC_URL: 'jdbc:postgresql://db/x?password=${secrets.db_password}',
        },
        sparkConf: { 'spark.hadoop.fs.s3a.secret.key': '${secrets.lake_secret}' },
      },
      run,
    },
    stream: {
      name: 'stream',
      kind: 'SPARK_STREAMING_JOB',
      template: { envVars: { G: managed('shared', 'global') } },
      run,
    },
    sdk: { name: 'sdk', kind: 'SDK_SPARK_JOB', template: { sparkConf: { 'spark.later': '${secrets.not_yet}' } }, run },
    notebook: {
      name: 'notebook',
      kind: 'JUPYTER_CONTAINER',
      config: { envVars: { DB_PASSWORD: '${secrets.db_password}' } },
      run,
    },
    lake: {
      name: 'lake',
      kind: 'STORAGE_CONFIG',
      endpoint: 'http://minio.internal:9000',
      accessKey: managed('lake_access_key', 'global'),
      secretKey: '${secrets.old_lake_secret}',
      storageSecret: { key: 'lake_secret', source: { type: 'KUBERNETES', id: 'analytics' } },
      run,
    },
  };
  const applied: Record<string, string> = {};
  for (const [name, doc] of Object.entries(docs)) {
    const file = join(sys.home, `${name}.json`);
    await writeFile(file, JSON.stringify(doc, null, 2));
    applied[name] = (await ok(['workload', 'apply', '-f', file, '--domain', 'analytics'])).stdout;
    const got = JSON.parse((await ok(['workload', 'get', name, '--domain', 'analytics', '--json'])).stdout) as {
      kind: string;
      specJson: string;
    };
    assert.equal(got.kind, doc.kind);
    assert.deepEqual(
      JSON.parse(got.specJson),
      JSON.parse(JSON.stringify(doc).replaceAll('"KUBERNETES"', '"MANAGED"')),
      `${name} comes back as it was applied`,
    );
  }
  // The check on apply: a key that does not exist yet is accepted with a warning; so is a shadowing one.
  assert.match(
    applied.sdk!,
    /warning: \$\{secrets\.not_yet\} does not exist yet .*deployments fail until it is created/,
  );
  assert.match(applied.cluster!, /warning: \$\{secrets\.shared\} resolves to domain analytics's shared, which shadows/);
  assert.match(applied.lake!, /warning: \$\.secretKey is kept only as the fallback/);
  assert.doesNotMatch(applied.job!, /warning/);
  const list = (await ok(['workload', 'list', '--domain', 'analytics'])).stdout;
  for (const [name, doc] of Object.entries(docs)) assert.match(list, new RegExp(`${name}\\s+${String(doc.kind)}\\s`));

  // Misplaced fields are refused with their paths, all at once, and nothing changes.
  const misplaced = join(sys.home, 'misplaced.json');
  await writeFile(
    misplaced,
    JSON.stringify({ name: 'job', kind: 'SPARK_JOB', envVars: { A: 'x' }, config: {}, template: { sparkConf: [] } }),
  );
  const refused = await cli(['workload', 'apply', '-f', misplaced, '--domain', 'analytics']);
  assert.notEqual(refused.code, 0);
  assert.match(
    refused.stderr,
    /3 problem\(s\): \$\.envVars: misplaced for a SPARK_JOB: put environment variables at \$\.template\.envVars/,
  );
  assert.match(refused.stderr, /\$\.config: misplaced/);
  assert.match(refused.stderr, /\$\.template\.sparkConf: expected an object of Spark conf keys/);

  // A dry run: per reference, the scope and version a deployment would use; nothing deployed, no value shown.
  const dry = await ok(['deploy', 'job', '--domain', 'analytics', '--dry-run']);
  assert.match(dry.stdout, /^dry run of job in domain analytics: 3 reference\(s\) would resolve; nothing was deployed/);
  assert.match(dry.stdout, /db_password\s+MANAGED\s+analytics\s+1\s+ok/);
  assert.match(dry.stdout, /\$\{secrets\.db_password\}\s+MANAGED\s+analytics\s+1\s+ok/);
  assert.match(dry.stdout, /\$\{secrets\.lake_secret\}\s+MANAGED\s+analytics\s+1\s+ok/);
  const dryJson = JSON.parse((await ok(['deploy', 'job', '--domain', 'analytics', '--dry-run', '--json'])).stdout) as {
    ok: boolean;
    references: { refId: string; scope: string; version: number }[];
  };
  assert.equal(dryJson.ok, true);
  assert.deepEqual(dryJson.references.map((r) => [r.refId, r.scope, r.version]).sort(), [
    ['LEGACY:db_password', 'analytics', 1],
    ['LEGACY:lake_secret', 'analytics', 1],
    ['MANAGED:analytics:db_password', 'analytics', 1],
  ]);
  const failing = await cli(['deploy', 'sdk', '--domain', 'analytics', '--dry-run']);
  assert.equal(failing.code, 1);
  assert.match(failing.stdout, /\$\{secrets\.not_yet\}\s+MANAGED\s+-\s+-\s+secret\.not_found/);
  for (const name of ['job', 'sdk']) {
    const w = JSON.parse((await ok(['workload', 'get', name, '--domain', 'analytics', '--json'])).stdout) as {
      lastDeployment?: unknown;
    };
    assert.equal(w.lastDeployment, undefined, `the dry run of ${name} recorded no deployment`);
  }

  // The storage config: its credentials as the S3A settings, the fallback unused, Spark's redaction pattern set.
  const logsOf = (name: string) => waitForLogs(okPoll, name, 'analytics', 'done', { what: `the output of ${name}` });
  const lake = JSON.parse((await ok(['deploy', 'lake', '--domain', 'analytics', '--wait', '--json'])).stdout) as {
    status: string;
    versions: { key: string; scope: string; version: number }[];
  };
  assert.ok(['deployed', 'exited'].includes(lake.status), lake.status);
  assert.deepEqual(lake.versions.map((v) => [v.key, v.scope, v.version]).sort(), [
    ['lake_access_key', 'global', 1],
    ['lake_secret', 'analytics', 1],
  ]);
  const lakeOut = await logsOf('lake');
  assert.match(lakeOut, new RegExp(`prop spark\\.hadoop\\.fs\\.s3a\\.access\\.key ${sha(values.access)}`));
  assert.match(lakeOut, new RegExp(`prop spark\\.hadoop\\.fs\\.s3a\\.secret\\.key ${sha(values.lake)}`));
  assert.match(lakeOut, /prop spark\.hadoop\.fs\.s3a\.endpoint http:\/\/minio\.internal:9000/);
  assert.ok(lakeOut.includes(`prop spark.redaction.regex ${REDACTION}`), lakeOut);

  // A workload's own redaction pattern is extended, never replaced; a shadowing key is noted on the deployment.
  const cluster = JSON.parse((await ok(['deploy', 'cluster', '--domain', 'analytics', '--wait', '--json'])).stdout) as {
    warnings: string[];
    versions: { refId: string; scope: string }[];
  };
  assert.deepEqual(
    cluster.versions.find((v) => v.refId === 'LEGACY:shared')?.scope,
    'analytics',
    'the domain answered ${secrets.shared}',
  );
  assert.equal(cluster.warnings.length, 1);
  assert.match(cluster.warnings[0]!, /\$\{secrets\.shared\} resolves to domain analytics's shared, which shadows/);
  const clusterOut = await logsOf('cluster');
  assert.ok(clusterOut.includes(`prop spark.redaction.regex (?i)my[.]custom|${REDACTION}`), clusterOut);
  assert.match(clusterOut, new RegExp(`env SHARED ${sha(values.sharedDomain)}`));
  assert.match(clusterOut, new RegExp(`prop spark\\.db\\.password ${sha(values.db)}`));

  await assertNowhere(sys, Object.values(values), outputs);
});
