import { z } from '@latchkey/config';
import { LatchkeyError } from '@latchkey/errors';

/** The URL schemes a NATS server list may use: plain `nats://` (TLS when the server asks for it) or `tls://`. */
const SCHEMES = ['nats:', 'tls:'];

const badUrls = (variable: string, why: string): LatchkeyError =>
  new LatchkeyError('config.invalid', `${variable}: ${why}`, { kind: 'invalid_argument' });

/** Why one entry of a NATS URL list is not a NATS server URL; undefined when it is one. */
function problemOf(entry: string): string | undefined {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return `${JSON.stringify(entry)} is not a URL`;
  }
  if (!SCHEMES.includes(url.protocol)) return `${JSON.stringify(entry)} is not a nats:// or tls:// URL`;
  if (url.hostname === '') return `${JSON.stringify(entry)} names no host`;
  if (url.username !== '' || url.password !== '')
    return `${JSON.stringify(entry.replace(/\/\/[^@]*@/, '//…@'))} carries credentials in the URL: use LATCHKEY_NATS_CREDS_FILE instead`;
  if (url.pathname !== '' && url.pathname !== '/') return `${JSON.stringify(entry)} has a path; a NATS URL has none`;
  return undefined;
}

/**
 * The NATS servers of a comma-separated list (`LATCHKEY_NATS_URL`), each a
 * `nats://host:port` or `tls://host:port` URL; throws `config.invalid`
 * naming every bad entry and the variable. The one parser of that list:
 * connectBus hands its result to nats.js, and whatever derives hosts from
 * the variable (the catalog's Vault host policy) takes them from here.
 */
export function parseNatsUrls(list: string, variable = 'LATCHKEY_NATS_URL'): string[] {
  const entries = list.split(',').map((e) => e.trim());
  if (entries.every((e) => e === '')) {
    throw badUrls(variable, 'names no NATS server: give one or more comma-separated nats://host:port URLs');
  }
  if (entries.includes(''))
    throw badUrls(variable, `has an empty entry in ${JSON.stringify(list)}: remove the extra comma`);
  const problems = entries.map(problemOf).filter((p): p is string => p !== undefined);
  if (problems.length > 0) {
    throw badUrls(
      variable,
      `${problems.join('; ')}: give comma-separated NATS server URLs such as nats://nats-1:4222,nats://nats-2:4222`,
    );
  }
  return entries;
}

/** The host names of a NATS URL list (the list already checked by parseNatsUrls). */
export function natsHostsOf(list: string): string[] {
  return parseNatsUrls(list).map((u) => new URL(u).hostname);
}

/** LATCHKEY_NATS_URL in a service's zod schema: required, and a valid list (the message names the bad entry). */
export const natsUrlList = () =>
  z
    .string({ error: 'required: LATCHKEY_NATS_URL, the NATS server URL (or several, comma-separated)' })
    .min(1, 'required: LATCHKEY_NATS_URL, the NATS server URL (or several, comma-separated)')
    .superRefine((value, ctx) => {
      try {
        parseNatsUrls(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^LATCHKEY_NATS_URL: /, '') });
      }
    });

/** Most JetStream replicas a stream, consumer or KV bucket may have (a JetStream limit). */
export const MAX_NATS_REPLICAS = 5;

/** LATCHKEY_NATS_REPLICAS: the replica count of every stream, durable consumer and KV bucket (1..5, default 1). */
export const natsReplicas = () =>
  z.coerce
    .number({ error: `a whole number from 1 to ${MAX_NATS_REPLICAS}` })
    .int(`a whole number from 1 to ${MAX_NATS_REPLICAS}`)
    .min(1, `a whole number from 1 to ${MAX_NATS_REPLICAS} (at most the number of JetStream servers)`)
    .max(MAX_NATS_REPLICAS, `a whole number from 1 to ${MAX_NATS_REPLICAS} (at most the number of JetStream servers)`)
    .default(1);
