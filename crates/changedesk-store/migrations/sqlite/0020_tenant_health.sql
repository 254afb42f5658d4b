-- changedesk, version 20: a tenant's health. When its last sync that
-- succeeded ended (the last sync may have failed since; sync_failures counts
-- the failures in a row).
ALTER TABLE tenants ADD COLUMN last_ok_sync_at TEXT;
UPDATE tenants SET last_ok_sync_at = last_sync_at WHERE last_sync_at IS NOT NULL AND last_sync_error IS NULL;
