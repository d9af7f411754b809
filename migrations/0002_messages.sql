-- The one message model every channel shares, its timeline (events) and its receipts.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE messages (
    id                  uuid PRIMARY KEY,
    organization_id     uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    channel             text NOT NULL CHECK (channel IN ('email', 'sms', 'whatsapp')),
    status              text NOT NULL,
    recipient           text NOT NULL,
    -- sender ID (sms), from address (email), phone number id (whatsapp)
    sender              text,
    -- flow (sms); null where the channel has none
    category            text,
    -- channel-specific fields, rendered into the API's message as they are
    content             jsonb NOT NULL DEFAULT '{}'::jsonb,
    external_id         text,
    provider            text,
    provider_message_id text,
    error_code          text,
    error_message       text,
    -- lower-cased recipient, body and external id, for `query` (trigram index below)
    search_text         text NOT NULL,
    scheduled_at        timestamptz,
    -- how many times the send job claimed it, and until when the current claim holds
    send_attempts       integer NOT NULL DEFAULT 0,
    lease_until         timestamptz,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX messages_org_channel_created_idx ON messages (organization_id, channel, created_at DESC, id DESC);
CREATE INDEX messages_org_channel_status_created_idx ON messages (organization_id, channel, status, created_at DESC);
CREATE INDEX messages_org_channel_category_created_idx ON messages (organization_id, channel, category, created_at DESC);
CREATE INDEX messages_search_trgm_idx ON messages USING gin (search_text gin_trgm_ops);
CREATE UNIQUE INDEX messages_provider_id_idx ON messages (provider, provider_message_id) WHERE provider_message_id IS NOT NULL;
CREATE INDEX messages_processing_lease_idx ON messages (lease_until) WHERE status = 'PROCESSING';
-- For routing inbound opt-outs to the organization that last texted a handset.
CREATE INDEX messages_recipient_idx ON messages (channel, recipient, created_at DESC);

-- Every timeline entry and every customer-visible event; a status change's id is its webhook-id.
CREATE TABLE events (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    message_id      uuid REFERENCES messages(id) ON DELETE CASCADE,
    type            text NOT NULL,
    status          text,
    detail          jsonb,
    occurred_at     timestamptz NOT NULL
);
CREATE INDEX events_message_idx ON events (message_id, occurred_at, id);
CREATE INDEX events_org_idx ON events (organization_id, occurred_at DESC);

-- Raw receipts as providers sent them, with the status they map to and what became of them.
CREATE TABLE receipts (
    id                  uuid PRIMARY KEY,
    channel             text NOT NULL,
    provider            text NOT NULL,
    provider_message_id text NOT NULL,
    -- the mapped status, or null when the receipt maps to no status (kept as a note)
    status              text,
    error_code          text,
    error_message       text,
    raw                 jsonb NOT NULL,
    received_at         timestamptz NOT NULL DEFAULT now(),
    message_id          uuid REFERENCES messages(id) ON DELETE CASCADE,
    -- applied, ignored, duplicate, note, unmatched
    outcome             text,
    processed_at        timestamptz
);
CREATE INDEX receipts_message_idx ON receipts (message_id, status);

-- Every call the sandbox providers received, so tests and operators can see what "went out".
CREATE TABLE sandbox_calls (
    id                  uuid PRIMARY KEY,
    channel             text NOT NULL,
    message_id          uuid NOT NULL,
    recipient           text NOT NULL,
    sender              text,
    body                text,
    outcome             text NOT NULL,
    provider_message_id text,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sandbox_calls_message_idx ON sandbox_calls (message_id);

CREATE TABLE sender_id_requests (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    sender_id       text NOT NULL,
    use_case        text NOT NULL,
    sample_message  text,
    status          text NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED')),
    review_note     text,
    reviewed_at     timestamptz,
    reviewed_by     uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX sender_id_requests_one_pending ON sender_id_requests (organization_id, lower(sender_id)) WHERE status = 'PENDING';
CREATE INDEX sender_id_requests_org_idx ON sender_id_requests (organization_id, status, lower(sender_id));
CREATE INDEX sender_id_requests_created_idx ON sender_id_requests (created_at DESC);

CREATE TABLE idempotency_keys (
    organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    key             text NOT NULL,
    request_hash    bytea NOT NULL,
    response_status smallint,
    response_body   jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

CREATE TABLE sms_opt_outs (
    organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    phone_number    text NOT NULL,
    source          text NOT NULL CHECK (source IN ('inbound', 'api')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, phone_number)
);
