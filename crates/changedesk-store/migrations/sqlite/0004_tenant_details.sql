-- Each tenant's details of a post or incident (rollout status, summary...)
-- are stored once per distinct content, keyed by their digest: most tenants
-- see the same details, and storing them per tenant link wrote the same
-- text hundreds of times. `post_tenants.rollout` was never read (it is
-- derived from the details) and goes too.
CREATE TABLE tenant_details (
    digest TEXT PRIMARY KEY,
    details TEXT NOT NULL
);

INSERT INTO tenant_details (digest, details)
    SELECT details_digest, MIN(details) FROM post_tenants WHERE TRUE GROUP BY details_digest
    ON CONFLICT (digest) DO NOTHING;
INSERT INTO tenant_details (digest, details)
    SELECT details_digest, MIN(details) FROM incident_tenants WHERE TRUE GROUP BY details_digest
    ON CONFLICT (digest) DO NOTHING;

ALTER TABLE post_tenants DROP COLUMN details;
ALTER TABLE post_tenants DROP COLUMN rollout;
ALTER TABLE incident_tenants DROP COLUMN details;

-- Bumped by every transaction that loads posts: a writer that remembers the
-- versions of posts it last saw knows from it whether another process wrote
-- since (then it reads them again).
CREATE TABLE write_generation (
    id INTEGER PRIMARY KEY,
    n BIGINT NOT NULL
);
INSERT INTO write_generation (id, n) VALUES (1, 0);
