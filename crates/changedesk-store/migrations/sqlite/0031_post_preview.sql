-- changedesk, version 31: each post's preview for lists (issue 20, "an
-- expandable preview in each row"): its introduction and what to do, read
-- from the body with the timeline (JSON of changedesk-core's
-- `preview::Preview`; NULL until read). And which version of those
-- readings every row has, so opening the archive checks one row instead of
-- scanning every revision.
ALTER TABLE posts ADD COLUMN preview TEXT;
CREATE TABLE readings (
    name TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
