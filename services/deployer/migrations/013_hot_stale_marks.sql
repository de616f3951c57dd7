-- Issue 18: a rotation marks its dependents stale in one UPDATE (markStale);
-- with 100,000 of them, index maintenance was most of its cost. That UPDATE
-- writes only columns no index reads (stale, stale_since, stale_reasons,
-- updated_at), so PostgreSQL can make each row's new version a HOT update
-- (no index entry at all) when the row's page has room for it:
--  - the partial index on stale workloads read `stale`; the auto-redeploy
--    scan, its only user, finds its candidates through the redeploy mode
--    instead (spec, which staleness never writes);
--  - pages keep 60% of their room free for the new versions (a workload row
--    is small, its new version a stale reason larger; a large spec is
--    stored apart and not copied).
DROP INDEX IF EXISTS workloads_stale;
CREATE INDEX workloads_auto_policy ON workloads (id) WHERE (spec -> 'redeployPolicy' ->> 'mode') = 'auto';
ALTER TABLE workloads SET (fillfactor = 40);
