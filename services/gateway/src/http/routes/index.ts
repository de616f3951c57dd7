import type { RouteFamily } from '../route-context.js';
import { accessRoutes } from './access-routes.js';
import { auditRoutes } from './audit-routes.js';
import { consoleRoutes } from './console-routes.js';
import { deploymentRoutes } from './deployment-routes.js';
import { documentRoutes } from './document-routes.js';
import { eventCredentialRoutes } from './event-credential-routes.js';
import { identityRoutes } from './identity-routes.js';
import { runtimeRoutes } from './runtime-routes.js';
import { secretRoutes } from './secret-routes.js';
import { secretVersionRoutes } from './secret-version-routes.js';
import { sessionRoutes } from './session-routes.js';
import { vaultRoutes } from './vault-routes.js';
import { viewRoutes } from './view-routes.js';
import { workloadRoutes } from './workload-routes.js';

/**
 * Every route family the gateway serves, registered in this order. A new
 * family is one file under routes/ and one line here; the OpenAPI document
 * lists its routes by itself (and a test fails if one is missing).
 */
export const ROUTE_FAMILIES: readonly { name: string; plugin: RouteFamily }[] = [
  { name: 'identity', plugin: identityRoutes },
  { name: 'workload', plugin: workloadRoutes },
  { name: 'deployment', plugin: deploymentRoutes },
  { name: 'document', plugin: documentRoutes },
  { name: 'secret', plugin: secretRoutes },
  { name: 'secret-version', plugin: secretVersionRoutes },
  { name: 'vault', plugin: vaultRoutes },
  { name: 'access', plugin: accessRoutes },
  { name: 'view', plugin: viewRoutes },
  { name: 'audit', plugin: auditRoutes },
  { name: 'event-credentials', plugin: eventCredentialRoutes },
  { name: 'session', plugin: sessionRoutes },
  { name: 'runtime', plugin: runtimeRoutes },
  // The web console (services/gateway/console, built by scripts/build-console.mjs): /, /console/*.
  { name: 'console', plugin: consoleRoutes },
];
