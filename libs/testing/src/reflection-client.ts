import { createRequire } from 'node:module';
import {
  loadPackageDefinition,
  Metadata,
  type ChannelCredentials,
  type Client,
  type ClientDuplexStream,
  type GrpcObject,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer, loadSync } from '@grpc/proto-loader';

/**
 * A gRPC server reflection client (grpc.reflection.v1), as grpcurl is one:
 * it knows nothing of Latchkey's API but what the server answers.
 */
export interface ReflectionClient {
  /** The full names of the services the server lists. */
  listServices(): Promise<string[]>;
  /** The encoded FileDescriptorProtos of the file declaring `symbol`, and of its imports. */
  fileContainingSymbol(symbol: string): Promise<Buffer[]>;
  close(): void;
}

interface ReflectionResponse {
  listServicesResponse?: { service: { name: string }[] };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

type ReflectionStub = Client & {
  ServerReflectionInfo(metadata: Metadata): ClientDuplexStream<object, ReflectionResponse>;
};

const require = createRequire(import.meta.url);
let stubCtor: ServiceClientConstructor | undefined;

function reflectionCtor(): ServiceClientConstructor {
  if (stubCtor) return stubCtor;
  const file = require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');
  const pkg = loadPackageDefinition(loadSync(file, { longs: String, enums: String, defaults: true, oneofs: true }));
  const v1 = ((pkg['grpc'] as GrpcObject)['reflection'] as GrpcObject)['v1'] as GrpcObject;
  stubCtor = v1['ServerReflection'] as ServiceClientConstructor;
  return stubCtor;
}

/**
 * A reflection client of the server at `address`. `headers`: sent with every
 * request (e.g. `authorization: Bearer <token>`); `options`: channel options.
 */
export function reflectionClient(
  address: string,
  credentials: ChannelCredentials,
  headers: Record<string, string> = {},
  options: Record<string, string | number> = {},
): ReflectionClient {
  const Ctor = reflectionCtor();
  const stub = new Ctor(address, credentials, options) as unknown as ReflectionStub;
  const ask = (request: object): Promise<ReflectionResponse> =>
    new Promise((resolve, reject) => {
      const metadata = new Metadata();
      for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
      const call = stub.ServerReflectionInfo(metadata);
      let answer: ReflectionResponse | undefined;
      call.on('data', (r: ReflectionResponse) => {
        answer = r;
        call.end();
      });
      call.on('error', reject);
      call.on('end', () => {
        if (answer === undefined) reject(new Error('the reflection stream ended without an answer'));
        else if (answer.errorResponse) reject(new Error(`reflection: ${answer.errorResponse.errorMessage}`));
        else resolve(answer);
      });
      call.write(request);
    });
  return {
    async listServices() {
      const r = await ask({ listServices: '*' });
      return (r.listServicesResponse?.service ?? []).map((s) => s.name).sort();
    },
    async fileContainingSymbol(symbol: string) {
      const r = await ask({ fileContainingSymbol: symbol });
      return r.fileDescriptorResponse?.fileDescriptorProto ?? [];
    },
    close: () => stub.close(),
  };
}

/** One length-delimited protobuf field (wire type 2): its tag, the varint length of `bytes`, then `bytes`. */
export function lengthDelimitedField(fieldNumber: number, bytes: Uint8Array): Buffer {
  const len: number[] = [];
  let n = bytes.length;
  while (n > 0x7f) {
    len.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  len.push(n);
  return Buffer.concat([Buffer.from([(fieldNumber << 3) | 2, ...len]), bytes]);
}

/** Client classes built from reflected FileDescriptorProtos (a FileDescriptorSet of them), as a generic tool builds them. */
export function packageFromDescriptors(files: readonly Buffer[]): GrpcObject {
  // FileDescriptorSet: `repeated FileDescriptorProto file = 1;` (tag 0x0a, varint length, bytes).
  return loadPackageDefinition(
    loadFileDescriptorSetFromBuffer(Buffer.concat(files.map((f) => lengthDelimitedField(1, f))), {
      longs: String,
      enums: String,
      defaults: true,
    }),
  );
}
