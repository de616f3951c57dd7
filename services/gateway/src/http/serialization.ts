import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';

/** What Fastify hands a serializer compiler for one response schema of one route. */
interface RouteDefinition {
  method: string;
  url: string;
  httpStatus?: string;
  schema?: unknown;
}
type Serializer = (data: unknown) => string;

const selectSerializer = SerializerSelector();

/**
 * Fastify's own response serializers (fast-json-stringify, which writes only
 * the properties a response schema names), with `externalSchemas` (the app's
 * shared schemas, `Problem`) resolvable, compiled now.
 */
export function serializerCompiler(externalSchemas: unknown, options?: object): (route: RouteDefinition) => Serializer {
  const compile = selectSerializer(externalSchemas, options ?? {});
  return (route) => compile({ ...route, httpStatus: route.httpStatus ?? 'default' });
}

/**
 * The same serializers, each compiled on its route's first answer with that
 * status rather than for every route at start: see the validators'
 * reason (validation.ts). For Fastify's `schemaController.compilersFactory.buildSerializer`.
 */
export function lazySerializerCompiler(
  externalSchemas: unknown,
  options?: object,
): (route: RouteDefinition) => Serializer {
  const compile = serializerCompiler(externalSchemas, options);
  return (route) => {
    let compiled: Serializer | undefined;
    return (data: unknown) => (compiled ??= compile(route))(data);
  };
}
