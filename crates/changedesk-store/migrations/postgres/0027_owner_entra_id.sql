-- changedesk, version 27: an owner's Entra ID object id (a GUID, optional),
-- which Planner assignments name people by (issue 19).
ALTER TABLE owners ADD COLUMN entra_id TEXT;
