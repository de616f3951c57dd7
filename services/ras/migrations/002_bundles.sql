CREATE TABLE bundles (
  domain text NOT NULL REFERENCES domains (name),
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL,
  PRIMARY KEY (domain, name)
);
