-- What a deployment says besides its status: warnings of its resolution (a
-- domain key shadowing a global one, retries it needed) and how many
-- resolution attempts were made while backends were unavailable.
ALTER TABLE deployments ADD COLUMN warnings jsonb NOT NULL DEFAULT '[]';
ALTER TABLE deployments ADD COLUMN attempts integer NOT NULL DEFAULT 0;
