-- 023_calendar_admin.sql - the business calendar people manage (issue 12, docs/CALENDAR.md).
--
-- From 1 December the daemon checks that next year has national days off (its calendar
-- check, server/calendar/calendar_check.c). When it has none, every daemon logs a warning,
-- and one `calendar` notice goes out per day: the daemon that first inserts the day's row
-- here sends it (INSERT ... ON CONFLICT DO NOTHING), so two daemons never both send it.
CREATE TABLE calendar_warnings (
    day        date PRIMARY KEY,          -- the (China Standard Time) day it was sent
    year       integer NOT NULL,          -- the year that had no national days off
    notice_id  bigint REFERENCES notices (id),
    at         timestamptz NOT NULL DEFAULT now()
);
