-- latchkey stop: a stop asked for while a deployment starts or runs. The
-- replica running it (deployments.runner) stops it, on the
-- workload.stop_requested event or when it next compares what it runs with
-- these rows, and records status 'stopped'.
ALTER TABLE deployments ADD COLUMN stop_requested_at timestamptz;
ALTER TABLE deployments ADD COLUMN stop_requested_by text;

-- Who asked for a deployment: 'deploy' (a person), 'redeploy' (a person, with
-- latchkey redeploy) or 'auto' (the workload's redeployPolicy, as the
-- principal of the deployment it replaces).
ALTER TABLE deployments ADD COLUMN trigger text NOT NULL DEFAULT 'deploy'
  CHECK (trigger IN ('deploy', 'redeploy', 'auto'));

-- Deployments in flight: at most maxConcurrent auto redeploys per domain, and
-- one at a time per workload.
CREATE INDEX deployments_in_flight ON deployments (domain, workload_id)
  WHERE status IN ('resolving', 'starting');

-- When a workload became stale (its cooldown runs from here, so that a burst
-- of rotations leads to one redeploy) and when it was last redeployed by its
-- policy (at most one auto redeploy per cooldown). Both on the deployer's
-- clock.
ALTER TABLE workloads ADD COLUMN stale_since timestamptz;
ALTER TABLE workloads ADD COLUMN auto_redeployed_at timestamptz;
UPDATE workloads SET stale_since = updated_at WHERE stale;

-- latchkey workload list --stale, and the periodic scan for auto redeploys.
CREATE INDEX workloads_stale ON workloads (domain, name) WHERE stale;
