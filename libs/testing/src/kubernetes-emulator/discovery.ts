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

/**
 * OpenAPI v3, only as far as kubectl reads it before `create -f` / `apply`:
 * whether the server validates fields itself (the `fieldValidation` query
 * parameter on each kind's PATCH). With that, kubectl leaves validation to
 * the server (`?fieldValidation=Strict`) and needs no schemas.
 */
function openApiV1(): JsonObject {
  const paths: JsonObject = {};
  const kinds: [string, string, boolean][] = [
    ['namespaces', 'Namespace', false],
    ['pods', 'Pod', true],
    ['secrets', 'Secret', true],
  ];
  for (const [plural, kind, namespaced] of kinds) {
    const at = namespaced ? `/api/v1/namespaces/{namespace}/${plural}/{name}` : `/api/v1/${plural}/{name}`;
    paths[at] = {
      patch: {
        operationId: `patchCoreV1${namespaced ? 'Namespaced' : ''}${kind}`,
        parameters: [{ name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } }],
        responses: {},
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group: '', version: 'v1', kind },
      },
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: EMULATED_KUBERNETES_VERSION.gitVersion },
    paths,
    components: {},
  };
}

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
    case '/openapi/v3':
      return { paths: { 'api/v1': { serverRelativeURL: '/openapi/v3/api/v1' } } };
    case '/openapi/v3/api/v1':
      return openApiV1();
    case '/apis':
      return { kind: 'APIGroupList', apiVersion: 'v1', groups: [] };
    default:
      return undefined;
  }
}
