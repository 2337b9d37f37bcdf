-- SQLite keys group members by a sequential group id from this version on (see its file of
-- this name). Postgres keeps them by group uuid: its writes do not wait on one writer, and
-- its group commit is not bound by page writes. Nothing changes here.
SELECT 1;
