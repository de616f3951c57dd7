-- Who last applied each workload's spec, with the groups of their token
-- then: a redeploy by the workload's redeployPolicy acts with this authority
-- (checked again by ras, and by the resolver for every reference, when it
-- redeploys), never with that of whoever deployed it before. Workloads
-- applied before this column existed have no author: their policy redeploys
-- nothing until someone applies them again.
ALTER TABLE workloads ADD COLUMN applied_by text;
ALTER TABLE workloads ADD COLUMN applied_groups jsonb NOT NULL DEFAULT '[]';
