-- Recoverable delete: a deleted secret keeps its versions until recover_until
-- (the delete's recovery window); `latchkey secret restore` brings it back
-- before then, and the retention sweep destroys its values after. NULL once
-- destroyed (or for a secret that is not deleted).
ALTER TABLE secrets ADD COLUMN recover_until timestamptz;
CREATE INDEX secrets_recoverable ON secrets (recover_until) WHERE recover_until IS NOT NULL;

-- A disabled version cannot be resolved, and is kept.
ALTER TABLE secret_versions
  ADD COLUMN disabled_at timestamptz,
  ADD COLUMN disabled_by text,
  -- A rollback's new version: the version whose value it copied.
  ADD COLUMN rolled_back_from integer;

-- Values to destroy in their backend: versions beyond the kept count and the
-- versions of deleted secrets whose window ended. Their metadata is gone
-- already (nothing can read them); the sweep removes each from the backend
-- named and then its row, so a backend that is away is tried again.
CREATE TABLE secret_destructions (
  scope text NOT NULL,
  key text NOT NULL,
  version integer NOT NULL,
  backend text NOT NULL,
  backend_ref text NOT NULL,
  reason text NOT NULL,            -- 'retention' | 'deleted'
  queued_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  PRIMARY KEY (scope, key, version)
);

-- Deletes before this migration removed the versions' metadata at once:
-- values some backend still holds for them (the database backend kept them)
-- are destroyed by the first sweep.
INSERT INTO secret_destructions (scope, key, version, backend, backend_ref, reason)
  SELECT v.scope, v.key, v.version, 'database', v.version::text, 'deleted'
  FROM secret_values v
  WHERE NOT EXISTS (SELECT 1 FROM secret_versions sv
                    WHERE sv.scope = v.scope AND sv.key = v.key AND sv.version = v.version)
ON CONFLICT DO NOTHING;
