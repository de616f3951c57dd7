import {
  credentials,
  InterceptingCall,
  Metadata,
  type CallOptions,
  type Client,
  type ClientUnaryCall,
  type Interceptor,
  type ServiceError,
} from '@grpc/grpc-js';
import { fromGrpcError } from '@latchkey/errors';
import { injectTraceHeaders } from '@latchkey/logger';
import { health } from '@latchkey/proto';

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

type ClientCtor<C> = new (address: string, creds: ReturnType<typeof credentials.createInsecure>, options?: object) => C;

/** `options`: channel options, e.g. `{'grpc.max_receive_message_length': bytes}` for large answers. */
export function createClient<C extends Client>(
  Ctor: ClientCtor<C>,
  address: string,
  token: string,
  options: Record<string, number | string> = {},
): C {
  return new Ctor(address, credentials.createInsecure(), { ...options, interceptors: [authInterceptor(token)] });
}

type UnaryFn<Req, Res> = (
  req: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  cb: (err: ServiceError | null, res: Res) => void,
) => ClientUnaryCall;

/** Promise form of a unary call; errors come back as LatchkeyError. */
export function unary<Req, Res>(fn: UnaryFn<Req, Res>, req: Req, deadlineMs = 15_000): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    fn(req, new Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => {
      if (err) reject(fromGrpcError(err));
      else resolve(res);
    });
  });
}

/** grpc.health.v1 Check: true when the service answers SERVING. */
export async function checkHealth(address: string, deadlineMs = 2000): Promise<boolean> {
  const client = new health.HealthClient(address, credentials.createInsecure());
  try {
    const res = await unary(client.check.bind(client), { service: '' }, deadlineMs);
    return res.status === health.HealthCheckResponse_ServingStatus.SERVING;
  } catch {
    return false;
  } finally {
    client.close();
  }
}
