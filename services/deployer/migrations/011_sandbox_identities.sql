-- The process runtime, when the deployer runs as root: the OS uid (gid = uid)
-- each domain's workloads run as, from LATCHKEY_SANDBOX_UID_RANGE. Shared by
-- every replica: a domain keeps its uid, and no two domains ever share one
-- (the unique constraint decides between replicas allocating at once).
CREATE TABLE sandbox_identities (
  domain text PRIMARY KEY,
  uid bigint NOT NULL UNIQUE CHECK (uid > 0),
  allocated_at timestamptz NOT NULL DEFAULT now()
);
