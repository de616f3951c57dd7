import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { waitFor } from '@latchkey/testing';
import { assertNowhere } from './canary-scan.js';
import { auditRecords, startRecordedSystem } from './recorded-cli.js';
import { applyWorkload, computeWorkload, managedRef, sha, waitForLogs, workloadScript } from './workload-files.js';

/**
 * A workload that reads through the gateway with its own token: first what
 * it may and may not (printing status and code, never a value: its hash),
 * then its db_password every second, printing each new version it sees,
 * until it has seen version 2.
 */
const READER = workloadScript(
  "const https=require('https');",
  'const base=process.env.LATCHKEY_API_URL,tok=process.env.LATCHKEY_WORKLOAD_TOKEN;',
  'const ca=fs.readFileSync(process.env.LATCHKEY_CA_FILE);',
  'const get=(p,t=tok)=>new Promise(r=>{const q=https.request(base+p,{ca,headers:t?{authorization:"Bearer "+t}:{}},res=>{let b="";res.on("data",d=>b+=d);res.on("end",()=>{let j={};try{j=JSON.parse(b)}catch{}r({s:res.statusCode,j,cc:res.headers["cache-control"]})})});q.on("error",e=>r({s:0,j:{code:e.code}}));q.end()});',
  '(async()=>{',
  "console.log('token', tok);",
  "const l=await get('/api/v1/runtime/secrets');console.log('list', l.s, l.j.references.map(x=>x.key).sort().join(','));",
  "for(const [n,p,t] of [['other','/api/v1/runtime/secrets/other_secret'],['finance','/api/v1/runtime/secrets/fin_password?source=MANAGED&id=finance'],['forged','/api/v1/runtime/secrets/db_password','lkw_'+c.randomBytes(32).toString('base64url')],['none','/api/v1/runtime/secrets/db_password',''],['api','/api/v1/whoami'],['jwt','/api/v1/runtime/secrets/db_password','e30.e30.c2ln']]){const r=await get(p,t);console.log(n, r.s, r.j.code);}",
  'let last=0;',
  // Once it has seen version 2 it stops reading (each read is an audit record) and stays up.
  "while(last<2){const r=await get('/api/v1/runtime/secrets/db_password');if(r.s===200&&r.j.version!==last){last=r.j.version;console.log('read',r.j.version,h(r.j.value),r.cc);}else if(r.s!==200)console.log('readfail',r.s,r.j.code);await new Promise(x=>setTimeout(x,1000));}",
  'setInterval(()=>{},1000);',
  '})();',
);

interface Answer {
  status: number;
  body: { code?: string; value?: string; version?: number };
}

test('a running workload reads its own references with its token (a rotation without a restart), nothing else, and the token dies with its deployment', async (t) => {
  const { sys, outputs, ok, okPoll } = await startRecordedSystem(t);
  const conn = JSON.parse(await readFile(join(sys.home, 'connection.json'), 'utf8')) as {
    gateway?: string;
    caFile: string;
  };
  assert.ok(conn.gateway, 'the connection file names the gateway');
  const ca = await readFile(conn.caFile);
  /** GET `path` of the gateway with `token`, from outside any workload. */
  const get = (path: string, token: string) =>
    new Promise<Answer>((resolve, reject) => {
      const q = request(`${conn.gateway}${path}`, { ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(b || '{}') as Answer['body'] }));
      });
      q.on('error', reject);
      q.end();
    });
  /** The token in the environment of the process `pid` (the sandbox's bubblewrap, outside it). */
  const tokenOf = async (pid: number) => {
    const environ = await readFile(`/proc/${pid}/environ`, 'latin1');
    const token = environ
      .split('\0')
      .find((e) => e.startsWith('LATCHKEY_WORKLOAD_TOKEN='))
      ?.slice('LATCHKEY_WORKLOAD_TOKEN='.length);
    assert.ok(token, 'the workload has a token');
    return token;
  };

  const canary1 = `canary-${randomBytes(12).toString('hex')}`;
  const canary2 = `canary-${randomBytes(12).toString('hex')}`;
  const otherCanary = `canary-${randomBytes(12).toString('hex')}`;
  const financeCanary = `canary-${randomBytes(12).toString('hex')}`;
  await ok(['domain', 'create', 'analytics']);
  await ok(['domain', 'create', 'finance']);
  await ok(['secret', 'put', 'db_password', '--domain', 'analytics'], canary1);
  await ok(['secret', 'put', 'other_secret', '--domain', 'analytics'], otherCanary);
  await ok(['secret', 'put', 'fin_password', '--domain', 'finance'], financeCanary);
  await applyWorkload(
    ok,
    sys.home,
    'analytics',
    computeWorkload('reader', { DB_PASSWORD: managedRef('db_password', 'analytics') }, READER),
  );
  const first = JSON.parse((await ok(['deploy', 'reader', '--domain', 'analytics', '--wait', '--json'])).stdout) as {
    id: string;
    pid: number;
  };
  const logs = (want: string) =>
    waitForLogs(okPoll, 'reader', 'analytics', want, { what: `workload output containing ${want}` });

  const out1 = await logs(`read 1 ${sha(canary1)}`);
  assert.ok(out1.includes('token [REDACTED]'), 'the token is masked in the workload output');
  assert.ok(out1.includes('list 200 db_password'), out1);
  assert.ok(out1.includes('other 403 runtime.reference_not_in_spec'), out1);
  assert.ok(out1.includes('finance 403 runtime.reference_not_in_spec'), out1);
  assert.ok(out1.includes('forged 401 runtime.token_invalid'), out1);
  assert.ok(out1.includes('none 401 runtime.token_invalid'), out1);
  assert.ok(out1.includes('jwt 401 runtime.token_invalid'), out1);
  // The token is no user token: the rest of the API refuses it.
  assert.ok(out1.includes('api 401 auth.unauthenticated'), out1);
  assert.ok(out1.includes(`read 1 ${sha(canary1)} no-store`), out1);

  // A rotation reaches the running workload at its next read; nothing restarts.
  await ok(['secret', 'put', 'db_password', '--domain', 'analytics'], canary2);
  await logs(`read 2 ${sha(canary2)}`);
  const got = JSON.parse((await ok(['workload', 'get', 'reader', '--domain', 'analytics', '--json'])).stdout) as {
    lastDeployment: { id: string; status: string };
  };
  assert.deepEqual([got.lastDeployment.id, got.lastDeployment.status], [first.id, 'deployed']);

  // Replaced: the old token dies with the redeploy; the new deployment's works.
  const token1 = await tokenOf(first.pid);
  assert.equal((await get('/api/v1/runtime/secrets/db_password', token1)).body.version, 2);
  const second = JSON.parse((await ok(['redeploy', 'reader', '--domain', 'analytics', '--wait', '--json'])).stdout) as {
    results?: { deployment?: { id: string; pid: number } }[];
    id?: string;
    pid?: number;
  };
  const secondPid = second.pid ?? second.results?.[0]?.deployment?.pid;
  assert.ok(secondPid, JSON.stringify(second));
  const token2 = await waitFor(() => tokenOf(secondPid), { what: "the new deployment's token" });
  assert.notEqual(token2, token1);
  const dead1 = await get('/api/v1/runtime/secrets/db_password', token1);
  assert.deepEqual([dead1.status, dead1.body.code], [401, 'runtime.token_invalid']);
  assert.equal((await get('/api/v1/runtime/secrets/db_password', token2)).body.version, 2);
  // Nor can its holder use it for anything else, in any domain.
  for (const path of ['/api/v1/whoami', '/api/v1/runtime/secrets/fin_password?source=MANAGED&id=finance']) {
    const r = await get(path, token2);
    assert.ok(r.status === 401 || r.status === 403, `${path}: ${r.status}`);
    assert.equal(r.body.value, undefined);
  }

  // Nor over gRPC: to every service it is no identity.
  const asToken = sys.cliAs(token2);
  for (const args of [
    ['secret', 'list', '--domain', 'analytics'],
    ['workload', 'list', '--domain', 'analytics'],
  ]) {
    const r = await asToken(args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, /unauthenticated|not valid/, r.stderr);
  }

  // Stopped: dead at once.
  await ok(['stop', 'reader', '--domain', 'analytics']);
  const dead2 = await get('/api/v1/runtime/secrets/db_password', token2);
  assert.deepEqual([dead2.status, dead2.body.code], [401, 'runtime.token_invalid']);
  assert.equal(dead2.body.value, undefined);

  // Every read is audited as the deploying principal, with the deployment and the version.
  const records = await auditRecords(ok, ['--domain', 'analytics']);
  const reads = records.filter((r) => r.action === 'secret.runtime_read');
  assert.ok(
    reads.some((r) => r.outcome === 'ok' && r.actor === 'admin' && r.resource === 'MANAGED:analytics/db_password@v1'),
    JSON.stringify(reads.slice(0, 5)),
  );
  assert.ok(reads.some((r) => r.outcome === 'ok' && r.resource === 'MANAGED:analytics/db_password@v2'));
  assert.ok(reads.some((r) => r.outcome === 'deny' && r.service === 'deployer'));

  await assertNowhere(sys, [canary1, canary2, otherCanary, financeCanary, token1, token2], outputs);
});
