// A workload's spec, one room per step: its types and limits, parsing a
// document, the references it holds, and what its runtime receives.
export * from './workloads/workload-spec-types.js';
export { parseWorkloadSpec } from './workloads/workload-spec-parser.js';
export * from './workloads/workload-references.js';
export * from './workloads/workload-render.js';
