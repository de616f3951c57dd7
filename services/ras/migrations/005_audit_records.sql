-- Audit records from every service (stream LATCHKEY_AUDIT), stored once each
-- by ras's audit consumer. Never a secret value or a credential.
CREATE TABLE audit_records (
  id text PRIMARY KEY,
  at timestamptz NOT NULL,
  service text NOT NULL,
  actor text NOT NULL,
  groups text[] NOT NULL DEFAULT '{}',
  action text NOT NULL,
  domain text NOT NULL,
  resource text NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('allow', 'deny', 'ok', 'error')),
  reason text NOT NULL,
  request_id text NOT NULL,
  stored_at timestamptz NOT NULL DEFAULT now()
);
-- Newest first, for everything, per domain and per actor (ListAudit pages on (at, id)).
CREATE INDEX audit_records_at ON audit_records (at DESC, id DESC);
CREATE INDEX audit_records_domain_at ON audit_records (domain, at DESC, id DESC);
CREATE INDEX audit_records_actor_at ON audit_records (actor, at DESC, id DESC);
