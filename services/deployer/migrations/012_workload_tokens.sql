-- Issue 15: each deployment's own workload token (LATCHKEY_WORKLOAD_TOKEN),
-- with which its running workload reads its references through the gateway.
-- Only the token's SHA-256 is kept; whether it still works is decided from
-- the deployment's state at each read (running, not asked to stop, not
-- replaced), never from this row.
CREATE TABLE workload_tokens (
  token_hash bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
  deployment_id uuid NOT NULL UNIQUE REFERENCES deployments (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now()
);
