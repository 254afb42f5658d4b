-- changedesk, version 36: a pilot group is told when a pilot task opens
-- for it (issue 21, item 5). `channel` names the e-mail, Teams, Slack or
-- webhook channel a `pilot.opened` event goes to ('' : none); the event is
-- recorded with the task, in one transaction, so each task is told once.
ALTER TABLE pilot_groups ADD COLUMN channel TEXT NOT NULL DEFAULT '';
