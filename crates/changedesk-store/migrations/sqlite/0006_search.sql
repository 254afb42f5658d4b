-- Full-text search over posts, and the indexes of the sorted, paged post
-- queries (`Store::query_posts`).
--
-- An external-content FTS5 index of each post's title and body text: the
-- text stays in `posts`, keyed by its implicit rowid (`posts` has a TEXT
-- primary key), and triggers keep the index in step with every insert,
-- update and delete. (A VACUUM may renumber implicit rowids; after one,
-- `INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')` makes the index
-- whole again.)
CREATE VIRTUAL TABLE posts_fts USING fts5(
    title,
    body_text,
    content = 'posts',
    content_rowid = 'rowid',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

INSERT INTO posts_fts (posts_fts) VALUES ('rebuild');

CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts (rowid, title, body_text) VALUES (new.rowid, new.title, new.body_text);
END;

CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, title, body_text)
        VALUES ('delete', old.rowid, old.title, old.body_text);
END;

CREATE TRIGGER posts_fts_update AFTER UPDATE OF title, body_text ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, title, body_text)
        VALUES ('delete', old.rowid, old.title, old.body_text);
    INSERT INTO posts_fts (rowid, title, body_text) VALUES (new.rowid, new.title, new.body_text);
END;

-- The sort keys of the post queries, each ending in the id, so a page is
-- read in index order and the next one starts where it stopped. The
-- expressions are exactly those the queries sort by ('~' sorts after every
-- date, so posts without an act-by date come last).
CREATE INDEX posts_sort_modified ON posts (COALESCE(last_modified, ''), id);
CREATE INDEX posts_sort_act_by ON posts (COALESCE(act_by, '~'), id);
CREATE INDEX posts_sort_title ON posts (title, id);
