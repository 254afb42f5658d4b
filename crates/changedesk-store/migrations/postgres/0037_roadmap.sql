-- changedesk, version 37: the Microsoft 365 roadmap (issue 22, item 1).
-- Each roadmap item as last read (`item`: core's RoadmapItem as JSON) with
-- its status, release month ('YYYY-MM' where it reads as one) and products
-- (a JSON list, lowercased) and its title and description (`search`) for
-- lists and filters; every change that matters (status,
-- months, text, tags; not the feed's `modified` alone) is a revision with
-- what changed, as posts keep theirs. `gone_since`: a read of the whole
-- feed no longer held the item (it is kept, never deleted).
CREATE TABLE roadmap_items (
    id BIGINT PRIMARY KEY,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    release_month TEXT,
    products TEXT NOT NULL,
    search TEXT NOT NULL,
    item TEXT NOT NULL,
    revision BIGINT NOT NULL,
    first_seen TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    gone_since TEXT
);
CREATE INDEX roadmap_items_release ON roadmap_items (release_month);

CREATE TABLE roadmap_revisions (
    roadmap_id BIGINT NOT NULL REFERENCES roadmap_items (id),
    revision BIGINT NOT NULL,
    seen_at TEXT NOT NULL,
    item TEXT NOT NULL,
    changes TEXT NOT NULL,
    PRIMARY KEY (roadmap_id, revision)
);
