-- Incremental sync: per tenant, the newest lastModifiedDateTime seen of each
-- kind (advanced in the same transaction as the data it describes), and the
-- outcome of the last sync.
ALTER TABLE tenants ADD COLUMN messages_watermark TEXT;
ALTER TABLE tenants ADD COLUMN issues_watermark TEXT;
ALTER TABLE tenants ADD COLUMN last_sync_at TEXT;
ALTER TABLE tenants ADD COLUMN last_sync_error TEXT;
