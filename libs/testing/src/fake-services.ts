import {
  Metadata,
  status,
  type handleUnaryCall,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import {
  CatalogServiceService,
  DeployerServiceService,
  RasServiceService,
  type CatalogServiceServer,
  type DeployerServiceServer,
  type RasServiceServer,
  type SecretVersion,
} from '@latchkey/proto';

/** What fake catalog, ras and deployer answer; a method not given answers UNIMPLEMENTED. */
export interface FakeHandlers {
  catalog?: Partial<CatalogServiceServer>;
  ras?: Partial<RasServiceServer>;
  deployer?: Partial<DeployerServiceServer>;
}

export type FakeServiceName = keyof FakeHandlers;

/** The gRPC definition of each faked service. */
export const FAKE_SERVICE_DEFINITIONS: Record<FakeServiceName, ServiceDefinition> = {
  catalog: CatalogServiceService,
  ras: RasServiceService,
  deployer: DeployerServiceService,
};

/** Answers with a service error carrying a Latchkey error code, as the services do. */
export function fail<T>(cb: sendUnaryData<T>, code: status, errorCode: string, details: string): void {
  const md = new Metadata();
  md.set('latchkey-error-code', errorCode);
  cb({ code, details, metadata: md });
}

/**
 * A delete as the services answer it: refused (FAILED_PRECONDITION, with
 * `errorCode` and `details`) unless the request says force, else `answer`.
 */
export function unlessForced<Req extends { force: boolean }, Res>(
  errorCode: string,
  details: string,
  answer: (request: Req) => Res,
): handleUnaryCall<Req, Res> {
  return (call, cb) => {
    if (call.request.force) cb(null, answer(call.request));
    else fail(cb, status.FAILED_PRECONDITION, errorCode, details);
  };
}

type AnyUnary = (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => void;

/**
 * A fake of `service` whose every method first tells `received` (the
 * method's name and the call), then answers with the handler `handlers()`
 * gives for it now, or UNIMPLEMENTED when there is none.
 */
export function fakeService(
  service: FakeServiceName,
  handlers: () => FakeHandlers,
  received: (method: string, call: ServerUnaryCall<unknown, unknown>) => void,
): UntypedServiceImplementation {
  const impl: UntypedServiceImplementation = {};
  for (const method of Object.keys(FAKE_SERVICE_DEFINITIONS[service])) {
    const answer: AnyUnary = (call, cb) => {
      received(method, call);
      const handler = (handlers()[service] as Record<string, AnyUnary | undefined> | undefined)?.[method];
      if (handler === undefined) cb({ code: status.UNIMPLEMENTED, details: `${method} is not faked` });
      else handler(call, cb);
    };
    impl[method] = answer as UntypedServiceImplementation[string];
  }
  return impl;
}

/** A kept version of a secret as the fake catalog answers it: enabled, not current, held by nobody. */
export const fakeSecretVersion = (version: number, over: Partial<SecretVersion> = {}): SecretVersion => ({
  version,
  createdAt: '2026-01-01T00:00:00Z',
  createdBy: 'alice',
  state: 'enabled',
  current: false,
  heldBy: [],
  rolledBackFrom: 0,
  disabledAt: '',
  disabledBy: '',
  ...over,
});
