-- Workload output within a quota per deployment. Each line records its size
-- and where it starts in the deployment's output as appended so far
-- (start_offset, in bytes); deployment_log_usage keeps that running total.
-- Once a deployment has appended more than its quota, the lines that start
-- before (total - quota) are deleted: the oldest go first, each line is
-- deleted once, and what is kept never exceeds the quota.
ALTER TABLE deployment_logs ADD COLUMN bytes integer NOT NULL DEFAULT 0;
ALTER TABLE deployment_logs ADD COLUMN start_offset bigint NOT NULL DEFAULT 0;
CREATE INDEX deployment_logs_by_offset ON deployment_logs (deployment_id, start_offset);
-- The retention sweep deletes lines by age.
CREATE INDEX deployment_logs_by_age ON deployment_logs (at);

CREATE TABLE deployment_log_usage (
  deployment_id uuid PRIMARY KEY REFERENCES deployments (id) ON DELETE CASCADE,
  appended_bytes bigint NOT NULL DEFAULT 0
);
