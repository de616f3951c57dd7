-- VIEW / UPDATE / USE on a bundle, to a user or a group: one row per permission.
CREATE TABLE bundle_grants (
  domain text NOT NULL,
  bundle text NOT NULL,
  grantee_kind text NOT NULL CHECK (grantee_kind IN ('user', 'group')),
  grantee_id text NOT NULL,
  permission text NOT NULL CHECK (permission IN ('VIEW', 'UPDATE', 'USE')),
  granted_at timestamptz NOT NULL DEFAULT now(),
  granted_by text NOT NULL,
  PRIMARY KEY (domain, bundle, grantee_kind, grantee_id, permission),
  FOREIGN KEY (domain, bundle) REFERENCES bundles (domain, name)
);
