-- WhatsApp: an organization's own Cloud API line, opt-outs of every phone channel in one table,
-- and the organization a receipt was routed to (Meta's callbacks name the line they came in on).

-- The line an organization sends from instead of the platform's, with its own token (sealed with
-- the secrets key, bound to the row). One line belongs to one organization at most: the unique
-- index decides between two concurrent claims.
ALTER TABLE organizations ADD COLUMN whatsapp_phone_number_id text;
ALTER TABLE organizations ADD COLUMN whatsapp_access_token text;
CREATE UNIQUE INDEX organizations_whatsapp_line_idx ON organizations (whatsapp_phone_number_id)
    WHERE whatsapp_phone_number_id IS NOT NULL;

-- SMS and WhatsApp opt-outs share a table: a handset that said STOP on one channel is opted out of
-- that channel only.
ALTER TABLE sms_opt_outs RENAME TO opt_outs;
ALTER TABLE opt_outs ADD COLUMN channel text NOT NULL DEFAULT 'sms'
    CHECK (channel IN ('sms', 'whatsapp'));
ALTER TABLE opt_outs ALTER COLUMN channel DROP DEFAULT;
ALTER TABLE opt_outs DROP CONSTRAINT sms_opt_outs_pkey;
ALTER TABLE opt_outs ADD PRIMARY KEY (organization_id, channel, phone_number);
CREATE INDEX opt_outs_org_channel_created_idx ON opt_outs (organization_id, channel, created_at DESC);

-- When a receipt's line names an organization, it applies to that organization's messages only.
ALTER TABLE receipts ADD COLUMN organization_id uuid;
-- Receipts of one message are applied in the order they arrived (a sandbox's delivered and read, two
-- callbacks of Meta's): the receipt job looks for earlier ones still pending.
CREATE INDEX receipts_pending_idx ON receipts (provider_message_id, received_at, id)
    WHERE processed_at IS NULL;

ALTER TABLE inbound_messages ADD CONSTRAINT inbound_messages_channel_check
    CHECK (channel IN ('sms', 'whatsapp'));
-- Meta delivers a callback again when it is not answered in time: a user's message is kept once.
CREATE UNIQUE INDEX inbound_messages_whatsapp_id_idx ON inbound_messages ((raw ->> 'id'))
    WHERE channel = 'whatsapp';
