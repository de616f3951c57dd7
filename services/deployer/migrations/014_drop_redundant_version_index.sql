-- Issue 18: every deployment writes one deployment_versions row per reference
-- (20 in the bench's workload), and each row was entered in four indexes.
-- deployment_versions_by_key (key, deployment_id) answers nothing that
-- deployment_versions_by_secret (scope, key, deployment_id) does not: every
-- query of the table names the scope with the key (markStale, the dependents
-- of a version, the Vault version watch) or reads by deployment (the primary
-- key). Dropped: one index entry fewer per reference deployed.
DROP INDEX IF EXISTS deployment_versions_by_key;
