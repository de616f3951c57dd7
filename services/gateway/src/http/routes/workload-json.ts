import { Deployment, Workload } from '@latchkey/proto';

/**
 * A workload as the API answers it: `latchkey workload get --json`'s
 * fields, with the spec as a JSON object (`spec`) instead of the string the
 * gRPC message carries. The spec holds literals and references, never a
 * resolved value.
 */
export function workloadJson(w: Workload): Record<string, unknown> {
  const { specJson, ...rest } = Workload.toJSON(w) as Record<string, unknown> & { specJson?: string };
  let spec: unknown = {};
  try {
    spec = JSON.parse(specJson ?? w.specJson) as unknown;
  } catch {
    spec = {};
  }
  return { ...rest, spec };
}

export const deploymentJson = (d: Deployment): Record<string, unknown> =>
  Deployment.toJSON(d) as Record<string, unknown>;
