-- Add-ons (REST /addons/<name>/execute/): every run with its status, the results runs leave in
-- a file's `appdata`, and the results tests declare for the add-ons no model runs for here
-- (admin API). Times are microseconds since the Unix epoch (on the emulator's clock).
CREATE TABLE addon_runs (
    request_id  TEXT PRIMARY KEY NOT NULL,
    project     TEXT NOT NULL,
    addon       TEXT NOT NULL,
    target      TEXT NOT NULL,
    status      TEXT NOT NULL,
    result      TEXT,
    created_us  BIGINT NOT NULL,
    updated_us  BIGINT NOT NULL
);
-- "A second call for the same file while one runs" is refused: one run in progress per
-- file and add-on.
CREATE UNIQUE INDEX addon_runs_running ON addon_runs (target, addon) WHERE status = 'in_progress';
CREATE INDEX addon_runs_project ON addon_runs (project);

CREATE TABLE file_appdata (
    file_uuid   TEXT NOT NULL,
    addon       TEXT NOT NULL,
    project     TEXT NOT NULL,
    data        TEXT NOT NULL,
    version     TEXT NOT NULL,
    created_us  BIGINT NOT NULL,
    updated_us  BIGINT NOT NULL,
    PRIMARY KEY (file_uuid, addon)
);
CREATE INDEX file_appdata_project ON file_appdata (project);

CREATE TABLE addon_fixtures (
    file_uuid   TEXT NOT NULL,
    addon       TEXT NOT NULL,
    project     TEXT NOT NULL,
    data        TEXT NOT NULL,
    PRIMARY KEY (file_uuid, addon)
);
CREATE INDEX addon_fixtures_project ON addon_fixtures (project);
