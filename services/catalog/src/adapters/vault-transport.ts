/**
 * The HTTP requests node-vault makes, done here instead of by its axios
 * client (node-vault accepts a replacement as `request-promise`):
 * - no redirect is ever followed: a 3xx is given back as the answer, so a
 *   Vault host (or whatever answers in its name) cannot have the token sent
 *   to another host;
 * - connections go only to addresses the host policy allows, checked on the
 *   address actually connected to;
 * - answers are capped in size.
 */
import http from 'node:http';
import https from 'node:https';
import type { VaultHostPolicy } from './vault-host-policy.js';

/** What node-vault passes for one request (its former request-promise options). */
interface VaultRequestOptions {
  method: string;
  uri: string;
  headers?: Record<string, string>;
  /** A request body to send as JSON. */
  json?: unknown;
  timeout?: number;
  ca?: string | Buffer;
  strictSSL?: boolean;
}

/** What node-vault expects back. */
interface VaultResponse {
  statusCode: number;
  body: unknown;
  request: { path: string };
}

export type VaultRequest = (options: VaultRequestOptions) => Promise<VaultResponse>;

/** Vault's JSON answers are small; a larger one is not from a Vault Latchkey can use. */
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/**
 * One request to Vault. A kept-alive connection that Vault (or a proxy)
 * closed while it was idle shows as ECONNRESET on the request that reused
 * it, before anything was answered: that one request is sent once more on a
 * fresh connection (`agent: false`), as Node's documentation advises for
 * `request.reusedSocket`. Nothing else is retried here.
 */
export function vaultRequest(policy?: VaultHostPolicy): VaultRequest {
  return (options) =>
    sendOnce(policy, options, true).catch((err: unknown) => {
      if (!(err instanceof StaleConnection)) throw err;
      return sendOnce(policy, options, false);
    });
}

/** The reset of a reused kept-alive connection, before any answer. */
class StaleConnection extends Error {}

function sendOnce(
  policy: VaultHostPolicy | undefined,
  options: VaultRequestOptions,
  pooled: boolean,
): Promise<VaultResponse> {
  return new Promise<VaultResponse>((resolve, reject) => {
    const url = new URL(options.uri);
    const body =
      options.json !== undefined && typeof options.json === 'object' ? JSON.stringify(options.json) : undefined;
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (body !== undefined) {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    try {
      policy?.checkHost(url.hostname);
    } catch (err) {
      reject(err as Error);
      return;
    }
    const common = {
      method: options.method,
      headers,
      ...(policy === undefined ? {} : { lookup: policy.lookup }),
      ...(pooled ? {} : { agent: false as const }),
    };
    const req =
      url.protocol === 'https:'
        ? https.request(url, {
            ...common,
            rejectUnauthorized: options.strictSSL !== false,
            ...(options.ca === undefined ? {} : { ca: options.ca }),
          })
        : http.request(url, common);
    if (options.timeout !== undefined) {
      req.setTimeout(options.timeout, () =>
        req.destroy(Object.assign(new Error(`timeout of ${options.timeout} ms exceeded`), { code: 'ETIMEDOUT' })),
      );
    }
    let answered = false;
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (pooled && !answered && req.reusedSocket && err.code === 'ECONNRESET') reject(new StaleConnection());
      else reject(err);
    });
    req.on('response', (res) => {
      answered = true;
      readAnswer(req, res, url.pathname).then(resolve, reject);
    });
    req.end(body);
  });
}

/** The answer's body, capped in size, parsed as JSON when it is JSON. */
function readAnswer(req: http.ClientRequest, res: http.IncomingMessage, path: string): Promise<VaultResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        req.destroy(Object.assign(new Error('answer too large'), { code: 'ERESPONSETOOLARGE' }));
        return;
      }
      chunks.push(chunk);
    });
    res.on('error', reject);
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let parsed: unknown = text === '' ? undefined : text;
      try {
        if (text !== '') parsed = JSON.parse(text);
      } catch {
        // Not JSON: node-vault reports it by status.
      }
      resolve({ statusCode: res.statusCode ?? 0, body: parsed, request: { path } });
    });
  });
}
