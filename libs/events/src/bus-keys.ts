import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LatchkeyError } from '@latchkey/errors';
import {
  checkBusTrust,
  generateBusTrust,
  generateUserSeed,
  mintServiceCreds,
  serverAuthConfig,
  subscriberSignerOf,
  type BusTrust,
} from '@latchkey/nats';
import { BUS_SERVICES, busIdentity, type BusService } from './bus-permissions.js';

/** nats-server's certificate is issued by the local CA under this name (tls/nats-server.crt). */
export const NATS_SERVER_CERT = 'nats-server';

/** Where the bus's keys and credentials are kept (every file 0600): `<data folder>/bus`, or /keys/bus when scaled. */
export interface BusKeyPaths {
  dir: string;
  /** The operator, accounts and signing keys, and each service's user seed: only `latchkey up` reads it. */
  trustFile: string;
  /** nats-server's configuration: its auth (operator + accounts) and TLS. */
  serverConfigFile: string;
  /** Per service, its NATS credentials file. */
  creds: Record<BusService, string>;
  /** ras's: the account and the signing key it mints external subscribers' credentials with. */
  subscriberSignerFile: string;
}

export function busKeyPaths(dir: string): BusKeyPaths {
  return {
    dir,
    trustFile: path.join(dir, 'trust.json'),
    serverConfigFile: path.join(dir, 'nats-server.conf'),
    creds: Object.fromEntries(BUS_SERVICES.map((s) => [s, path.join(dir, `${s}.creds`)])) as Record<BusService, string>,
    subscriberSignerFile: path.join(dir, 'subscriber-signer.json'),
  };
}

interface TrustFile {
  trust: BusTrust;
  userSeeds: Record<BusService, string>;
}

async function put(file: string, content: string): Promise<void> {
  await writeFile(file, content, { mode: 0o600 });
  await chmod(file, 0o600);
}

async function loadOrCreateTrust(file: string): Promise<TrustFile> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const created: TrustFile = {
      trust: generateBusTrust(),
      userSeeds: Object.fromEntries(BUS_SERVICES.map((s) => [s, generateUserSeed()])) as Record<BusService, string>,
    };
    await writeFile(file, JSON.stringify(created, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    return created;
  }
  const bad = (why: string): LatchkeyError =>
    new LatchkeyError(
      'bus.keys_invalid',
      `${file} ${why}: delete it (and the bus folder's .creds files) to generate new bus keys`,
      {
        kind: 'failed_precondition',
      },
    );
  let parsed: TrustFile;
  try {
    parsed = JSON.parse(raw) as TrustFile;
  } catch {
    throw bad('is not JSON');
  }
  if (typeof parsed?.trust !== 'object' || typeof parsed.userSeeds !== 'object') throw bad('is not a bus trust file');
  try {
    checkBusTrust(parsed.trust);
  } catch (err) {
    throw bad(`holds a bad key (${(err as Error).message})`);
  }
  // A service added since the file was made (the gateway) gets its user key now; the others keep theirs.
  const missing = BUS_SERVICES.filter((s) => parsed.userSeeds[s] === undefined);
  for (const s of BUS_SERVICES) {
    if (parsed.userSeeds[s] !== undefined && typeof parsed.userSeeds[s] !== 'string')
      throw bad(`has a bad user key for ${s}`);
  }
  if (missing.length > 0) {
    for (const s of missing) parsed.userSeeds[s] = generateUserSeed();
    await put(file, JSON.stringify(parsed, null, 2) + '\n');
  }
  return parsed;
}

/**
 * Generates the bus's root of trust once (NATS decentralized auth), and at
 * every start writes nats-server's configuration (auth + TLS with the given
 * certificate) and each service's credentials, minted from the one bus
 * permission table, so that a changed table takes effect at the next start.
 * Every file is 0600; nothing here is logged.
 */
export async function ensureBusKeys(
  dir: string,
  serverTls: { certFile: string; keyFile: string },
): Promise<BusKeyPaths> {
  const paths = busKeyPaths(dir);
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  await chmod(paths.dir, 0o700);
  const { trust, userSeeds } = await loadOrCreateTrust(paths.trustFile);
  await chmod(paths.trustFile, 0o600);
  await put(paths.serverConfigFile, await serverAuthConfig(trust, { tls: serverTls }));
  for (const s of BUS_SERVICES) await put(paths.creds[s], await mintServiceCreds(trust, userSeeds[s], busIdentity(s)));
  await put(paths.subscriberSignerFile, JSON.stringify(subscriberSignerOf(trust)) + '\n');
  return paths;
}
