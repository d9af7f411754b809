-- Inbound SMS (opt-out keywords) kept raw until a job routes them, and jobs that ran out of attempts.

CREATE TABLE inbound_messages (
    id              uuid PRIMARY KEY,
    channel         text NOT NULL,
    sender          text NOT NULL,
    recipient       text NOT NULL,
    text            text NOT NULL,
    raw             jsonb NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    organization_id uuid REFERENCES organizations(id) ON DELETE SET NULL,
    -- opted_out, opted_in, ignored, unrouted
    outcome         text,
    processed_at    timestamptz
);

-- The organization that most recently texted a handset from a given sender ID.
CREATE INDEX messages_recipient_sender_idx ON messages (channel, recipient, lower(sender), created_at DESC);

-- Jobs that exhausted their attempts, moved out of the queue by the scheduler; operators list them
-- and put them back with `herald admin dead-jobs`.
CREATE TABLE dead_jobs (
    id          text PRIMARY KEY,
    queue       text NOT NULL,
    payload     bytea NOT NULL,
    attempts    integer NOT NULL,
    last_error  jsonb,
    failed_at   timestamptz NOT NULL DEFAULT now()
);
