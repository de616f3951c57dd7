-- The references a deployment was recorded with (what its workload.deploying
-- event carries). A workload.resolved or .resolution_failed is accepted only
-- when it answers exactly these, in the deployment's domain.
ALTER TABLE deployments ADD COLUMN reference_specs jsonb;

-- Deployments recorded before: their deploying event in the outbox holds them.
UPDATE deployments d SET reference_specs = o.data -> 'references'
  FROM outbox o
  WHERE o.id = 'deploying:' || d.id::text AND d.reference_specs IS NULL;
