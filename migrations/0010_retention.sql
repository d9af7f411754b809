-- Retention (the scheduler's duties): when a one-time code's text was redacted, and the indexes by
-- which each duty finds what it may delete without reading the whole table.
ALTER TABLE messages ADD COLUMN redacted_at timestamptz;
CREATE INDEX messages_otp_unredacted_idx ON messages (updated_at) WHERE category = 'OTP' AND redacted_at IS NULL;
CREATE INDEX receipts_processed_idx ON receipts (processed_at) WHERE processed_at IS NOT NULL;
CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries (last_attempt_at) WHERE status <> 'PENDING';
CREATE INDEX sandbox_calls_created_idx ON sandbox_calls (created_at);
CREATE INDEX events_occurred_idx ON events (occurred_at);
