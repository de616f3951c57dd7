// The liveness and readiness probe of every Latchkey container (Helm chart,
// kustomize base, docker-compose healthcheck): one grpc.health.v1 Check of
// the service in this container, over the TLS it serves.
//
// Kubernetes' native `grpc:` probe speaks no TLS, and the services serve only
// TLS (mutual TLS between services; health needs no client certificate), so
// the probe is an `exec` of this script inside the container, where it reads
// the container's own settings: LATCHKEY_GRPC_PORT and LATCHKEY_TLS_CA_FILE
// (LATCHKEY_INSECURE=1: plaintext). It dials 127.0.0.1, so the serving
// certificate must name 127.0.0.1 (deploy/init-keys.mjs's do; with your own
// PKI, add it as an IP SAN). Exit 0: SERVING; 1: anything else, said on stderr.
import { readFile } from 'node:fs/promises';
import { checkHealth } from '@latchkey/grpc';

const env = process.env;
const port = env.LATCHKEY_GRPC_PORT ?? '7400';
const deadlineMs = Number(env.LATCHKEY_PROBE_TIMEOUT_MS ?? '3000');
const insecure = env.LATCHKEY_INSECURE === '1' || env.LATCHKEY_INSECURE === 'true';
const address = `127.0.0.1:${port}`;

function fail(why) {
  process.stderr.write(`latchkey health probe: ${address}: ${why}\n`);
  process.exit(1);
}

if (!/^\d{1,5}$/.test(port)) fail(`LATCHKEY_GRPC_PORT=${port} is not a port number`);
let tls;
if (!insecure) {
  const caFile = env.LATCHKEY_TLS_CA_FILE;
  if (caFile === undefined || caFile === '')
    fail('LATCHKEY_TLS_CA_FILE is not set (the CA of the service certificate)');
  try {
    tls = { ca: await readFile(caFile) };
  } catch (err) {
    fail(`cannot read LATCHKEY_TLS_CA_FILE ${caFile} (${err.code ?? err.message})`);
  }
}
if (await checkHealth(address, deadlineMs, tls)) process.exit(0);
fail(`not SERVING (not started, draining, unreachable within ${deadlineMs} ms, or a certificate not for 127.0.0.1)`);
