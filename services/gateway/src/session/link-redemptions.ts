/**
 * Where the gateways remember which login links were used: a link is
 * accepted once across all replicas (the gateway itself is stateless).
 */
export interface LinkRedemptions {
  /** 'first' the first time `jti` is redeemed anywhere, 'used' every later time. */
  redeem(jti: string, expiresAt: Date): Promise<'first' | 'used'>;
}

/** One process's memory (tests, and a single gateway without a bus). */
export function memoryLinkRedemptions(): LinkRedemptions {
  const used = new Set<string>();
  return {
    redeem(jti) {
      if (used.has(jti)) return Promise.resolve('used');
      used.add(jti);
      return Promise.resolve('first');
    },
  };
}
