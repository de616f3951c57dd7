-- rotation_due keeps only what is current: a put of a new version and a
-- delete now remove the rows of older versions. This removes those left
-- from before.
DELETE FROM rotation_due r
WHERE NOT EXISTS (
  SELECT 1 FROM secrets s
  WHERE s.scope = r.scope AND s.key = r.key AND s.current_version = r.version AND s.deleted_at IS NULL
);
