import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ensureSealKeyFiles, openLoginLink, type SealKeyPair } from '@latchkey/crypto';
import {
  EMBEDDED_AUDIENCE,
  EMBEDDED_ISSUER,
  ensureLocalIssuer,
  jwtAuthenticator,
  localIssuerFiles,
} from '@latchkey/grpc';
import { writeConnectionFile } from '../../local-state/connection-file.js';
import { keyMaterialPaths } from '../../local-state/key-material.js';
import { fakeIo } from '../../testing/fake-io.js';
import { main } from '../../main.js';

let home = '';
let linkKey: SealKeyPair;
const connection = {
  catalog: '127.0.0.1:1',
  ras: '127.0.0.1:1',
  resolver: '127.0.0.1:1',
  deployer: '127.0.0.1:1',
  credentialsFile: '/nonexistent',
  natsUrl: '',
  caFile: '',
  insecure: false,
  pid: process.pid,
};

before(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'latchkey-console-'));
  await ensureLocalIssuer(localIssuerFiles(home));
  const paths = keyMaterialPaths(home);
  linkKey = await ensureSealKeyFiles(paths.loginLinkPrivateKeyFile, paths.loginLinkPublicKeyFile);
});
after(() => rm(home, { recursive: true, force: true }));

const run = async (args: string[]) => {
  const io = fakeIo({ env: { LATCHKEY_HOME: home } });
  const code = await main(args, io);
  return { code, out: io.stdoutLines, err: io.stderrLines };
};

test('latchkey console --user prints a one-time link that holds no readable token: only the gateways’ key opens it, to a token of that user', async () => {
  await writeConnectionFile(home, { ...connection, gateway: 'https://127.0.0.1:7480' });
  const res = await run(['console', '--user', 'alice', '--group', 'data-eng', '--hours', '2']);
  assert.equal(res.code, 0, res.err.join('\n'));
  assert.equal(res.out.length, 1, 'the link alone on stdout');
  const url = new URL(res.out[0] ?? '');
  assert.equal(`${url.origin}${url.pathname}`, 'https://127.0.0.1:7480/login');
  assert.match(res.err.join('\n'), /as alice \(groups data-eng\): works once, until .*; the session lasts 2 h/);
  const code = url.searchParams.get('code') ?? '';
  // No JWT in the link: its parts would be base64url JSON starting with eyJ.
  assert.doesNotMatch(Buffer.from(code, 'base64url').toString('utf8'), /eyJ/);
  const link = openLoginLink(new Map([[linkKey.kid, linkKey]]), code);
  const now = Date.now() / 1000;
  assert.ok(link.exp > now + 290 && link.exp <= now + 300, `the link lives 5 minutes (${link.exp - now} s)`);
  const verify = await jwtAuthenticator({
    issuer: EMBEDDED_ISSUER,
    audience: EMBEDDED_AUDIENCE,
    jwksFile: localIssuerFiles(home).jwksFile,
  });
  const principal = await verify(link.jwt);
  assert.deepEqual([principal?.id, principal?.groups], ['alice', ['data-eng']]);
  const second = await run(['console', '--user', 'alice']);
  assert.notEqual(
    openLoginLink(new Map([[linkKey.kid, linkKey]]), new URL(second.out[0] ?? '').searchParams.get('code') ?? '').jti,
    link.jti,
  );
});

test('latchkey console refuses a bad user and a Latchkey without a gateway, saying what to do', async () => {
  const bad = await run(['console', '--user', '../x']);
  assert.equal(bad.code, 2);
  assert.match(bad.err.join('\n'), /--user "\.\.\/x" is not a user id/);
  await writeConnectionFile(home, connection);
  const none = await run(['console', '--user', 'alice']);
  assert.equal(none.code, 1);
  assert.match(none.err.join('\n'), /runs no HTTP gateway \(no console\): restart it with npm start/);
});
