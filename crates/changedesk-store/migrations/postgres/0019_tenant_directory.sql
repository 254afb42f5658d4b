-- changedesk, version 19: tenants kept in the database (issue 18, onboarding).
-- A tenant added with `changedesk tenants add` / `tenants import` or the API
-- has its directory (a GUID, or a verified domain until consent names the
-- GUID) and a display name here, and is reached through the configuration's
-- one multi-tenant app registration ([app]); its secrets stay there. Consent:
-- the state of the newest admin-consent link (its SHA-256, used once), and the
-- answer. The last access check: which application permissions it lacked.
ALTER TABLE tenants ADD COLUMN directory_id TEXT;
ALTER TABLE tenants ADD COLUMN display_name TEXT;
ALTER TABLE tenants ADD COLUMN added_at TEXT;
ALTER TABLE tenants ADD COLUMN consent TEXT;
ALTER TABLE tenants ADD COLUMN consent_at TEXT;
ALTER TABLE tenants ADD COLUMN consent_error TEXT;
ALTER TABLE tenants ADD COLUMN consent_state TEXT;
ALTER TABLE tenants ADD COLUMN consent_asked_at TEXT;
ALTER TABLE tenants ADD COLUMN checked_at TEXT;
ALTER TABLE tenants ADD COLUMN check_missing TEXT;
ALTER TABLE tenants ADD COLUMN check_error TEXT;
CREATE UNIQUE INDEX tenants_directory ON tenants (directory_id) WHERE directory_id IS NOT NULL;
CREATE UNIQUE INDEX tenants_consent_state ON tenants (consent_state) WHERE consent_state IS NOT NULL;
