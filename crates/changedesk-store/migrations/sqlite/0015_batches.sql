-- changedesk notifications, version 15: channel kinds beyond webhooks
-- (e-mail, Teams, Slack) and batching. A channel's `settings` hold how it
-- delivers (recipients, batching window, quiet hours, owner): JSON, no
-- secret. A delivery to a batching channel waits in state `batched` until
-- its window closes (`next_attempt_at`); then one message is composed from
-- every delivery of the channel that is due: the earliest (the leader)
-- carries the rendered message and goes `pending`, the others become
-- `merged` with `batch_of` naming the leader, whose outcome is theirs.
ALTER TABLE channels ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE deliveries ADD COLUMN batch_of BIGINT;
CREATE INDEX deliveries_batch_of ON deliveries (batch_of);
