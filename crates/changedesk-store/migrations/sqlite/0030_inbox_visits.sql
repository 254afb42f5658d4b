-- changedesk, version 30: when each user last visited the inbox (issue 20,
-- "new since my last visit"): the visit under way (its last page view) and
-- the one before it, whose time marks what is new.
ALTER TABLE users ADD COLUMN inbox_visit_at TEXT;
ALTER TABLE users ADD COLUMN inbox_previous_visit_at TEXT;
