-- changedesk notifications, version 16: Service Health incidents tell
-- people too. The outbox's incident sweep compares each incident's
-- revision and resolution with what it last told (`notified_revision`,
-- `notified_resolved`), records the events and moves the marks in one
-- transaction, so each change is told once and none is lost. Incidents
-- already in the archive count as told (an upgrade tells nobody of the
-- past).
ALTER TABLE incidents ADD COLUMN notified_revision BIGINT;
ALTER TABLE incidents ADD COLUMN notified_resolved BOOLEAN;
UPDATE incidents SET notified_revision = revision, notified_resolved = is_resolved;
CREATE INDEX incidents_notified ON incidents (notified_revision, revision);

-- A tenant's syncs that failed in a row: at the third, `tenant.sync_failing`
-- is told (consent revoked, secret expired), and `tenant.sync_recovered`
-- when one succeeds again; both in the transaction that records the sync.
ALTER TABLE tenants ADD COLUMN sync_failures BIGINT NOT NULL DEFAULT 0;
