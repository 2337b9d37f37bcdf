-- Members are kept in the order groups are written, not by random group uuid: a group gets a
-- sequential `id` (a rowid alias, stable across VACUUM), and members are keyed by it in a
-- table without rowid. Writing a batch of groups then appends member rows instead of
-- touching one random index page per group (a third of the pages a group commit wrote).
CREATE TABLE groups_new (
    id            INTEGER PRIMARY KEY,
    uuid          TEXT NOT NULL UNIQUE,
    project       TEXT NOT NULL,
    files_count   BIGINT NOT NULL,
    created_us    BIGINT NOT NULL
);
INSERT INTO groups_new (uuid, project, files_count, created_us)
    SELECT uuid, project, files_count, created_us FROM groups ORDER BY created_us;

CREATE TABLE group_members_new (
    group_id        INTEGER NOT NULL REFERENCES groups_new (id) ON DELETE CASCADE,
    position        BIGINT NOT NULL,
    file_uuid       TEXT NOT NULL,
    default_effects TEXT NOT NULL,
    PRIMARY KEY (group_id, position)
) WITHOUT ROWID;
INSERT INTO group_members_new (group_id, position, file_uuid, default_effects)
    SELECT g.id, m.position, m.file_uuid, m.default_effects
    FROM group_members m JOIN groups_new g ON g.uuid = m.group_uuid;

DROP TABLE group_members;
DROP TABLE groups;
ALTER TABLE groups_new RENAME TO groups;
ALTER TABLE group_members_new RENAME TO group_members;
-- Keyset pagination in both orders, and the uniqueness the `from` cursor relies on.
CREATE UNIQUE INDEX groups_project_created ON groups (project, created_us);
