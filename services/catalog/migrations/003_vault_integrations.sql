-- Read-only connections to teams' own Vaults (KV v2). The credential (token or
-- AppRole secret id) is stored only envelope-encrypted with the catalog's
-- key-encryption key, like database-backend values; it is never returned.
CREATE TABLE vault_integrations (
  id uuid PRIMARY KEY,
  domain text NOT NULL,
  name text NOT NULL,
  host text NOT NULL,
  path text NOT NULL,
  namespace text NOT NULL DEFAULT '',
  bundle text NOT NULL,
  auth_method text NOT NULL,
  role_id text NOT NULL DEFAULT '',
  layout text NOT NULL DEFAULT 'children',
  kek_id text NOT NULL,
  wrapped_dek bytea NOT NULL,
  credential bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text NOT NULL,
  UNIQUE (domain, name)
);
CREATE INDEX vault_integrations_by_kek ON vault_integrations (kek_id);

-- The version watch: the latest KV version seen for each Vault key that a
-- live deployment holds. A change is announced once, by whichever replica
-- moves the row first.
CREATE TABLE vault_watch (
  integration_id uuid NOT NULL REFERENCES vault_integrations (id) ON DELETE CASCADE,
  key text NOT NULL,
  version integer NOT NULL,
  checked_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (integration_id, key)
);
