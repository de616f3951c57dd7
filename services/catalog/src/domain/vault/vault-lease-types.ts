/** Leases of Vault dynamic credentials, as the catalog records them (never the credentials). */

export type VaultLeaseState = 'active' | 'revoking' | 'revoked' | 'expired' | 'dropped';

export interface VaultLeaseRecord {
  leaseId: string;
  integrationId: string;
  domain: string;
  deploymentId: string;
  issuedAt: Date;
  expiresAt: Date;
  /** The lease's duration at issue: what each renewal asks for. */
  leaseSeconds: number;
  renewable: boolean;
  state: VaultLeaseState;
  /** Failed renewals or revocations in a row. */
  failures: number;
}

/** What the keeper did with one lease in a round. */
export type VaultLeaseAction =
  | { kind: 'renewed'; expiresAt: Date; renewable: boolean; nextCheck: Date }
  | { kind: 'checked'; nextCheck: Date }
  | { kind: 'ended'; state: 'revoked' | 'expired' | 'dropped'; at: Date }
  /** Revocation decided (its deployment is not live) and not done yet, or a renewal that failed: tried at nextCheck. */
  | { kind: 'failed'; state: 'active' | 'revoking'; code: string; nextCheck: Date };

/** A round of the lease keeper. */
export interface VaultLeaseRound {
  claimed: number;
  renewed: number;
  revoked: number;
  expired: number;
  dropped: number;
  failed: number;
  /** Whether the deployer said which deployments live (false: only renewals this round). */
  knewLiveness: boolean;
}
