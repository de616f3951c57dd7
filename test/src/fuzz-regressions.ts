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
];

export const CLI_REGRESSIONS: readonly CliRegression[] = [];
