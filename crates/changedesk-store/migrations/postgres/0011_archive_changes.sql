-- changedesk server, version 11: a count of the archive's write
-- transactions. Every write transaction adds one as it starts (after taking
-- the write lock), so a process that keeps answers (the server's answer
-- cache) learns from one cheap read whether any process wrote since; a
-- transaction that rolls back takes its count back with it.
CREATE TABLE archive_changes (
    id INTEGER PRIMARY KEY,
    n BIGINT NOT NULL
);
INSERT INTO archive_changes (id, n) VALUES (1, 0);
