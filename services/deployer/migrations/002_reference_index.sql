-- The reference index: each workload's distinct references, read from its
-- spec (referencesOf in src/domain/workload-spec.ts) and replaced in the same
-- transaction as every apply. It answers "who uses this secret" before any
-- deployment happened; deployment_versions answers "which version did the
-- live deployment receive".
CREATE TABLE workload_refs (
  workload_id uuid NOT NULL REFERENCES workloads (id) ON DELETE CASCADE,
  ref_id text NOT NULL,                -- MANAGED:<id>:<key>, VAULT:<id>:<key> or LEGACY:<key>
  key text NOT NULL,
  source_type text NOT NULL CHECK (source_type IN ('MANAGED', 'VAULT')),
  -- MANAGED: the domain or 'global'; VAULT: the integration id;
  -- legacy ${secrets.KEY}: the workload's domain (global scope is its fallback).
  source_id text NOT NULL,
  legacy boolean NOT NULL,
  PRIMARY KEY (workload_id, ref_id)
);
CREATE INDEX workload_refs_by_source ON workload_refs (source_type, source_id, key);
-- A global key's dependents include legacy placeholders of every domain.
CREATE INDEX workload_refs_legacy_by_key ON workload_refs (key) WHERE legacy;

-- The Vault keys of live deployments, for the catalog's version watch.
CREATE INDEX deployment_versions_vault ON deployment_versions (deployment_id) WHERE source_type = 'VAULT';

-- Backfill the workloads stored before this migration. Stored specs were
-- validated on apply, so every value is a string or a structured reference
-- {key, source: {type, id}} (type already MANAGED or VAULT), and every
-- `${secrets.` in a string starts a well-formed placeholder. Scanning for the
-- leftmost `$${` (an escaped literal `${`) or placeholder, as parseTemplate
-- does, finds exactly the placeholders referencesOf finds.
INSERT INTO workload_refs (workload_id, ref_id, key, source_type, source_id, legacy)
SELECT DISTINCT ON (w.id, r.ref_id) w.id, r.ref_id, r.key, r.source_type, r.source_id, r.legacy
FROM workloads w
CROSS JOIN LATERAL (
  SELECT e.value FROM jsonb_each(CASE WHEN jsonb_typeof(w.spec -> 'envVars') = 'object'
    THEN w.spec -> 'envVars' ELSE '{}'::jsonb END) e
  UNION ALL
  SELECT e.value FROM jsonb_each(CASE WHEN jsonb_typeof(w.spec -> 'sparkConf') = 'object'
    THEN w.spec -> 'sparkConf' ELSE '{}'::jsonb END) e
) v
CROSS JOIN LATERAL (
  SELECT t.source_type || ':' || (v.value -> 'source' ->> 'id') || ':' || (v.value ->> 'key') AS ref_id,
    v.value ->> 'key' AS key, t.source_type, v.value -> 'source' ->> 'id' AS source_id, false AS legacy
  FROM (SELECT CASE WHEN v.value -> 'source' ->> 'type' = 'VAULT' THEN 'VAULT' ELSE 'MANAGED' END AS source_type) t
  WHERE jsonb_typeof(v.value) = 'object' AND v.value ->> 'key' IS NOT NULL AND v.value -> 'source' ->> 'id' IS NOT NULL
  UNION ALL
  SELECT 'LEGACY:' || m[1], m[1], 'MANAGED', w.domain, true
  FROM regexp_matches(CASE WHEN jsonb_typeof(v.value) = 'string' THEN v.value #>> '{}' END,
    '\$\$\{|\$\{secrets\.([A-Za-z0-9._-]{1,253})\}', 'g') AS m
  WHERE m[1] IS NOT NULL
) r
ORDER BY w.id, r.ref_id;
