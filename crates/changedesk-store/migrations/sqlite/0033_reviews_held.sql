-- changedesk, version 33: the change reviews recorded as held (issue 21, the
-- maturity level's "a weekly review happens"): one row per week (its Monday,
-- YYYY-MM-DD) and tenant group ('' for the whole organisation), who recorded
-- it, when, and a note. Recording is audited (`review.held`).
CREATE TABLE reviews_held (
    week TEXT NOT NULL,
    tenant_group TEXT NOT NULL DEFAULT '',
    held_at TEXT NOT NULL,
    held_by TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (week, tenant_group)
);
