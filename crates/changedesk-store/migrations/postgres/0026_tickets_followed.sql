-- changedesk change control, version 26: tickets are followed on the other
-- side. `checked_at` is when a ticket was last read back ('' : never; the
-- least recently read are read first), `read_error` why the last read
-- failed (refused credentials, a ticket gone), shown with the ticket.
ALTER TABLE tickets ADD COLUMN checked_at TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN read_error TEXT;
CREATE INDEX tickets_to_follow ON tickets (checked_at, id) WHERE progress IN ('open', 'in_progress');
