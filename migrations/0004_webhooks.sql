-- Customer webhooks: endpoints, one delivery per event and endpoint (its body frozen at fan-out), and
-- every attempt.

CREATE TABLE webhook_endpoints (
    id                          uuid PRIMARY KEY,
    organization_id             uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    url                         text NOT NULL,
    description                 text,
    -- empty: every event type
    event_types                 text[] NOT NULL DEFAULT '{}',
    enabled                     boolean NOT NULL DEFAULT true,
    disabled_reason             text,
    -- secrets at rest, sealed with SECRETS_ENCRYPTION_KEY
    secret                      text NOT NULL,
    previous_secret             text,
    previous_secret_expires_at  timestamptz,
    -- since when every attempt has failed (null after any success)
    failing_since               timestamptz,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_org_idx ON webhook_endpoints (organization_id, created_at DESC);

CREATE TABLE webhook_deliveries (
    id                      uuid PRIMARY KEY,
    organization_id         uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    endpoint_id             uuid NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id                uuid NOT NULL,
    event_type              text NOT NULL,
    -- the exact body sent (and signed) on every attempt
    payload                 text NOT NULL,
    status                  text NOT NULL CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED')),
    attempts                integer NOT NULL DEFAULT 0,
    last_attempt_at         timestamptz,
    next_attempt_at         timestamptz,
    response_status         integer,
    response_body_excerpt   text,
    duration_ms             integer,
    last_error              text,
    -- held by the delivery job making an attempt; a job rescued from a dead worker takes it over after
    lease_until             timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now(),
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_endpoint_status_idx ON webhook_deliveries (endpoint_id, status, created_at DESC);

CREATE TABLE webhook_attempts (
    id                      uuid PRIMARY KEY,
    delivery_id             uuid NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempted_at            timestamptz NOT NULL,
    response_status         integer,
    duration_ms             integer NOT NULL,
    response_body_excerpt   text,
    error                   text
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, attempted_at);
