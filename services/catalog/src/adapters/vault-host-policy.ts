/**
 * Which hosts a team's Vault integration may point the catalog at. Without
 * it, `vault test --host http://127.0.0.1:<port>` turns the catalog into a
 * port scanner of its own machine and network (PostgreSQL, NATS, the other
 * services, a cloud metadata endpoint), and an integration could read from
 * whatever answers there.
 *
 * Refused unless LATCHKEY_VAULT_ALLOWED_HOSTS allows them: loopback
 * (127.0.0.0/8, ::1, `localhost`), link-local (169.254.0.0/16, fe80::/10,
 * where cloud metadata lives), the unspecified addresses, this machine's own
 * interface addresses, and the platform's own hosts (those of its database,
 * NATS and services, by name). A host name is checked again at connect time
 * on every address it resolves to (see `lookup`), so a name pointing at
 * 127.0.0.1 is refused like 127.0.0.1 itself, and a name that changes its
 * answer after the check cannot slip through.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { LatchkeyError } from '@latchkey/errors';
import { natsHostsOf } from '@latchkey/nats';

export const ALLOWED_HOSTS_VARIABLE = 'LATCHKEY_VAULT_ALLOWED_HOSTS';

type Family = 'ipv4' | 'ipv6';
const familyOf = (address: string): Family => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

/** `[::1]` as URL.hostname gives it, without brackets; lowercased. */
const bare = (host: string): string => host.replace(/^\[|\]$/g, '').toLowerCase();

function specialRanges(): BlockList {
  const list = new BlockList();
  list.addSubnet('127.0.0.0', 8, 'ipv4');
  list.addSubnet('169.254.0.0', 16, 'ipv4');
  list.addSubnet('0.0.0.0', 8, 'ipv4');
  list.addAddress('::1', 'ipv6');
  list.addAddress('::', 'ipv6');
  list.addSubnet('fe80::', 10, 'ipv6');
  // IPv4-mapped IPv6 forms of the above (::ffff:127.0.0.1).
  list.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');
  list.addSubnet('::ffff:169.254.0.0', 112, 'ipv6');
  list.addSubnet('::ffff:0.0.0.0', 104, 'ipv6');
  return list;
}

export interface VaultHostPolicyOptions {
  /** LATCHKEY_VAULT_ALLOWED_HOSTS: comma-separated host names, addresses or CIDRs that are allowed anyway. */
  allowed?: string;
  /** The platform's own hosts (database, NATS, services), refused by name unless allowed. */
  platformHosts?: readonly string[];
  /** This machine's addresses; default: every interface's (os.networkInterfaces). */
  ownAddresses?: readonly string[];
  /** DNS, for tests; default node's dns.lookup. */
  resolve?: (host: string) => Promise<LookupAddress[]>;
}

function notAllowed(host: string, why: string): LatchkeyError {
  return new LatchkeyError(
    'vault.host_not_allowed',
    `the Vault host ${host} is not allowed: ${why}. An operator can allow it on the catalog with ${ALLOWED_HOSTS_VARIABLE} (comma-separated hosts or CIDRs, e.g. 127.0.0.1 for a Vault on the same machine)`,
    { kind: 'invalid_argument' },
  );
}

export class VaultHostPolicy {
  readonly #allowedNames = new Set<string>();
  readonly #allowedAddresses = new BlockList();
  readonly #special = specialRanges();
  readonly #own = new BlockList();
  readonly #platformNames: Set<string>;
  readonly #resolve: (host: string) => Promise<LookupAddress[]>;

  /** Throws a config error naming LATCHKEY_VAULT_ALLOWED_HOSTS for an entry it cannot read. */
  constructor(opts: VaultHostPolicyOptions = {}) {
    for (const raw of (opts.allowed ?? '').split(',')) {
      const entry = bare(raw.trim());
      if (entry === '') continue;
      const slash = entry.indexOf('/');
      if (slash >= 0) {
        const base = entry.slice(0, slash);
        const bitsText = entry.slice(slash + 1);
        const bits = Number(bitsText);
        const max = isIP(base) === 6 ? 128 : 32;
        if (isIP(base) === 0 || !/^\d{1,3}$/.test(bitsText) || bits > max) {
          throw configError(`"${raw.trim()}" is not a CIDR (like 10.0.0.0/8 or fd00::/8)`);
        }
        this.#allowedAddresses.addSubnet(base, bits, familyOf(base));
      } else if (isIP(entry) !== 0) {
        this.#allowedAddresses.addAddress(entry, familyOf(entry));
      } else if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(entry)) {
        this.#allowedNames.add(entry);
      } else {
        throw configError(`"${raw.trim()}" is neither a host name, an IP address nor a CIDR`);
      }
    }
    const own = opts.ownAddresses ?? interfaceAddresses();
    for (const a of own) {
      const address = bare(a).replace(/%.*$/, '');
      if (isIP(address) !== 0) this.#own.addAddress(address, familyOf(address));
    }
    this.#platformNames = new Set((opts.platformHosts ?? []).map(bare).filter((h) => h !== ''));
    for (const h of this.#platformNames) if (isIP(h) !== 0) this.#own.addAddress(h, familyOf(h));
    this.#resolve =
      opts.resolve ??
      ((host) =>
        new Promise((resolve, reject) =>
          dnsLookup(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
        ));
  }

  /**
   * Checks a URL's host before anything is sent: addresses, `localhost`, and
   * the platform's own names. Names are checked again when connecting.
   */
  checkHost(hostname: string): void {
    const host = bare(hostname);
    if (this.#allowedNames.has(host)) return;
    if (isIP(host) !== 0) {
      this.checkAddress(host, host);
      return;
    }
    if (host === 'localhost' || host.endsWith('.localhost')) throw notAllowed(host, 'it is a loopback name');
    if (this.#platformNames.has(host)) throw notAllowed(host, "it is one of the platform's own hosts");
  }

  /** Refuses `address` (what `host` resolved to) when it is loopback, link-local or this machine's own. */
  checkAddress(host: string, address: string): void {
    const a = bare(address);
    const family = familyOf(a);
    if (this.#allowedNames.has(bare(host)) || this.#allowedAddresses.check(a, family)) return;
    const shown = a === bare(host) ? '' : ` (it resolves to ${a})`;
    if (this.#special.check(a, family)) {
      throw notAllowed(host, `it is a loopback, link-local or unspecified address${shown}`);
    }
    if (this.#own.check(a, family)) throw notAllowed(host, `it is an address of the platform itself${shown}`);
  }

  /**
   * A `lookup` for http(s).request: resolves the name and refuses the
   * connection when any of its addresses is not allowed, so the address
   * checked is the address connected to.
   */
  readonly lookup = (
    hostname: string,
    options: { all?: boolean; family?: number | string },
    callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    this.#resolve(hostname).then(
      (found) => {
        try {
          if (found.length === 0) throw Object.assign(new Error('no address'), { code: 'ENOTFOUND' });
          for (const f of found) this.checkAddress(hostname, f.address);
        } catch (err) {
          callback(err as Error, '');
          return;
        }
        if (options.all === true) callback(null, found);
        else callback(null, found[0]?.address ?? '', found[0]?.family ?? 4);
      },
      (err: unknown) => callback(err as Error, ''),
    );
  };
}

function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

function configError(why: string): LatchkeyError {
  return new LatchkeyError('config.invalid', `${ALLOWED_HOSTS_VARIABLE}: ${why}`, { kind: 'invalid_argument' });
}

/** The host part of `host:port`, `[v6]:port` or a URL; '' when none. */
function hostsOf(address: string | undefined): string[] {
  if (address === undefined || address === '') return [];
  const text = address.trim();
  try {
    return [new URL(text.includes('://') ? text : `tcp://${text}`).hostname];
  } catch {
    return [];
  }
}

/** The platform's own hosts as the catalog's config names them: its database, NATS, ras, the deployer, itself. */
export function platformHostsOf(config: {
  LATCHKEY_DATABASE_URL: string;
  LATCHKEY_NATS_URL: string;
  LATCHKEY_RAS_ADDR: string;
  LATCHKEY_DEPLOYER_ADDR: string;
  LATCHKEY_SERVICE_HOST: string;
}): string[] {
  return [
    ...hostsOf(config.LATCHKEY_DATABASE_URL),
    ...natsHostsOf(config.LATCHKEY_NATS_URL),
    ...hostsOf(config.LATCHKEY_RAS_ADDR),
    ...hostsOf(config.LATCHKEY_DEPLOYER_ADDR),
    ...hostsOf(config.LATCHKEY_SERVICE_HOST),
  ];
}
