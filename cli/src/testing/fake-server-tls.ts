import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ServerCredentials } from '@grpc/grpc-js';
import { ensureLocalTls, localTlsFiles } from '@latchkey/crypto';
import type { ServiceTls } from '@latchkey/grpc';

/**
 * For tests of the CLI against fake services: a CA and a server certificate
 * for 127.0.0.1 under `<dir>/tls`, as grpc-js server credentials and as the
 * ServiceTls of @latchkey/grpc's createServer, with the CA file the
 * connection file names.
 */
export async function fakeServerTls(
  dir: string,
): Promise<{ credentials: ServerCredentials; serviceTls: ServiceTls; caFile: string }> {
  const files = localTlsFiles(path.join(dir, 'fake-server'), ['catalog']);
  await ensureLocalTls(files);
  const own = files.services['catalog'];
  if (own === undefined) throw new Error('no server certificate was generated');
  const [ca, cert, key] = await Promise.all([
    readFile(files.caCertFile),
    readFile(own.certFile),
    readFile(own.keyFile),
  ]);
  return {
    credentials: ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], false),
    serviceTls: { ca, cert, key },
    caFile: files.caCertFile,
  };
}
