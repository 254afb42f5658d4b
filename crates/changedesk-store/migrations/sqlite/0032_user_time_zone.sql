-- changedesk, version 32: the time zone a person reads dates and times in on
-- the web UI (issue 20): an IANA name such as Europe/Paris, checked against
-- the time zone database before it is stored; NULL shows them in UTC.
ALTER TABLE users ADD COLUMN time_zone TEXT;
