import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KV_BUCKETS, STREAM_EVENTS } from '@latchkey/events';
import { waitFor } from '@latchkey/testing';
import { connectEmbeddedBus } from './bus-harness.js';
import { eventsOn } from './chaos/checks.js';
import { natsNodePid, replicaPid } from './chaos/processes.js';
import { openDatabase } from './canary-scan.js';
import { recordedCli } from './recorded-cli.js';
import { startSystem, type RunningSystem } from './system-harness.js';
import { applyWorkload, computeWorkload } from './workload-files.js';

const DOMAIN = 'ops';
const ENDED = ['failed', 'exited', 'stopped'];

test('on a three-node NATS cluster (R3) with two replicas of every service, SIGKILL of a NATS node and of one replica of each service during deploys, rotations and redeploys: each deployment ends and runs once, each dependent is marked stale once per rotation, no outbox event is left', async (t) => {
  const sys = await startSystem({ replicas: 2, env: { LATCHKEY_NATS_NODES: '3' }, timeoutMs: 240_000 });
  // After hooks run in the order they were added: the system stops last.
  const closers: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await sys.cleanup();
  });
  try {
    await scenario(sys, (close) => closers.push(close));
  } catch (err) {
    // What latchkey up said (restarts, exits) is the first thing to read when this fails.
    console.error(sys.output().split('\n').slice(-60).join('\n'));
    throw err;
  }
});

async function scenario(sys: RunningSystem, onEnd: (close: () => Promise<unknown>) => void): Promise<void> {
  const { cli, ok } = recordedCli(sys);
  assert.match(sys.output(), /NATS cluster of 3 nodes ready; streams, consumers and KV buckets on 3 of them/);
  const bus = await connectEmbeddedBus(sys.home);
  onEnd(() => bus.close());
  const jsm = await bus.jetstreamManager();
  const events = await jsm.streams.info(STREAM_EVENTS);
  assert.equal(events.config.num_replicas, 3, 'the events stream is kept on three servers');
  assert.equal(events.cluster?.replicas?.length, 2, 'a leader and two followers');
  const consumers = await jsm.consumers.list(STREAM_EVENTS).next();
  assert.ok(consumers.length >= 3, 'the services made their durable consumers');
  for (const c of consumers) assert.equal(c.config.num_replicas, 3, `consumer ${c.name} is kept on three servers`);
  const links = await jsm.streams.info(`KV_${KV_BUCKETS.loginLinks}`);
  assert.equal(links.config.num_replicas, 3, "the gateways' KV bucket is kept on three servers");
  const deployerDb = await openDatabase(sys.home, 'latchkey_deployer');
  // Its server going away (the system stopping after a failure) must not hide that failure as an uncaught error.
  deployerDb.on('error', () => undefined);
  onEnd(() => deployerDb.end());

  await ok(['domain', 'create', DOMAIN]);
  await ok(['secret', 'put', 'token', '--domain', DOMAIN], randomBytes(16).toString('hex'));
  const job = `console.log('ran ' + process.env.LATCHKEY_DEPLOYMENT_ID)`;
  const names = ['w-0', 'w-1', 'w-2', 'w-3'];
  for (const name of names)
    await applyWorkload(ok, sys.home, DOMAIN, computeWorkload(name, { T: '${secrets.token}' }, job));
  const accepted: string[] = [];
  const deployAll = async (must: boolean) => {
    await Promise.all(
      names.map(async (name) => {
        const r = await (must ? ok : cli)(['deploy', name, '--domain', DOMAIN, '--json']);
        if (r.code === 0) accepted.push((JSON.parse(r.stdout) as { id: string }).id);
      }),
    );
  };
  const rotate = (run: typeof cli) =>
    run(['secret', 'put', 'token', '--domain', DOMAIN], randomBytes(16).toString('hex'));
  const allEnded = () =>
    waitFor(
      async () =>
        (
          await deployerDb.query<{ n: string }>(
            `SELECT count(*) AS n FROM deployments WHERE status <> ALL($1::text[])`,
            [ENDED],
          )
        ).rows[0]?.n === '0',
      { what: 'every deployment to end', timeoutMs: 90_000 },
    );
  /** The workloads stale now, with the version they are stale against. */
  const staleNow = async () =>
    (
      await deployerDb.query<{ name: string; version: number }>(
        `SELECT name, (stale_reasons->0->>'currentVersion')::int AS version FROM workloads WHERE stale AND domain = $1 ORDER BY name`,
        [DOMAIN],
      )
    ).rows;
  const allStale = (what: string) =>
    waitFor(
      async () => {
        const rows = await staleNow();
        return rows.length === names.length && new Set(rows.map((r) => r.version)).size === 1 && rows[0]!.version;
      },
      { what, timeoutMs: 60_000 },
    );

  // Round 1, calm: a deployment of each, then a rotation marks all four stale.
  await deployAll(true);
  await allEnded();
  await rotate(ok);
  const calmVersions = [await allStale('the four dependents of the first rotation to be stale')];

  // Round 2: kill the events stream's leader node and the second replica of every service, and at once
  // redeploy the stale ones, rotate and deploy again.
  const leader = (await jsm.streams.info(STREAM_EVENTS)).cluster?.leader ?? '';
  assert.match(leader, /^latchkey-\d$/);
  const victims = ['ras-2', 'catalog-2', 'resolver-2', 'deployer-2', 'gateway-2'];
  const pids = [
    await natsNodePid(sys.home, leader),
    ...(await Promise.all(victims.map((v) => replicaPid(sys.home, v)))),
  ];
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  await Promise.all([cli(['redeploy', '--stale', '--domain', DOMAIN, '--json']), rotate(cli), deployAll(false)]);
  // latchkey up brings every one of them back.
  await waitFor(
    () =>
      [`NATS node ${leader}`, ...victims.map((v) => `service ${v}`)].every((what) =>
        sys.output().includes(`latchkey: ${what} restarted`),
      ),
    { what: 'latchkey up to restart the killed NATS node and replicas', timeoutMs: 90_000 },
  );
  assert.match(sys.output(), new RegExp(`NATS node ${leader} stopped unexpectedly \\(signal SIGKILL\\)`));
  await allEnded();

  // Round 3, calm again: redeploy what is stale, then one more rotation marks all four stale.
  await ok(['redeploy', '--stale', '--domain', DOMAIN, '--wait']);
  await allEnded();
  await rotate(ok);
  calmVersions.push(await allStale('the four dependents of the last rotation to be stale'));
  const listed = JSON.parse((await ok(['workload', 'list', '--domain', DOMAIN, '--json'])).stdout) as {
    workloads: { name: string; stale?: boolean }[];
  };
  assert.deepEqual(
    listed.workloads.filter((w) => w.stale === true).map((w) => w.name),
    names,
    'the stale list names the four',
  );

  // Every deployment recorded (the accepted ones among them) ended, and ran at most once; one that exited ran once.
  const deployments = (
    await deployerDb.query<{ id: string; status: string; exit_code: number | null; runs: string }>(
      `SELECT d.id, d.status, d.exit_code,
              (SELECT count(*) FROM deployment_logs l WHERE l.deployment_id = d.id AND l.line = 'ran ' || d.id::text) AS runs
         FROM deployments d WHERE d.domain = $1`,
      [DOMAIN],
    )
  ).rows;
  const byId = new Map(deployments.map((d) => [d.id, d]));
  for (const id of accepted) assert.ok(byId.has(id), `accepted deployment ${id} is recorded`);
  assert.ok(accepted.length >= names.length, `the calm round's deployments were accepted (${accepted.length})`);
  for (const d of deployments) {
    assert.ok(ENDED.includes(d.status), `${d.id} ended (${d.status})`);
    assert.ok(Number(d.runs) <= 1, `${d.id} ran ${d.runs} times`);
    if (d.status === 'exited') assert.equal(Number(d.runs), 1, `${d.id} exited and ran once`);
  }
  assert.ok(deployments.filter((d) => d.status === 'exited').length >= names.length, 'the calm round ran');

  // Each stale mark once: no workload marked twice for one version, and every dependent of each calm rotation marked.
  const stale = await eventsOn(bus, `latchkey.workload.stale.${DOMAIN}`);
  const marks = stale.flatMap((e) => {
    const changed = e['changed'] as { currentVersion: number };
    return (e['workloads'] as { workload: string }[]).map((w) => `${w.workload}@${changed.currentVersion}`);
  });
  assert.deepEqual(
    marks.filter((m, i) => marks.indexOf(m) !== i),
    [],
    'no workload was marked stale twice for one rotation',
  );
  for (const v of calmVersions)
    for (const name of names) assert.ok(marks.includes(`${name}@${v}`), `${name} was marked stale for version ${v}`);
  // Each outcome once.
  for (const subject of ['deployed', 'failed']) {
    const ids = (await eventsOn(bus, `latchkey.workload.${subject}.${DOMAIN}`)).map((e) => String(e['deploymentId']));
    assert.deepEqual(
      ids.filter((id, i) => ids.indexOf(id) !== i),
      [],
      `no deployment has two workload.${subject} events`,
    );
  }

  // No outbox event left unpublished in any service's database.
  for (const db of ['latchkey_catalog', 'latchkey_ras', 'latchkey_deployer']) {
    const client = await openDatabase(sys.home, db);
    try {
      await waitFor(
        async () =>
          (await client.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL')).rows[0]
            ?.n === '0',
        { what: `${db}'s outbox to be published`, timeoutMs: 30_000 },
      );
    } finally {
      await client.end();
    }
  }
}
