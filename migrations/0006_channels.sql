-- Provider identity is namespaced by channel: two channels' providers may use the same ids.
DROP INDEX messages_provider_id_idx;
CREATE UNIQUE INDEX messages_provider_id_idx ON messages (channel, provider, provider_message_id)
    WHERE provider_message_id IS NOT NULL;

-- What a message needs for its delivery but the API never shows (an email's attachments).
ALTER TABLE messages ADD COLUMN private_content jsonb;

-- Email: addresses an organization no longer sends to (a hard bounce or a complaint).
CREATE TABLE email_suppressions (
    organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    -- lower-cased
    address         text NOT NULL,
    reason          text NOT NULL CHECK (reason IN ('BOUNCED', 'COMPLAINED')),
    message_id      uuid REFERENCES messages(id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, address)
);
CREATE INDEX email_suppressions_org_created_idx ON email_suppressions (organization_id, created_at DESC);
