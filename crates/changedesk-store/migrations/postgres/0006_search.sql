-- Full-text search over posts, and the indexes of the sorted, paged post
-- queries (`Store::query_posts`).
--
-- Each post's title (weight A) and body text (weight B) as a tsvector the
-- database keeps up to date, with a GIN index for `@@`.
ALTER TABLE posts ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', coalesce(title, '')), 'A')
    || setweight(to_tsvector('english', coalesce(body_text, '')), 'B')
) STORED;

CREATE INDEX posts_search ON posts USING GIN (search);

-- The sort keys of the post queries, each ending in the id, so a page is
-- read in index order and the next one starts where it stopped. The
-- expressions (and their byte-order collation, so both databases sort
-- alike) are exactly those the queries sort by ('~' sorts after every
-- date, so posts without an act-by date come last).
CREATE INDEX posts_sort_modified ON posts ((COALESCE(last_modified, '') COLLATE "C"), (id COLLATE "C"));
CREATE INDEX posts_sort_act_by ON posts ((COALESCE(act_by, '~') COLLATE "C"), (id COLLATE "C"));
CREATE INDEX posts_sort_title ON posts ((title COLLATE "C"), (id COLLATE "C"));
