import {
  credentials,
  type ChannelCredentials,
  InterceptingCall,
  Metadata,
  type CallOptions,
  type Client,
  type ClientUnaryCall,
  type Interceptor,
  type ServiceError,
} from '@grpc/grpc-js';
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import { fromGrpcError } from './grpc-status.js';
import { injectTraceHeaders } from '@latchkey/logger/tracing';
import { health } from '@latchkey/proto';
import type { ClientTls } from './tls.js';

/** Adds the active trace context to every call. */
function traceInterceptor(): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        const carrier: Record<string, string> = {};
        injectTraceHeaders(carrier);
        for (const [k, v] of Object.entries(carrier)) metadata.set(k, v);
        next(metadata, listener);
      },
    });
}

/** Adds the bearer token and the active trace context to every call. */
export function authInterceptor(token: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set('authorization', `Bearer ${token}`);
        const carrier: Record<string, string> = {};
        injectTraceHeaders(carrier);
        for (const [k, v] of Object.entries(carrier)) metadata.set(k, v);
        next(metadata, listener);
      },
    });
}

type ClientCtor<C> = new (address: string, creds: ChannelCredentials, options?: object) => C;

/**
 * Who a client is: a bearer token (people and programs), TLS trusting a CA,
 * and a client certificate (services). A bare string is a token over a
 * plaintext channel (insecure mode, tests).
 */
export interface ClientIdentity {
  token?: string;
  tls?: ClientTls;
}

/**
 * `ipHost`: the server is addressed by this IP address. TLS's server name
 * indication cannot carry an IP (Node warns, DEP0123), so the channel sends a
 * placeholder name instead (IP_TARGET_NAME) and the certificate is still
 * checked against the IP itself.
 */
export function channelCredentials(tls: ClientTls | undefined, ipHost?: string): ChannelCredentials {
  if (tls === undefined) return credentials.createInsecure();
  return credentials.createSsl(
    tls.ca,
    tls.key ?? null,
    tls.cert ?? null,
    ipHost === undefined ? {} : { checkServerIdentity: (_name, cert) => checkServerIdentity(ipHost, cert) },
  );
}

/** The name sent as SNI when a server is addressed by IP; never checked against a certificate. */
const IP_TARGET_NAME = 'latchkey-ip-target.invalid';

/** Credentials and channel options for `address`: TLS checked against the address, plaintext without `tls`. */
function channelFor(
  address: string,
  tls: ClientTls | undefined,
): { credentials: ChannelCredentials; options: Record<string, string> } {
  const ipHost = tls === undefined ? undefined : ipHostOf(address);
  return {
    credentials: channelCredentials(tls, ipHost),
    options: ipHost === undefined ? {} : { 'grpc.ssl_target_name_override': IP_TARGET_NAME },
  };
}

/** The host of `host:port`, `[v6]:port` or a bare host, when it is an IP address. */
function ipHostOf(address: string): string | undefined {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(address) ?? /^([^:]+)(?::\d+)?$/.exec(address);
  const host = m?.[1] ?? address;
  return isIP(host) ? host : undefined;
}

/** `options`: channel options, e.g. `{'grpc.max_receive_message_length': bytes}` for large answers. */
export function createClient<C extends Client>(
  Ctor: ClientCtor<C>,
  address: string,
  identity: string | ClientIdentity,
  options: Record<string, number | string> = {},
): C {
  const id: ClientIdentity = typeof identity === 'string' ? { token: identity } : identity;
  const interceptors = id.token !== undefined ? [authInterceptor(id.token)] : [traceInterceptor()];
  const channel = channelFor(address, id.tls);
  return new Ctor(address, channel.credentials, { ...channel.options, ...options, interceptors });
}

type UnaryFn<Req, Res> = (
  req: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  cb: (err: ServiceError | null, res: Res) => void,
) => ClientUnaryCall;

/**
 * Promise form of a unary call; errors come back as LatchkeyError.
 * `metadata`: sent with this call only (the gateway's forwarded caller token).
 */
export function unary<Req, Res>(
  fn: UnaryFn<Req, Res>,
  req: Req,
  deadlineMs = 15_000,
  metadata: Metadata = new Metadata(),
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    fn(req, metadata, { deadline: Date.now() + deadlineMs }, (err, res) => {
      if (err) reject(fromGrpcError(err));
      else resolve(res);
    });
  });
}

/** grpc.health.v1 Check: true when the service answers SERVING. */
export async function checkHealth(address: string, deadlineMs = 2000, tls?: ClientTls): Promise<boolean> {
  const channel = channelFor(address, tls);
  const client = new health.HealthClient(address, channel.credentials, channel.options);
  try {
    const res = await unary(client.check.bind(client), { service: '' }, deadlineMs);
    return res.status === health.HealthCheckResponse_ServingStatus.SERVING;
  } catch {
    return false;
  } finally {
    client.close();
  }
}
