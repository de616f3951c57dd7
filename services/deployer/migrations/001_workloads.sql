CREATE TABLE workloads (
  id uuid PRIMARY KEY,
  domain text NOT NULL,
  name text NOT NULL,
  kind text NOT NULL,
  spec jsonb NOT NULL,                 -- literals and references only, never values
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  stale boolean NOT NULL DEFAULT false,
  stale_reasons jsonb NOT NULL DEFAULT '[]',
  last_deployment_id uuid,             -- the deployment whose versions decide staleness
  UNIQUE (domain, name)
);
CREATE INDEX workloads_last_deployment ON workloads (last_deployment_id);

CREATE TABLE deployments (
  id uuid PRIMARY KEY,
  workload_id uuid NOT NULL REFERENCES workloads (id) ON DELETE CASCADE,
  domain text NOT NULL,
  workload_name text NOT NULL,
  principal text NOT NULL,
  status text NOT NULL,
  reasons jsonb NOT NULL DEFAULT '[]',
  runner text,
  pid integer,
  exit_code integer,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deployments_by_workload ON deployments (workload_id, created_at DESC);

-- The reference index: which secret version each deployment received.
CREATE TABLE deployment_versions (
  deployment_id uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
  ref_id text NOT NULL,
  key text NOT NULL,
  source_type text NOT NULL,
  scope text NOT NULL,
  version integer NOT NULL,
  PRIMARY KEY (deployment_id, ref_id)
);
CREATE INDEX deployment_versions_by_secret ON deployment_versions (scope, key, deployment_id);
CREATE INDEX deployment_versions_by_key ON deployment_versions (key, deployment_id);

-- Workload output, already redacted.
CREATE TABLE deployment_logs (
  deployment_id uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
  seq integer NOT NULL,
  stream text NOT NULL,
  line text NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (deployment_id, seq)
);
