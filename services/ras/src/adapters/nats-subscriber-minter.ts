import { readFile } from 'node:fs/promises';
import { LatchkeyError } from '@latchkey/errors';
import { subscriberPermissions } from '@latchkey/events';
import { mintSubscriberCreds, type SubscriberSigner } from '@latchkey/nats';
import type { SubscriberMinter } from '../domain/ports.js';

/** Mints subscriber users with the account's subscriber signing key (NATS decentralized auth: no server reload). */
export class NatsSubscriberMinter implements SubscriberMinter {
  constructor(private readonly signer: SubscriberSigner) {}

  async mint(
    name: string,
    domains: readonly string[],
    expiresAt: Date,
  ): Promise<{ creds: string; user: string; subjects: string[] }> {
    const permissions = subscriberPermissions(domains);
    const { creds, publicKey } = await mintSubscriberCreds(this.signer, `subscriber-${name}`, permissions, {
      expiresAt: Math.floor(expiresAt.getTime() / 1000),
    });
    return { creds, user: publicKey, subjects: permissions.subscribe };
  }
}

/** Reads LATCHKEY_NATS_SUBSCRIBER_SIGNER_FILE ({ account, signingSeed }, written by `latchkey up` or init-keys). */
export async function readSubscriberSigner(file: string): Promise<SubscriberSigner> {
  const bad = (why: string) =>
    new LatchkeyError('config.invalid', `${file} ${why} (LATCHKEY_NATS_SUBSCRIBER_SIGNER_FILE)`, {
      kind: 'invalid_argument',
    });
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (err) {
    throw bad(`cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw bad('is not JSON');
  }
  const p = parsed as Partial<SubscriberSigner>;
  if (
    typeof p.account !== 'string' ||
    !p.account.startsWith('A') ||
    typeof p.signingSeed !== 'string' ||
    !p.signingSeed.startsWith('SA')
  ) {
    throw bad('is not { "account": "A...", "signingSeed": "SA..." }');
  }
  return { account: p.account, signingSeed: p.signingSeed };
}
