-- Domain roles: at most one per grantee (a user or a group) and domain.
CREATE TABLE domain_grants (
  domain text NOT NULL REFERENCES domains (name),
  grantee_kind text NOT NULL CHECK (grantee_kind IN ('user', 'group')),
  grantee_id text NOT NULL,
  role text NOT NULL CHECK (role IN ('owner', 'maintainer', 'member')),
  granted_at timestamptz NOT NULL DEFAULT now(),
  granted_by text NOT NULL,
  PRIMARY KEY (domain, grantee_kind, grantee_id)
);

-- "Which domains may alice see": by grantee.
CREATE INDEX domain_grants_by_grantee ON domain_grants (grantee_kind, grantee_id);
