-- changedesk, version 35: the preview and pilot programme (issue 21, item
-- 5). A pilot group tries the changes of its workloads in their public
-- preview or targeted release (its members: e-mail addresses); saving and
-- removing one is audited (`pilot_group.*`). A pilot task is opened once per
-- post and group when the post's preview or targeted release starts (its
-- first day, `pilot_start`, YYYY-MM-DD); the group's finding is an entry of
-- the item's decision log (`pilot_finding`: `field` the group, `new_value`
-- its recommendation, `reason` what it found).
CREATE TABLE pilot_groups (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    workloads TEXT NOT NULL,
    members TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE pilot_tasks (
    post_id TEXT NOT NULL,
    pilot_group TEXT NOT NULL,
    pilot_start TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    PRIMARY KEY (post_id, pilot_group)
);
CREATE INDEX pilot_tasks_opened ON pilot_tasks (opened_at);
