import { encodeAccount, encodeOperator, encodeUser, fmtCreds, type KeyPair } from '@nats-io/jwt';
import { invalidArgument } from '@latchkey/errors';
import { createNkey, nkeyFromSeed } from './nkey.js';

/**
 * What one NATS identity may do: an allow-list of subjects to publish and to
 * subscribe to (everything else is denied), and whether it may answer the
 * requests it received (publish once to their reply subject).
 */
export interface BusPermissions {
  publish: string[];
  subscribe: string[];
  /** Lets the identity reply to requests it received (NATS `allow_responses`, one reply each). */
  allowResponses?: boolean;
}

/** A NATS user: its name, the prefix of its request inboxes, and its permissions. */
export interface BusIdentity {
  name: string;
  /** nats.js `inboxPrefix`; the identity may subscribe only below it. Empty: makes no requests. */
  inboxPrefix: string;
  permissions: BusPermissions;
}

/**
 * The bus's root of trust (NATS decentralized auth): the operator, the
 * system account, the Latchkey account (its identity key signs the services'
 * users) and a second signing key of that account, the only one handed to ras,
 * with which it mints the users of external event subscribers. Secret: whoever
 * holds it can mint any NATS user.
 */
export interface BusTrust {
  operatorSeed: string;
  systemAccountSeed: string;
  accountSeed: string;
  subscriberSigningSeed: string;
}

/** What ras needs to mint subscriber users: the account's public key and the subscriber signing key. */
export interface SubscriberSigner {
  account: string;
  signingSeed: string;
}

const seedOf = (kp: KeyPair): string => new TextDecoder().decode(kp.getSeed());

export function generateBusTrust(): BusTrust {
  return {
    operatorSeed: seedOf(createNkey('operator')),
    systemAccountSeed: seedOf(createNkey('account')),
    accountSeed: seedOf(createNkey('account')),
    subscriberSigningSeed: seedOf(createNkey('account')),
  };
}

function keyFrom(seed: string, prefix: 'SO' | 'SA' | 'SU', what: string): KeyPair {
  if (!seed.startsWith(prefix)) {
    throw invalidArgument(
      'nats.bad_key',
      `${what} is not an nkey seed starting with ${prefix}: generate the bus keys again`,
    );
  }
  try {
    return nkeyFromSeed(seed);
  } catch {
    // The decoder's message could quote the seed: it is not passed on.
    throw invalidArgument('nats.bad_key', `${what} is not a valid nkey seed: generate the bus keys again`);
  }
}

/** Checks that every seed of `trust` is a seed of the right kind; throws naming the bad one. */
export function checkBusTrust(trust: BusTrust): void {
  keyFrom(trust.operatorSeed, 'SO', 'operatorSeed');
  keyFrom(trust.systemAccountSeed, 'SA', 'systemAccountSeed');
  keyFrom(trust.accountSeed, 'SA', 'accountSeed');
  keyFrom(trust.subscriberSigningSeed, 'SA', 'subscriberSigningSeed');
}

export function subscriberSignerOf(trust: BusTrust): SubscriberSigner {
  return {
    account: keyFrom(trust.accountSeed, 'SA', 'accountSeed').getPublicKey(),
    signingSeed: trust.subscriberSigningSeed,
  };
}

/** The user nkey seed a service keeps across restarts, so that its JWT can be minted again. */
export function generateUserSeed(): string {
  return seedOf(createNkey('user'));
}

export interface ServerAuthOptions {
  /** nats-server TLS: its certificate and key (PEM files). */
  tls: { certFile: string; keyFile: string };
}

/**
 * The nats-server configuration lines that turn on decentralized auth
 * (operator JWT, the accounts preloaded into a memory resolver, JetStream for
 * the Latchkey account) and TLS. Anonymous clients are refused: there is no
 * `no_auth_user`, and every user must be signed by a key of the account.
 */
export async function serverAuthConfig(trust: BusTrust, opts: ServerAuthOptions): Promise<string> {
  const operator = keyFrom(trust.operatorSeed, 'SO', 'operatorSeed');
  const sys = keyFrom(trust.systemAccountSeed, 'SA', 'systemAccountSeed');
  const account = keyFrom(trust.accountSeed, 'SA', 'accountSeed');
  const subscriberSigner = keyFrom(trust.subscriberSigningSeed, 'SA', 'subscriberSigningSeed');
  const operatorJwt = await encodeOperator('latchkey', operator, {
    system_account: sys.getPublicKey(),
    signing_keys: [],
  });
  const sysJwt = await encodeAccount('SYS', sys, {}, { signer: operator });
  const accountJwt = await encodeAccount(
    'LATCHKEY',
    account,
    {
      signing_keys: [subscriberSigner.getPublicKey()],
      limits: {
        subs: -1,
        data: -1,
        payload: -1,
        imports: -1,
        exports: -1,
        wildcards: true,
        conn: -1,
        leaf: -1,
        mem_storage: -1,
        disk_storage: -1,
        streams: -1,
        consumer: -1,
      },
    },
    { signer: operator },
  );
  const q = (s: string): string => JSON.stringify(s);
  return [
    `operator: ${q(operatorJwt)}`,
    `system_account: ${q(sys.getPublicKey())}`,
    'resolver: MEMORY',
    // A user JWT with the allow-lists of the bus table is larger than the default 4 KiB CONNECT line.
    'max_control_line: 65536',
    'resolver_preload: {',
    `  ${q(sys.getPublicKey())}: ${q(sysJwt)}`,
    `  ${q(account.getPublicKey())}: ${q(accountJwt)}`,
    '}',
    'tls: {',
    `  cert_file: ${q(opts.tls.certFile)}`,
    `  key_file: ${q(opts.tls.keyFile)}`,
    '  timeout: 5',
    '}',
    '',
  ].join('\n');
}

/** An empty allow-list means "no restriction" to NATS: an identity allowed nothing is denied everything. */
const allowOnly = (allow: string[]): { allow: string[]; deny: string[] } =>
  allow.length === 0 ? { allow: [], deny: ['>'] } : { allow, deny: [] };

function userClaims(permissions: BusPermissions): Record<string, unknown> {
  return {
    pub: allowOnly(permissions.publish),
    sub: allowOnly(permissions.subscribe),
    ...(permissions.allowResponses === true ? { resp: { max: 1, ttl: 0 } } : {}),
  };
}

export interface MintOptions {
  /** Seconds since the epoch after which the credential is refused; none: does not expire. */
  expiresAt?: number;
}

/**
 * A NATS credentials file (user JWT + its nkey seed) for `identity`, signed
 * by the account's identity key. The caller writes it with mode 0600.
 */
export async function mintServiceCreds(
  trust: BusTrust,
  userSeed: string,
  identity: BusIdentity,
  opts: MintOptions = {},
): Promise<string> {
  const account = keyFrom(trust.accountSeed, 'SA', 'accountSeed');
  const user = keyFrom(userSeed, 'SU', `the user seed of ${identity.name}`);
  const jwt = await encodeUser(identity.name, user, account, userClaims(identity.permissions), {
    ...(opts.expiresAt === undefined ? {} : { exp: opts.expiresAt }),
  });
  return new TextDecoder().decode(fmtCreds(jwt, user));
}

/** A fresh user, signed by the subscriber signing key (ras's), with `permissions`. */
export async function mintSubscriberCreds(
  signer: SubscriberSigner,
  name: string,
  permissions: BusPermissions,
  opts: MintOptions = {},
): Promise<{ creds: string; publicKey: string }> {
  const signingKey = keyFrom(signer.signingSeed, 'SA', 'the subscriber signing key');
  const user = createNkey('user');
  const jwt = await encodeUser(name, user, signer.account, userClaims(permissions), {
    signer: signingKey,
    ...(opts.expiresAt === undefined ? {} : { exp: opts.expiresAt }),
  });
  return { creds: new TextDecoder().decode(fmtCreds(jwt, user)), publicKey: user.getPublicKey() };
}
