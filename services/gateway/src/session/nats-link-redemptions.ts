import { createHash } from 'node:crypto';
import { unavailable } from '@latchkey/errors';
import type { Logger } from '@latchkey/logger';
import type { Bus } from '@latchkey/nats';
import type { KV } from 'nats';
import { LOGIN_LINK_MAX_TTL_SEC } from '@latchkey/crypto';
import { KV_BUCKETS } from '@latchkey/events';
import type { LinkRedemptions } from './link-redemptions.js';

/** The JetStream KV bucket of used login links (its stream is KV_<bucket>; the bus table lets the gateway alone use it). */
const LOGIN_LINK_BUCKET = KV_BUCKETS.loginLinks;

/** JetStream's "wrong last sequence" answer: the key exists already. */
const WRONG_LAST_SEQUENCE = 10071;

/**
 * Used login links in a JetStream KV bucket shared by every gateway
 * replica: `create` (write only if the key has no value yet) on the link's
 * id is the one atomic "first use" across replicas. Entries expire after a
 * link's longest life (and a margin), when the link is refused as expired anyway.
 */
export async function natsLinkRedemptions(bus: Bus, log?: Logger): Promise<LinkRedemptions> {
  let kv: KV;
  try {
    kv = await bus.js.views.kv(LOGIN_LINK_BUCKET, {
      history: 1,
      ttl: 2 * LOGIN_LINK_MAX_TTL_SEC * 1000,
      replicas: bus.replicas,
    });
  } catch (cause) {
    throw unavailable('session.store_unavailable', `cannot open the ${LOGIN_LINK_BUCKET} JetStream KV bucket`, cause);
  }
  // nats.js opens an existing bucket as it is; the gateway's NATS user may not change its stream.
  const kept = (await kv.status().catch(() => undefined))?.replicas;
  if (kept !== undefined && kept !== bus.replicas) {
    log?.warn('the login-link KV bucket keeps another replica count than LATCHKEY_NATS_REPLICAS', {
      bucket: LOGIN_LINK_BUCKET,
      replicas: kept,
      wanted: bus.replicas,
      fix: `nats stream edit KV_${LOGIN_LINK_BUCKET} --replicas ${bus.replicas} (as an account admin), or delete the bucket: used links expire within ${2 * LOGIN_LINK_MAX_TTL_SEC}s`,
    });
  }
  return {
    async redeem(jti) {
      // KV keys are restricted to [-/_=.a-zA-Z0-9]: the link's id hashed.
      const key = createHash('sha256').update(jti).digest('hex');
      try {
        await kv.create(key, new Uint8Array(0));
        return 'first';
      } catch (err) {
        const code = (err as { api_error?: { err_code?: number } }).api_error?.err_code;
        if (code === WRONG_LAST_SEQUENCE) return 'used';
        throw unavailable(
          'session.store_unavailable',
          'cannot record the login link as used (the bus is unreachable): try again',
          err,
        );
      }
    },
  };
}
