// Inputs the fuzz (fuzz-rpc.test.ts) once found breaking a service or the CLI, kept as they were found and
// run first on every run, before the generated cases. Each names what it broke and the fix.

/** A request body sent as it is to one RPC (`Service.Method`), in hex. */
export interface RpcRegression {
  rpc: string;
  label: string;
  hex: string;
}

/** A workload document sent through ApplyWorkload and the gateway's workload endpoint. */
export interface WorkloadRegression {
  label: string;
  body: string;
  isObject: boolean;
  /** The kind whose gateway endpoint it is sent to (COMPUTE's when absent). */
  kind?: string;
}

export interface CliRegression {
  argv: string[];
  stdin?: string;
}

export const RPC_REGRESSIONS: readonly RpcRegression[] = [];

export const WORKLOAD_REGRESSIONS: readonly WorkloadRegression[] = [
  {
    // The gateway answered 500: its JSON.stringify of the body ran out of stack. Fixed: bodies nested more than
    // 32 levels are refused before any handler (services/gateway/src/http/body-depth.ts).
    label: 'deep-object(29618) in $.name',
    body: `{"name": ${'{"a":'.repeat(29_618)}1${'}'.repeat(29_618)}, "kind": "COMPUTE", "run": {"command": ["true"]}}`,
    isObject: true,
  },
  {
    // The refusal listed all 2,747 unknown field names: an 18,392-character message. Fixed: at most 10 names and
    // 20 problems are listed, with how many more (services/deployer/src/domain/workloads/workload-spec-parser.ts).
    label: 'a reference with 2747 unknown fields',
    body: JSON.stringify({
      name: 'fz-a',
      kind: 'COMPUTE',
      envVars: {
        PLAIN: { ...Object.fromEntries(Array.from({ length: 2747 }, (_, i) => [`V${i}`, 'v'])), key: 'k' },
      },
    }),
    isObject: true,
  },
  {
    // INTERNAL: the refusal quoted the kind with JSON.stringify, which ran out of stack on a deep object.
    // Fixed: an object or array is only named in a message (services/deployer/src/domain/workloads/workload-text.ts).
    label: 'deep-object(5352) as $.kind',
    body: `{"name": "fz-a", "kind": ${'{"a":'.repeat(5352)}1${'}'.repeat(5352)}, "run": {"command": ["true"]}}`,
    isObject: true,
  },
  {
    // The refusal quoted the whole kind: an 8,703-character message. Fixed with the one above.
    label: 'references(346) as $.kind',
    body: JSON.stringify({
      name: 'fz-a',
      kind: Object.fromEntries(Array.from({ length: 346 }, (_, i) => [`V${i}`, `\${secrets.k${i}}`])),
    }),
    isObject: true,
  },
  {
    // HTTP 503 grpc.deadline_exceeded after 15 s: the refusal quoted the 20,000-key object (250 KB), more than a
    // gRPC trailer carries, so no answer came. Fixed by the quoting above and, for any message, a cut at 4,096
    // characters where an error becomes a gRPC status (libs/grpc/src/grpc-status.ts).
    label: 'env-vars(19990) as $.config.envVars.TOKEN.source.type',
    body: JSON.stringify({
      name: 'fz-a',
      kind: 'JUPYTER_CONTAINER',
      config: {
        envVars: {
          TOKEN: {
            key: 'seeded',
            source: { type: Object.fromEntries(Array.from({ length: 19_990 }, (_, i) => [`V${i}`, 'v'])), id: 'fuzz' },
          },
        },
      },
    }),
    isObject: true,
    kind: 'JUPYTER_CONTAINER',
  },
  {
    // HTTP 500 db.error 22P05: PostgreSQL stores no NUL in jsonb. Fixed: apply refuses it naming its path.
    label: 'a NUL in $.secretKey',
    body: JSON.stringify({ name: 'fz-a', kind: 'STORAGE_CONFIG', endpoint: 'https://s3.example', secretKey: '\u0000' }),
    isObject: true,
    kind: 'STORAGE_CONFIG',
  },
];

export const CLI_REGRESSIONS: readonly CliRegression[] = [];
