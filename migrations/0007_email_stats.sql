-- Email stats: a rollup per organization and UTC day, kept incrementally by the scheduler.
--
-- Each event carries the id of the transaction that wrote it. A rollup run counts the events of
-- every transaction that has ended since the last run (ids from the last run's snapshot xmin up to
-- this run's): a transaction below a snapshot's xmin has committed or rolled back, so every
-- committed event is counted exactly once, however late its transaction commits.
ALTER TABLE events ADD COLUMN txid bigint NOT NULL DEFAULT txid_current();
CREATE INDEX events_txid_brin ON events USING brin (txid);

CREATE TABLE email_stats_daily (
    organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    day             date NOT NULL,
    queued          bigint NOT NULL DEFAULT 0,
    sent            bigint NOT NULL DEFAULT 0,
    delivered       bigint NOT NULL DEFAULT 0,
    bounced         bigint NOT NULL DEFAULT 0,
    complained      bigint NOT NULL DEFAULT 0,
    failed          bigint NOT NULL DEFAULT 0,
    -- messages opened or clicked for the first time that day
    opened          bigint NOT NULL DEFAULT 0,
    clicked         bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (organization_id, day)
);

-- Where the rollup stopped: events of transactions below this id are counted.
CREATE TABLE email_stats_watermark (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    txid    bigint NOT NULL
);
INSERT INTO email_stats_watermark (txid) VALUES (0);

-- Sending domains: a DKIM key each (the private key sealed), the records to publish, and what the
-- last verification found.
CREATE TABLE email_domains (
    id                  uuid PRIMARY KEY,
    organization_id     uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name                text NOT NULL,
    dkim_selector       text NOT NULL,
    dkim_private_key    text NOT NULL,
    dkim_public_key     text NOT NULL,
    status              text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'VERIFIED', 'FAILED')),
    -- per record type: PENDING, VERIFIED or FAILED
    record_status       jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    verified_at         timestamptz,
    UNIQUE (organization_id, name)
);
