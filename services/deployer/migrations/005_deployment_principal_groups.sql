-- The groups of the principal who asked for a deployment (from its token):
-- the resolver checks every reference for that principal with these groups.
ALTER TABLE deployments ADD COLUMN principal_groups jsonb NOT NULL DEFAULT '[]';
