-- Projects, files, groups and their ordered members. Times are microseconds since the Unix epoch.
CREATE TABLE projects (
    pub_key         TEXT PRIMARY KEY NOT NULL,
    secret_key      TEXT NOT NULL,
    name            TEXT NOT NULL,
    autostore       BOOLEAN NOT NULL,
    signed_uploads  BOOLEAN NOT NULL
);

CREATE TABLE files (
    uuid              TEXT PRIMARY KEY NOT NULL,
    project           TEXT NOT NULL,
    size              BIGINT NOT NULL,
    blob              TEXT NOT NULL,
    original_filename TEXT NOT NULL,
    mime_type         TEXT NOT NULL,
    image_format      TEXT,
    image_width       BIGINT,
    image_height      BIGINT,
    color_mode        TEXT,
    metadata          TEXT NOT NULL,
    uploaded_us       BIGINT NOT NULL,
    stored_us         BIGINT,
    removed_us        BIGINT
);
CREATE INDEX files_project_uploaded ON files (project, uploaded_us);

CREATE TABLE groups (
    uuid          TEXT PRIMARY KEY NOT NULL,
    project       TEXT NOT NULL,
    files_count   BIGINT NOT NULL,
    created_us    BIGINT NOT NULL
);
-- Keyset pagination in both orders, and the uniqueness the `from` cursor relies on.
CREATE UNIQUE INDEX groups_project_created ON groups (project, created_us);

CREATE TABLE group_members (
    group_uuid      TEXT NOT NULL REFERENCES groups (uuid) ON DELETE CASCADE,
    position        BIGINT NOT NULL,
    file_uuid       TEXT NOT NULL,
    default_effects TEXT NOT NULL,
    PRIMARY KEY (group_uuid, position)
);
