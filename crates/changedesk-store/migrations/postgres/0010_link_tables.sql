-- The tenant-link tables' primary keys with the tenant first (see the SQLite
-- twin of this migration): a sync inserts one tenant's links at a time, and
-- keyed (post, tenant) each link went to a random place of the key's index
-- as well as of the (post, visible, tenant) index; keyed (tenant, post), a
-- tenant's links are appended together.

ALTER TABLE post_tenants DROP CONSTRAINT post_tenants_pkey;
ALTER TABLE post_tenants ADD PRIMARY KEY (tenant_id, post_id);

ALTER TABLE incident_tenants DROP CONSTRAINT incident_tenants_pkey;
ALTER TABLE incident_tenants ADD PRIMARY KEY (tenant_id, incident_id);
DROP INDEX incident_tenants_tenant;
CREATE INDEX incident_tenants_incident ON incident_tenants (incident_id, visible, tenant_id);
