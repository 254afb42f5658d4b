-- changedesk change control, version 26: tickets are followed on the other
-- side. `checked_at` is when a ticket was last read back ('' : never; the
-- least recently read are read first), `read_error` why the last read
-- failed (refused credentials, a ticket gone), shown with the ticket.
-- `noted_revision` is the post's revision the ticket last heard of: a later
-- revision is told to the ticket (a work note, a comment, a follow-up).
-- `kind` is `change` (a post's change request) or `incident` (a Service
-- Health incident opened in the service desk: `post_id` is the incident's
-- id, and it is neither followed back nor told of revisions).
-- `close_asked`: the item closed here and its connector was asked to close
-- the ticket there (once).
ALTER TABLE tickets ADD COLUMN checked_at TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN read_error TEXT;
ALTER TABLE tickets ADD COLUMN noted_revision BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN kind TEXT NOT NULL DEFAULT 'change';
ALTER TABLE tickets ADD COLUMN close_asked BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE tickets SET noted_revision = COALESCE((SELECT revision FROM posts WHERE posts.id = tickets.post_id), 0);
CREATE INDEX tickets_to_follow ON tickets (checked_at, id) WHERE progress IN ('open', 'in_progress') AND kind = 'change';
