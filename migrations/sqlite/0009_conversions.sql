-- Conversion jobs (REST /convert/document/ and /convert/video/). The result file exists from
-- submission on, with an empty `blob` (not ready) until the job finishes. `token` is the
-- number clients poll with; times are microseconds since the Unix epoch.
CREATE TABLE conversion_jobs (
    token             INTEGER PRIMARY KEY AUTOINCREMENT,
    project           TEXT NOT NULL,
    kind              TEXT NOT NULL,
    source            TEXT NOT NULL,
    source_uuid       TEXT NOT NULL,
    target            TEXT NOT NULL,
    status            TEXT NOT NULL,
    error             TEXT,
    result_uuid       TEXT NOT NULL,
    group_id          TEXT,
    created_us        BIGINT NOT NULL
);
CREATE INDEX conversion_jobs_source ON conversion_jobs (source_uuid);
