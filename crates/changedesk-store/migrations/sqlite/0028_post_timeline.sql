-- changedesk, version 28: the rollout timeline read from each revision's
-- body (issue 20; changedesk-core's `timeline`): its phases as JSON, which
-- version of the reading made them (rows of an older version, and those
-- stored before this version, are read again when the archive is opened for
-- writing), and on the post its rollout start (the earliest start of a
-- phase, midnight UTC, canonical text like `start_at`), which the deadlines
-- use in place of Graph's start.
ALTER TABLE posts ADD COLUMN timeline TEXT;
ALTER TABLE posts ADD COLUMN timeline_version BIGINT;
ALTER TABLE posts ADD COLUMN rollout_start TEXT;
ALTER TABLE post_revisions ADD COLUMN timeline TEXT;
ALTER TABLE post_revisions ADD COLUMN timeline_version BIGINT;
CREATE INDEX posts_rollout_start ON posts (rollout_start);
