-- Deletions of secrets and Vault integrations in progress (the catalog's
-- delete, src/adapters/deletion-fence.ts): while a fence stands, no apply
-- and no deployment may take a new reference to what it covers. The catalog
-- raises one when it checks the dependents (in the same transaction as that
-- check, under an advisory lock per source that every apply and deployment
-- takes too), deletes in its own database, then lifts it. A fence the catalog
-- could not lift (it stopped) lapses at expires_at.
CREATE TABLE deletion_fences (
  id uuid NOT NULL,
  source_type text NOT NULL CHECK (source_type IN ('MANAGED', 'VAULT')),
  -- MANAGED: the domain or 'global'; VAULT: the integration id.
  source_id text NOT NULL,
  -- NULL: every key of the source (a Vault integration being deleted).
  key text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX deletion_fences_by_id ON deletion_fences (id);
CREATE INDEX deletion_fences_by_source ON deletion_fences (source_type, source_id);
