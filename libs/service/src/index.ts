export type { ServiceConfig, ServiceSpec, Service } from './service-bootstrap.js';
export { serve } from './service-bootstrap.js';
export type { DrainStage } from './drain.js';
export { Drain, DRAIN_STAGES } from './drain.js';
export { serviceConfig } from './service-config.js';
