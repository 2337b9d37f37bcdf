-- Multipart upload sessions (`/multipart/start/` … `/multipart/complete/`) and the URL history
-- `/from_url/` keeps for `check_URL_duplicates` / `save_URL_duplicates`.
-- Times are microseconds since the Unix epoch.
CREATE TABLE multipart_uploads (
    uuid          TEXT PRIMARY KEY NOT NULL,
    project       TEXT NOT NULL,
    filename      TEXT NOT NULL,
    size          BIGINT NOT NULL,
    part_size     BIGINT NOT NULL,
    content_type  TEXT NOT NULL,
    store         BOOLEAN NOT NULL,
    metadata      TEXT NOT NULL,
    created_us    BIGINT NOT NULL,
    completed     BOOLEAN NOT NULL
);

CREATE TABLE url_duplicates (
    project     TEXT NOT NULL,
    source_url  TEXT NOT NULL,
    file_uuid   TEXT NOT NULL,
    created_us  BIGINT NOT NULL,
    PRIMARY KEY (project, source_url)
);
