/**
 * What clients read before they call anything: `/version`, the legacy group
 * `/api` and its resources `/api/v1`, and the (empty) named groups `/apis`.
 * Plain JSON (`application/json`), so that kubectl and client-go, which ask
 * for aggregated discovery first, fall back to these documents as they do
 * with any server that does not aggregate.
 */
import type { JsonObject } from './status.js';

export const EMULATED_KUBERNETES_VERSION = { major: '1', minor: '31', gitVersion: 'v1.31.0-latchkey-emulator' };

const verbs = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

const API_RESOURCES: JsonObject[] = [
  {
    name: 'events',
    singularName: 'event',
    namespaced: true,
    kind: 'Event',
    verbs: ['list'],
    shortNames: ['ev'],
  },
  {
    name: 'namespaces',
    singularName: 'namespace',
    namespaced: false,
    kind: 'Namespace',
    verbs: ['create', 'delete', 'get', 'list'],
    shortNames: ['ns'],
  },
  { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs, shortNames: ['po'], categories: ['all'] },
  { name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
  { name: 'secrets', singularName: 'secret', namespaced: true, kind: 'Secret', verbs },
];

/** The discovery document at `path`, or undefined when `path` is not one. */
export function discoveryDocument(path: string, serverAddress: string): JsonObject | undefined {
  switch (path.replace(/\/+$/, '')) {
    case '/version':
      return {
        ...EMULATED_KUBERNETES_VERSION,
        gitCommit: '0000000000000000000000000000000000000000',
        gitTreeState: 'clean',
        buildDate: '2026-01-01T00:00:00Z',
        goVersion: 'go1.22.5',
        compiler: 'gc',
        platform: 'linux/amd64',
      };
    case '/api':
      return {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
      };
    case '/api/v1':
      return { kind: 'APIResourceList', groupVersion: 'v1', resources: API_RESOURCES };
    case '/apis':
      return { kind: 'APIGroupList', apiVersion: 'v1', groups: [] };
    default:
      return undefined;
  }
}
