-- Rotation policy per secret (`latchkey secret put KEY --rotate-every 90d`):
-- the longest a version may stay current, in seconds; NULL when the secret
-- has none.
ALTER TABLE secrets
  ADD COLUMN rotate_every_seconds integer
    CHECK (rotate_every_seconds IS NULL OR rotate_every_seconds > 0);

-- The sweep looks only at secrets with a policy.
CREATE INDEX secrets_with_rotation_policy ON secrets (scope, key)
  WHERE rotate_every_seconds IS NOT NULL AND deleted_at IS NULL;

-- Each version that grew older than its policy, announced once
-- (`secret.rotation_due`), whichever replica's sweep inserts the row first.
CREATE TABLE rotation_due (
  scope text NOT NULL,
  key text NOT NULL,
  version integer NOT NULL,
  due_since timestamptz NOT NULL,
  announced_at timestamptz NOT NULL,
  PRIMARY KEY (scope, key, version)
);
