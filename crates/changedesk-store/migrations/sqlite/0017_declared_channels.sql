-- changedesk notifications, version 17: channels declared in the
-- configuration file ([[notify.channel]]). `declared_in` names the file
-- that declares the channel (NULL: added with the CLI, the API or the web
-- UI); such a channel changes only through that file. `declared_digest` is
-- a digest of what the file said of it (kind, filter, settings; never its
-- URL or secret) when it was last applied: applying the same file again
-- changes nothing, and what happened to the channel since (an unsubscribe,
-- a 410 that disabled it) stands until its declaration changes. A channel
-- no longer declared is disabled and both columns cleared.
ALTER TABLE channels ADD COLUMN declared_in TEXT;
ALTER TABLE channels ADD COLUMN declared_digest TEXT;
