-- Leases of Vault dynamic credentials (an integration whose path is
-- <mount>/creds/<role>): one row per lease the catalog was issued for a
-- deployment. The credentials themselves are never stored: only the lease's
-- id (which Vault treats as an identifier, not a credential), whom it is for
-- and its timing. The lease keeper claims due rows (FOR UPDATE SKIP LOCKED,
-- so that replicas share the work), renews the leases of live deployments at
-- half their duration and revokes those of deployments that ended or were
-- replaced.
--   state: active (renewed while its deployment lives), revoking (its
--   deployment ended; revoked next round until Vault confirms), revoked,
--   expired (its time ran out, or Vault no longer had it), dropped (its
--   integration was deleted: nothing left to revoke it with).
CREATE TABLE vault_leases (
  lease_id text PRIMARY KEY,
  integration_id uuid NOT NULL,
  domain text NOT NULL,
  deployment_id uuid NOT NULL,
  issued_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  -- The duration of the lease at issue: what each renewal asks for.
  lease_seconds integer NOT NULL CHECK (lease_seconds >= 0),
  renewable boolean NOT NULL,
  state text NOT NULL DEFAULT 'active'
    CHECK (state IN ('active', 'revoking', 'revoked', 'expired', 'dropped')),
  -- When the keeper looks at it next (a claim moves it past the claim's end).
  due_at timestamptz NOT NULL DEFAULT now(),
  renewed_at timestamptz,
  ended_at timestamptz,
  -- Failed renewals or revocations in a row, and the last one's error code (never a value).
  failures integer NOT NULL DEFAULT 0,
  last_error text
);
CREATE INDEX vault_leases_due ON vault_leases (due_at) WHERE state IN ('active', 'revoking');
CREATE INDEX vault_leases_by_deployment ON vault_leases (deployment_id);
