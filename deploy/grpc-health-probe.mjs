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
//
// It speaks the one call over node:http2 instead of importing @latchkey/grpc's
// checkHealth: it runs every few seconds in every Pod, and loading grpc-js and
// the generated code costs each run about 0.5 s of CPU, this about 0.1 s.
// test/src/deploy-manifests.test.ts holds it to a real Latchkey gRPC server.
import { readFile } from 'node:fs/promises';
import { connect } from 'node:http2';

const env = process.env;
const port = env.LATCHKEY_GRPC_PORT ?? '7400';
const deadlineMs = Number(env.LATCHKEY_PROBE_TIMEOUT_MS ?? '3000');
const insecure = env.LATCHKEY_INSECURE === '1' || env.LATCHKEY_INSECURE === 'true';
const address = `127.0.0.1:${port}`;
/** grpc.health.v1.HealthCheckResponse.ServingStatus */
const STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

function fail(why) {
  process.stderr.write(`latchkey health probe: ${address}: ${why}\n`);
  process.exit(1);
}

if (!/^\d{1,5}$/.test(port)) fail(`LATCHKEY_GRPC_PORT=${port} is not a port number`);
let ca;
if (!insecure) {
  const caFile = env.LATCHKEY_TLS_CA_FILE;
  if (caFile === undefined || caFile === '')
    fail('LATCHKEY_TLS_CA_FILE is not set (the CA of the service certificate)');
  try {
    ca = await readFile(caFile);
  } catch (err) {
    fail(`cannot read LATCHKEY_TLS_CA_FILE ${caFile} (${err.code ?? err.message})`);
  }
}

setTimeout(() => fail(`no answer within ${deadlineMs} ms`), deadlineMs).unref();
const session = connect(insecure ? `http://${address}` : `https://${address}`, insecure ? {} : { ca });
session.on('error', (err) => fail(`cannot connect (${err.code ?? err.message})`));
const call = session.request({
  ':method': 'POST',
  ':path': '/grpc.health.v1.Health/Check',
  'content-type': 'application/grpc',
  te: 'trailers',
});
const chunks = [];
let grpcStatus;
call.on('response', (headers) => (grpcStatus = headers['grpc-status'] ?? grpcStatus));
call.on('trailers', (trailers) => (grpcStatus = trailers['grpc-status'] ?? grpcStatus));
call.on('data', (chunk) => chunks.push(chunk));
call.on('error', (err) => fail(`the call failed (${err.code ?? err.message})`));
call.on('end', () => {
  session.close();
  if (grpcStatus !== '0') fail(`the call failed with gRPC status ${grpcStatus ?? 'none'}`);
  // One length-prefixed message: HealthCheckResponse { status = 1 (varint) }; absent field: UNKNOWN.
  const frame = Buffer.concat(chunks);
  const message = frame.subarray(5, 5 + (frame.length >= 5 ? frame.readUInt32BE(1) : 0));
  const status = message[0] === 0x08 ? (message[1] ?? 0) : 0;
  if (status === 1) process.exit(0);
  fail(`${STATUS[status] ?? status} (starting, draining or stopped)`);
});
// An empty HealthCheckRequest (service "": the server as a whole), uncompressed.
call.end(Buffer.alloc(5));
