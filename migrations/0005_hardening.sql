-- Hardening: lease rescues are counted and capped, polling gives up from the send, the provider's
-- whole answer is kept for operators only, and statuses and channels are checked by the database.

ALTER TABLE messages
    ADD COLUMN lease_rescues integer NOT NULL DEFAULT 0,
    ADD COLUMN sent_at timestamptz,
    ADD CONSTRAINT messages_status_check CHECK (status IN
        ('QUEUED', 'PROCESSING', 'SENT', 'DELIVERED', 'READ', 'BOUNCED', 'COMPLAINED', 'FAILED', 'CANCELED'));

UPDATE messages m SET sent_at = e.occurred_at
FROM (SELECT message_id, min(occurred_at) AS occurred_at FROM events WHERE status = 'SENT' GROUP BY message_id) e
WHERE m.id = e.message_id AND m.sent_at IS NULL;

-- The provider's whole answer (platform account fields included): operators only, never served.
ALTER TABLE events ADD COLUMN provider_answer jsonb;

ALTER TABLE events ADD CONSTRAINT events_status_check CHECK (status IS NULL OR status IN
    ('QUEUED', 'PROCESSING', 'SENT', 'DELIVERED', 'READ', 'BOUNCED', 'COMPLAINED', 'FAILED', 'CANCELED'));

ALTER TABLE receipts
    ADD CONSTRAINT receipts_channel_check CHECK (channel IN ('email', 'sms', 'whatsapp')),
    ADD CONSTRAINT receipts_status_check CHECK (status IS NULL OR status IN
        ('QUEUED', 'PROCESSING', 'SENT', 'DELIVERED', 'READ', 'BOUNCED', 'COMPLAINED', 'FAILED', 'CANCELED'));


-- Signups counted per client address.
CREATE TABLE signup_attempts (
    subject     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX signup_attempts_subject_idx ON signup_attempts (subject, created_at);

-- Each login attempt is counted before its password is checked, and taken back when it verifies.
ALTER TABLE login_failures ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
