-- Values move out of secret_versions: a version now records which backend
-- holds its value and the backend's reference to it. The database backend
-- keeps its envelope-encrypted values in secret_values.
CREATE TABLE secret_values (
  scope text NOT NULL,
  key text NOT NULL,
  version integer NOT NULL,
  kek_id text NOT NULL,
  wrapped_dek bytea NOT NULL,
  ciphertext bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, key, version)
);
CREATE INDEX secret_values_by_kek ON secret_values (kek_id);
INSERT INTO secret_values (scope, key, version, kek_id, wrapped_dek, ciphertext, created_at)
  SELECT scope, key, version, kek_id, wrapped_dek, ciphertext, created_at FROM secret_versions;
ALTER TABLE secret_versions
  ADD COLUMN backend text NOT NULL DEFAULT 'database',
  ADD COLUMN backend_ref text NOT NULL DEFAULT '',
  DROP COLUMN kek_id,
  DROP COLUMN wrapped_dek,
  DROP COLUMN ciphertext;
