import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import {
  Server,
  status,
  Metadata,
  type MethodDefinition,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type sendUnaryData,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type * as Reflection from '@grpc/reflection';
import { DOMAIN_NAME } from '@latchkey/authz';
import { invalidArgument, LatchkeyError } from '@latchkey/errors';
import { toGrpcStatus } from './grpc-status.js';
import { extractTraceContext, inSpan, setSpanAttributes, type Logger } from '@latchkey/logger';
import { fileDescriptorProtos, health } from '@latchkey/proto';
import { runInCall, type Authenticator, type CallContext, type Principal } from './call-context.js';
import { checkRequestNames } from './request-names.js';
import { caCertificates, serverCredentials, servicePrincipals, type ServiceTls } from './tls.js';

/** Loads what is needed only when first used (@grpc/reflection), synchronously. */
const requireLazily = createRequire(import.meta.url);

/**
 * What a method's deserializer hands on when the bytes are not a message of
 * its request type (invalid UTF-8 in a string, a truncated field, a wrong wire
 * type). grpc-js answers INTERNAL for a deserializer that throws; this marker
 * lets the call answer INVALID_ARGUMENT instead, after authentication, like
 * any other bad request.
 */
class UndecodableRequest {
  constructor(readonly reason: string) {}
}

/** The definition with each method's request deserializer made total (see UndecodableRequest). */
function withTotalDecoding(definition: ServiceDefinition): ServiceDefinition {
  const out: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition)) {
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return method.requestDeserialize(bytes);
        } catch (err) {
          return new UndecodableRequest(err instanceof Error ? err.message : String(err));
        }
      },
    };
  }
  return out;
}

type DuplexHandler = (stream: ServerDuplexStream<unknown, unknown>) => void;

export type UnaryMethod<Req, Res> = (req: Req, ctx: CallContext) => Promise<Res>;

/** Handlers keyed by method name, typed from a ts-proto `*Server` interface. */
export type Handlers<S> = {
  [K in keyof S as string extends K ? never : K]: S[K] extends (
    call: ServerUnaryCall<infer Req, infer Res>,
    cb: sendUnaryData<infer _R>,
  ) => void
    ? UnaryMethod<Req, Res>
    : never;
};

export interface ServiceOptions {
  /**
   * Who may call at all (`method`: the handler's name, e.g. `readRuntimeSecret`, for a
   * service whose methods admit different callers); others get PERMISSION_DENIED.
   * Defaults to any authenticated caller.
   */
  allow?: (principal: Principal, method: string) => boolean;
}

export interface LatchkeyServer {
  addService<S>(definition: ServiceDefinition, handlers: Handlers<S>, options?: ServiceOptions): void;
  /** Binds and starts; returns the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number>;
  setServing(serving: boolean): void;
  /** Finishes calls in progress, refuses new ones. */
  shutdown(): Promise<void>;
}

/** `latchkey.v1.CatalogService` of a definition whose methods' paths are `/latchkey.v1.CatalogService/PutSecret`. */
function serviceNameOf(definition: ServiceDefinition): string {
  const path = Object.values(definition)[0]?.path ?? '';
  return /^\/([^/]+)\//.exec(path)?.[1] ?? path;
}

function bearer(metadata: Metadata): string | undefined {
  const v = metadata.get('authorization')[0];
  if (typeof v !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(v);
  return m?.[1];
}

export interface ServerDeps {
  service: string;
  logger: Logger;
  /** People and programs: their bearer tokens. */
  authenticate: Authenticator;
  /**
   * Listen with TLS, and take a caller presenting a client certificate issued
   * by `tls.ca` for the service its CN names. Without it the server listens in
   * plaintext (local debugging, tests) and says so in a warning at start.
   */
  tls?: ServiceTls;
}

export function createServer(deps: ServerDeps): LatchkeyServer {
  const server = new Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
  const cas = deps.tls ? caCertificates(deps.tls.ca) : [];
  const principalOfPeer = servicePrincipals(cas);
  let serving = false;

  const healthImpl: UntypedServiceImplementation = {
    check: (_call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<health.HealthCheckResponse>) => {
      cb(null, {
        status: serving
          ? health.HealthCheckResponse_ServingStatus.SERVING
          : health.HealthCheckResponse_ServingStatus.NOT_SERVING,
      });
    },
  };
  server.addService(health.HealthService, healthImpl);

  /**
   * Who calls: a client certificate (services) names the caller; else the
   * bearer token does. Undefined when the call carries neither (or a token
   * that is not valid); rejects with an authenticator's refusal.
   */
  function callerOf(call: Pick<ServerUnaryCall<unknown, unknown>, 'metadata' | 'getAuthContext'>): {
    token: string | undefined;
    principal: Promise<Principal | undefined>;
  } {
    const token = bearer(call.metadata);
    const peer = deps.tls ? call.getAuthContext()?.sslPeerCertificate : undefined;
    const principal: Promise<Principal | undefined> = peer
      ? Promise.resolve().then(() => principalOfPeer(peer))
      : token
        ? Promise.resolve().then(() => deps.authenticate(token))
        : Promise.resolve(undefined);
    return { token, principal };
  }

  const unauthenticated = (token: string | undefined) =>
    new LatchkeyError(
      'auth.unauthenticated',
      token ? 'the bearer token is not valid' : 'no credentials: send authorization: Bearer <token>',
      { kind: 'unauthenticated' },
    );

  /** A streaming handler that runs only for an authenticated caller, as every unary one. */
  function authenticatedStream(method: string, handler: DuplexHandler) {
    return (stream: ServerDuplexStream<unknown, unknown>) => {
      const refuse = (err: unknown) => {
        const st = toGrpcStatus(err);
        const trailer = new Metadata();
        trailer.set('latchkey-error-code', st.errorCode);
        deps.logger.info('call refused', { method, code: st.errorCode });
        stream.emit('error', { code: st.code, details: st.details, metadata: trailer });
      };
      const { token, principal } = callerOf(stream);
      principal.then((p) => (p ? handler(stream) : refuse(unauthenticated(token))), refuse);
    };
  }

  // Which services this server has (by full proto name), for reflection.
  const serviceNames = new Set<string>(['grpc.health.v1.Health']);
  let reflecting = false;
  /**
   * gRPC server reflection (v1 and v1alpha) of the services added, from the
   * descriptors of proto/ (libs/proto): standard tools (grpcurl, Postman)
   * can list and call the API. Authenticated like every call. Only the two
   * method paths are registered at start: @grpc/reflection, its protos and
   * the descriptors (about 0.3 s of CPU) are loaded by the first reflection
   * call, so a service's start pays nothing for it.
   */
  function addReflection() {
    if (reflecting) return;
    reflecting = true;
    let loaded: Map<string, { method: MethodDefinition<unknown, unknown>; handler: DuplexHandler }> | undefined;
    const load = () => {
      if (loaded) return loaded;
      const methods = new Map<string, { method: MethodDefinition<unknown, unknown>; handler: DuplexHandler }>();
      const { ReflectionService } = requireLazily('@grpc/reflection') as typeof Reflection;
      // What ReflectionService reads of a package definition: each entry's fileDescriptorProtos.
      const pkg = {
        'latchkey.descriptors': { fileDescriptorProtos: fileDescriptorProtos() },
      } as unknown as ConstructorParameters<typeof ReflectionService>[0];
      new ReflectionService(pkg, { services: [...serviceNames] }).addToServer({
        addService(definition: ServiceDefinition, impl: UntypedServiceImplementation) {
          for (const [name, method] of Object.entries(definition)) {
            methods.set(method.path, { method, handler: impl[name] as DuplexHandler });
          }
        },
      });
      loaded = methods;
      return methods;
    };
    const at = (path: string) => {
      const m = load().get(path);
      if (!m) throw new Error(`@grpc/reflection serves no ${path}`);
      return m;
    };
    for (const version of ['v1', 'v1alpha']) {
      const path = `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`;
      const definition: ServiceDefinition = {
        ServerReflectionInfo: {
          path,
          originalName: 'serverReflectionInfo',
          requestStream: true,
          responseStream: true,
          requestSerialize: (v: unknown) => at(path).method.requestSerialize(v),
          requestDeserialize: (b: Buffer) => at(path).method.requestDeserialize(b),
          responseSerialize: (v: unknown) => at(path).method.responseSerialize(v),
          responseDeserialize: (b: Buffer) => at(path).method.responseDeserialize(b),
        },
      };
      server.addService(definition, {
        ServerReflectionInfo: authenticatedStream('ServerReflectionInfo', (stream) => at(path).handler(stream)),
      });
    }
  }

  function wrap(rpcService: string, method: string, fn: UnaryMethod<unknown, unknown>, options: ServiceOptions) {
    return (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => {
      const started = Date.now();
      const requestId = (call.metadata.get('x-request-id')[0] as string | undefined) ?? randomUUID();
      const log = deps.logger.child({ method, requestId });
      const carrier = {
        traceparent: call.metadata.get('traceparent')[0] as string | undefined,
        tracestate: call.metadata.get('tracestate')[0] as string | undefined,
      };
      const fail = (err: unknown) => {
        const st = toGrpcStatus(err);
        const trailer = new Metadata();
        trailer.set('latchkey-error-code', st.errorCode);
        if (st.code === status.INTERNAL) log.error('call failed', { err, code: st.errorCode });
        else log.info('call refused', { code: st.errorCode, ms: Date.now() - started });
        cb({ code: st.code, details: st.details, metadata: trailer });
      };
      const { token, principal: authenticated } = callerOf(call);
      authenticated.then(
        (principal) => {
          if (!principal) {
            fail(unauthenticated(token));
            return;
          }
          if (options.allow && !options.allow(principal, method)) {
            fail(
              new LatchkeyError('auth.forbidden_caller', `${method} is not available to ${principal.id}`, {
                kind: 'permission_denied',
              }),
            );
            return;
          }
          if (call.request instanceof UndecodableRequest) {
            // The decoder's reason says where the bytes went wrong; it never holds a field's contents.
            fail(
              invalidArgument(
                'request.undecodable',
                `the request is not a valid ${method} message (${call.request.reason}): send a message encoded from proto/latchkey/v1 (string fields must be valid UTF-8)`,
              ),
            );
            return;
          }
          // Names are checked before the handler: none reaches an authorization or a record unchecked.
          try {
            checkRequestNames(call.request);
          } catch (err) {
            fail(err);
            return;
          }
          const ctx: CallContext = { principal, requestId, logger: log };
          const domain = (call.request as { domain?: unknown } | null)?.domain;
          // Names and codes only (the allow-list of @latchkey/logger): never the request or its metadata.
          const attributes = {
            'rpc.system': 'grpc',
            'rpc.service': rpcService,
            'rpc.method': method,
            'latchkey.principal': principal.id,
            ...(typeof domain === 'string' && DOMAIN_NAME.test(domain) ? { 'latchkey.domain': domain } : {}),
          };
          const handle = async () => {
            try {
              const res = await fn(call.request, ctx);
              setSpanAttributes({ 'rpc.grpc.status_code': status.OK });
              return res;
            } catch (err) {
              setSpanAttributes({ 'rpc.grpc.status_code': toGrpcStatus(err).code });
              throw err;
            }
          };
          runInCall(ctx, () =>
            inSpan(`${deps.service}/${method}`, handle, extractTraceContext(carrier), { kind: 'server', attributes }),
          ).then((res) => {
            log.debug('call ok', { principal: principal.id, ms: Date.now() - started });
            cb(null, res);
          }, fail);
        },
        // An authenticator's refusal (a LatchkeyError saying why) or its failure (internal).
        fail,
      );
    };
  }

  return {
    addService<S>(definition: ServiceDefinition, handlers: Handlers<S>, options: ServiceOptions = {}) {
      const impl: UntypedServiceImplementation = {};
      const rpcService = serviceNameOf(definition);
      serviceNames.add(rpcService);
      for (const [name, fn] of Object.entries(handlers as Record<string, UnaryMethod<unknown, unknown>>)) {
        impl[name] = wrap(rpcService, name, fn, options);
      }
      server.addService(withTotalDecoding(definition), impl);
    },
    listen(host: string, port: number) {
      addReflection();
      return new Promise<number>((resolve, reject) => {
        server.bindAsync(`${host}:${port}`, serverCredentials(deps.tls), (err, bound) => {
          if (err) {
            const inUse = /EADDRINUSE|address already in use|No address added/i.test(err.message);
            reject(
              new LatchkeyError(
                inUse ? 'grpc.port_in_use' : 'grpc.bind_failed',
                inUse
                  ? `port ${port} on ${host} is already in use: stop what uses it or choose another port`
                  : `cannot listen on ${host}:${port}: ${err.message}`,
              ),
            );
            return;
          }
          if (!deps.tls) {
            deps.logger.warn(
              `listening in PLAINTEXT on ${host}:${bound} (insecure mode): no TLS, services identified by shared tokens; for local debugging only`,
            );
          }
          resolve(bound);
        });
      });
    },
    setServing(v: boolean) {
      serving = v;
    },
    shutdown() {
      serving = false;
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 10_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
