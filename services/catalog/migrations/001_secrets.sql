-- Metadata of each secret; the current version is the one workloads receive.
CREATE TABLE secrets (
  scope text NOT NULL,            -- a domain name, or 'global'
  key text NOT NULL,
  source text NOT NULL DEFAULT 'MANAGED',
  current_version integer NOT NULL,
  description text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text NOT NULL,
  deleted_at timestamptz,
  PRIMARY KEY (scope, key)
);

-- Values, only envelope-encrypted: a data key per version, wrapped by the KEK.
CREATE TABLE secret_versions (
  scope text NOT NULL,
  key text NOT NULL,
  version integer NOT NULL,
  kek_id text NOT NULL,
  wrapped_dek bytea NOT NULL,
  ciphertext bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL,
  PRIMARY KEY (scope, key, version),
  FOREIGN KEY (scope, key) REFERENCES secrets (scope, key)
);
